"""`python -m identcheck ...` runs the command line (identcheck.cli.main)."""

from .cli import main

raise SystemExit(main())
