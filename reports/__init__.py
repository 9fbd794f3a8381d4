"""Reports from benchmark JSON (see README)."""
