"""Entry point: ``python -m components._serving serve|log-sink ...``."""

import sys

from components._serving.serve import main

if __name__ == "__main__":
    sys.exit(main())
