"""The measuring half of the project: harness, metrics and the pytest-benchmark suite."""
