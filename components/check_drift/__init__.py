from components.check_drift.component import check_drift

__all__ = ["check_drift"]
