"""The paired gate: the decision rule on hand-made ABBA samples, and the command on tiny models."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from bench.gates import paired


def abba(seed: int, cost_s: float, *, slowdown: float = 1.0, rounds: int = 60):
    """ABBA samples sharing a per-round machine load that only adds time, as a neighbour would."""
    rng = np.random.default_rng(seed)
    load = 1.0 + rng.exponential(0.3, (rounds, 1))  # the same for all four calls of a round
    base = cost_s * load * (1.0 + rng.exponential(0.02, (rounds, 2)))
    cur = cost_s * slowdown * load * (1.0 + rng.exponential(0.02, (rounds, 2)))
    return base, cur


def test_round_ratio_is_the_sum_of_each_side_of_the_round():
    base = np.array([[1.0, 3.0], [2.0, 2.0]])
    cur = np.array([[2.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(paired.round_ratios(base, cur), [1.0, 2.0])  # 4/4, 8/4


def test_unchanged_model_on_a_busy_machine_passes():
    base, cur = abba(1, 1e-3)
    row = paired.decide("v01", base, cur)
    assert row.verdict == "ok"
    assert 0.97 < row.ratio < 1.03


def test_twenty_five_percent_slowdown_is_a_regression():
    base, cur = abba(2, 1e-3, slowdown=1.25)
    row = paired.decide("v05", base, cur)
    assert row.verdict == "REGRESSION"
    assert row.ci_low > 1.2 and row.ratio == pytest.approx(1.25, abs=0.02)


def test_speed_up_is_reported_as_faster():
    base, cur = abba(3, 1e-3, slowdown=0.7)
    assert paired.decide("v10", base, cur).verdict == "faster"


def test_slowdown_under_the_floor_passes():
    base, cur = abba(4, 20e-6, slowdown=1.5)  # 10 µs slower: below the 50 µs floor
    assert paired.decide("v01", base, cur).verdict == "ok"


def test_abba_alternates_which_side_goes_first():
    # Even rounds ABBA, odd rounds BAAB: the candidate goes first in every other round. (Reversing
    # ABBA gives ABBA again, so "bccb" + "bccb"[::-1] checked nothing.)
    order: list[str] = []
    paired.time_abba(lambda: order.append("b"), lambda: order.append("c"), rounds=4)
    assert "".join(order) == "bccb" + "cbbc" + "bccb" + "cbbc"


def test_abba_stores_each_call_in_its_own_slot():
    # A fake clock that each call advances by its own duration: the calls take 1, 2, 3, ... ms in
    # the order they run, so each (round, slot) must hold the duration of the call made for it.
    now = [0.0]
    durations = iter(range(1, 100))

    def call() -> None:
        now[0] += next(durations) * 1e-3

    base, cur = paired.time_abba(call, call, rounds=2, clock=lambda: now[0])
    # Round 0 runs b c c b (1 2 3 4 ms), round 1 runs c b b c (5 6 7 8 ms).
    np.testing.assert_allclose(base * 1e3, [[1, 4], [6, 7]])
    np.testing.assert_allclose(cur * 1e3, [[2, 3], [5, 8]])


def _tiny(width: int) -> keras.Model:
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Conv2D(width, 3, padding="same")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))


@pytest.fixture
def tf_already_configured(monkeypatch):
    """The command configures TensorFlow first; in this test process TF is already running."""
    from bench.measure import environment

    monkeypatch.setattr(environment, "configure", lambda settings: settings)


@pytest.mark.usefixtures("tf_already_configured")
def test_command_saves_then_compares_and_reports_a_missing_baseline(tmp_path):
    import architectures

    architectures.register("tiny_paired", lambda input_shape, num_classes: _tiny(4),
                           architectures.Recipe())  # fmt: skip
    try:
        models = tmp_path / "models"
        assert paired.main(["--save-models", str(models), "--variants", "tiny_paired"]) == 0
        assert (models / "tiny_paired.keras").exists()
        summary = tmp_path / "summary.json"
        code = paired.main(["--baseline-models", str(models), "--variants", "tiny_paired",
                            "--budget-s", "0.3", "--json-summary", str(summary)])  # fmt: skip
        assert code == 0
        rows = json.loads(summary.read_text())["rows"]
        assert rows[0]["variant"] == "tiny_paired" and rows[0]["verdict"] in {"ok", "faster"}
        code = paired.main(["--baseline-models", str(tmp_path / "none"), "--variants",
                            "tiny_paired"])  # fmt: skip
        assert code == 2
    finally:
        architectures.unregister("tiny_paired")


@pytest.mark.usefixtures("tf_already_configured")
def test_unknown_variant_is_unusable_input(capsys):
    assert paired.main(["--baseline-models", "x", "--variants", "v99"]) == 2
    assert "unknown variant 'v99'" in capsys.readouterr().err


# ----- losses: a baseline model whose current counterpart is missing or broken fails (exit 1) --


@pytest.fixture
def register_tiny():
    """Register tiny user models for one test; whatever is still registered is removed after."""
    import architectures

    names: list[str] = []

    def register(name: str, builder) -> None:
        architectures.register(name, builder, architectures.Recipe())
        names.append(name)

    yield register
    for name in names:
        if name in architectures.VARIANTS:
            architectures.unregister(name)


def _saved_baseline(tmp_path, register_tiny, *names: str):
    """A folder of saved baseline models of `names` (tiny ones, width 4)."""
    for name in names:
        register_tiny(name, lambda input_shape, num_classes: _tiny(4))
    models = tmp_path / "models"
    assert paired.main(["--save-models", str(models), "--variants", ",".join(names)]) == 0
    return models


@pytest.mark.usefixtures("tf_already_configured")
def test_baseline_model_without_a_current_variant_fails_unless_allowed(
    tmp_path, capsys, register_tiny
):
    import architectures

    models = _saved_baseline(tmp_path, register_tiny, "tiny_kept", "tiny_gone")
    architectures.unregister("tiny_gone")  # the change under test removed it
    capsys.readouterr()
    argv = ["--baseline-models", str(models), "--budget-s", "0.3"]
    summary = tmp_path / "summary.json"

    code = paired.main([*argv, "--variants", "tiny_kept,tiny_gone", "--json-summary", str(summary)])
    out = capsys.readouterr()
    assert code == 1, out
    (failure,) = json.loads(summary.read_text())["failures"]
    assert failure.startswith("tiny_gone:") and "no model in the current registry" in failure
    assert f"failure: {failure}" in out.out

    code = paired.main([*argv, "--variants", "tiny_kept,tiny_gone", "--allow-missing"])
    assert code == 0
    assert "accepted with --allow-missing: tiny_gone" in capsys.readouterr().out

    # "all" includes every baseline model: one whose variant is gone is not skipped silently
    # (the registry's own variants have no saved baseline here, so the input is unusable too).
    assert paired.main([*argv, "--variants", "all", "--budget-s", "0.1"]) == 2
    assert "failure: tiny_gone:" in capsys.readouterr().out


@pytest.mark.usefixtures("tf_already_configured")
def test_current_model_that_cannot_be_built_fails_unless_allowed(tmp_path, capsys, register_tiny):
    import architectures

    models = _saved_baseline(tmp_path, register_tiny, "tiny_broken")
    architectures.unregister("tiny_broken")

    def broken(input_shape, num_classes):
        raise ValueError("width must be positive, got -4")

    register_tiny("tiny_broken", broken)
    capsys.readouterr()
    argv = ["--baseline-models", str(models), "--variants", "tiny_broken"]
    assert paired.main(argv) == 1
    out = capsys.readouterr().out
    assert "failure: tiny_broken: the current model cannot be built" in out
    assert "width must be positive, got -4" in out
    assert paired.main([*argv, "--allow-missing"]) == 0
