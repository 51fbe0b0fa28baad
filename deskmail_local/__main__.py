"""`python -m deskmail_local` (what `make run` runs)."""

import sys

from deskmail_local.stack import main

sys.exit(main())
