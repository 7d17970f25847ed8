"""`python -m bot ...`: the management commands in bot/manage.py."""

import sys

from bot.manage import main

sys.exit(main())
