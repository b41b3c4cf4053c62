"""`python -m bot.cli`: the terminal front end."""

import sys

from bot.cli import main

sys.exit(main())
