"""The presenting half: reads suite JSON files and builds the Pareto report."""
