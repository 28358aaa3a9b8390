"""`mta-sts-wizard [DOMAIN]`: open the Textual wizard.

This is the one module of wizard/ allowed to reach into screens/, and only inside
`run()`: importing it must not import Textual (tests/test_import_hygiene.py), so that
`check`, `generate` and friends start fast and work without a terminal.
"""

from __future__ import annotations

import argparse
import sys

from wizard.commands.common import EXIT_OK, PROG, UsageError, network_settings, state_dir


def has_terminal() -> bool:
    """True when both standard input and output are terminals: the wizard reads keys and paints
    a screen, so without one it would wait forever for keys that never come."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))


def run(args: argparse.Namespace) -> int:
    """Validate the arguments, then run the App until the user quits."""
    from wizard.domain import DomainError, normalise_domain

    settings = network_settings(args)
    domain = None
    if args.domain:
        try:
            domain = normalise_domain(args.domain)
        except DomainError as exc:
            raise UsageError(str(exc)) from None
    if not has_terminal():
        raise UsageError(
            f"the wizard needs a terminal (standard input and output); in scripts use '{PROG} check', "
            f"'{PROG} generate' or '{PROG} status'"
        )
    from screens.app import WizardApp
    from wizard.state import StateStore

    app = WizardApp(StateStore(state_dir(args.state_dir)), settings, domain)
    result = app.run()
    return EXIT_OK if result is None else int(result)
