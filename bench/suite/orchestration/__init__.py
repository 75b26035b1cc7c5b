"""The run itself: the main command, the session's state, the timed stages, the JSON."""
