"""mta-sts-wizard core: MTA-STS (RFC 8461) and TLSRPT (RFC 8460) models, probes and commands.

Nothing in this package imports Textual; the UI lives in `screens/` and depends on it.
"""

__version__ = "0.1.0"
