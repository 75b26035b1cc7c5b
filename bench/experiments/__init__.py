"""Experiments whose printed figures back the project's choices (run by hand, never in CI)."""
