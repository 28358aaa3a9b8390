"""`mta-sts-wizard [DOMAIN]`: open the Textual wizard.

This is the one module of wizard/ allowed to reach into screens/, and only inside
`run()`: importing it must not import Textual (tests/test_import_hygiene.py), so that
`check`, `generate` and friends start fast and work without a terminal.
"""

from __future__ import annotations

import argparse

from wizard.commands.common import EXIT_OK, UsageError, network_settings, state_dir


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
    from screens.app import WizardApp
    from wizard.state import StateStore

    app = WizardApp(StateStore(state_dir(args.state_dir)), settings, domain)
    result = app.run()
    return EXIT_OK if result is None else int(result)
