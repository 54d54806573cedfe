"""Entry point of ``python -m churn_data``."""

from churn_data.cli import main

raise SystemExit(main())
