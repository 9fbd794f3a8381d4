"""The textbook chapter, reproduced (see README)."""
