"""Reports from benchmark JSON (see docs/reading-the-report.md)."""
