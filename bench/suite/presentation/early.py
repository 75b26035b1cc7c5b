"""A pytest plugin loaded before pytest captures output (`-p bench.suite.presentation.early`, as
`python -m bench run` does): it puts `bench.measure.native_logs`' pipe on stderr at import,
forwarding everything until the suite decides (`bench/conftest.py`) whether TensorFlow's native log
lines are dropped."""

from bench.measure import native_logs

native_logs.install()
