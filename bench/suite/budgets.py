"""How much each timed scenario samples: warm-up calls, round bounds, budgets, calls per round.

The numbers live here, apart from `bench.suite.scenarios` (which applies them and imports
TensorFlow), so that the up-front time estimate (`bench.suite.estimate`) sizes a run by the same
rules without loading TensorFlow. `tests/test_estimate.py` checks the estimate's sizing against
`bench.measure.interleave`'s own functions.
"""

from __future__ import annotations

LATENCY_WARM_UP_CALLS = 10  # >= 5-10 calls: cuDNN autotuning runs on first calls (GPU)
LATENCY_ROUNDS = (30, 2000)  # min, max
# Batch-1 calls shorter than this are repeated within a round (primed, up to
# MOST_CALLS_PER_ROUND samples), so small models get as many samples as their noise needs.
LATENCY_FILL_S = 2e-3
MOST_CALLS_PER_ROUND = 8
THROUGHPUT_ROUNDS = (3, 50)
TRAIN_STEP_ROUNDS = (3, 50)
# Seconds of samples per model for throughput and the training step. Calls shorter than
# STEP_FILL_S are repeated within a round (up to MOST_CALLS_PER_ROUND), so small models, whose
# calls are fast, still get dozens of samples when the rounds are few.
STEP_BUDGET_S = 5.0
STEP_FILL_S = 0.5
# Warm-up calls of the throughput and training-step scenarios: the first call (timed apart) and
# one more, timed to size the rounds.
STEP_WARM_UP_CALLS = 2
