"""The textbook chapter, reproduced (see docs/chapter.md)."""
