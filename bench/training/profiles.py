"""Training profiles (placeholder until the training room is reshaped)."""

PROFILE_NAMES = ("paper", "quick", "smoke")
