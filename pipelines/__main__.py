"""Entry point: `python -m pipelines ...` (see `pipelines.cli`)."""

import sys

from pipelines.cli import main

sys.exit(main())
