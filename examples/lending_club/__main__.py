"""`python -m examples.lending_club` = `python -m examples.lending_club.prepare`."""

import sys

from examples.lending_club.prepare import main

sys.exit(main())
