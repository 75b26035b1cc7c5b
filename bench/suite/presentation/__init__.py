"""What the terminal shows: facts, the time estimate, progress lines, pytest's output."""
