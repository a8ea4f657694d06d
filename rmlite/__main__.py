"""`python -m rmlite …` runs the command line (see `rmlite.cli`)."""

import sys

from rmlite.cli import main

sys.exit(main())
