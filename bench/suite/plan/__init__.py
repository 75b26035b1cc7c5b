"""The plan of a run: its options, the plan every worker reads, model plugins and seeds."""
