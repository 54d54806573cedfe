"""Test-only helpers shared by several test packages (never imported by production code)."""
