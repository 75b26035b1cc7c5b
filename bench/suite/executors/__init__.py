"""Where records are made: worker jobs, their executors (local, Ray), the records cache."""
