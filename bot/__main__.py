"""`python -m bot` runs the same command line as `commsbot`."""

from bot.cli import main

raise SystemExit(main())
