"""`python -m wizard` is the same as the `mta-sts-wizard` console script."""

from wizard.cli import main

raise SystemExit(main())
