"""experiments/main_job_runs.py: its options and its reading of a suite JSON, on hand-made files."""

from __future__ import annotations

import json

import pytest

from experiments import main_job_runs as runs


def _entry(scenario: str, variant: str, median: float, *, batch: int = 1, rounds: int = 9,
           deployment: str = "keras", data: list | None = None) -> dict:  # fmt: skip
    return {
        "name": f"test_{scenario}[{variant}]",
        "stats": {"median": median, "data": data or [median] * rounds},
        "extra_info": {"scenario": scenario, "variant": variant, "batch_size": batch,
                       "deployment": deployment, "session": {"rounds": rounds}},
    }  # fmt: skip


def _doc() -> dict:
    return {"benchmarks": [
        _entry("latency", "v01", 0.0010, rounds=400),
        _entry("latency", "v02", 0.0011, rounds=380),
        _entry("latency", "v07", 0.0130, rounds=200),
        _entry("throughput", "v01", 0.0512, batch=256, rounds=5),
        _entry("throughput", "v02", 0.0500, batch=256, rounds=6),
        # v02 at half the batch after an out-of-memory would compare per image:
        _entry("throughput", "v04", 0.7000, batch=256, rounds=3),
        _entry("throughput", "v05", 0.3535, batch=128, rounds=3),
        _entry("throughput", "v01@litert_fp32", 0.0300, batch=256, deployment="litert_fp32"),
        _entry("train_step", "v01", 0.07, batch=64, rounds=4),
    ]}  # fmt: skip


def test_ratios_are_of_medians_per_image_and_rounds_per_scenario() -> None:
    got = runs.analyze(json.loads(json.dumps(_doc())))
    assert got["ratios"]["latency"] == pytest.approx({"v01/v02": 0.0010 / 0.0011})
    assert got["ratios"]["throughput"] == pytest.approx(
        {"v01/v02": 1.024, "v04/v05": (0.7 / 256) / (0.3535 / 128)}
    )
    assert got["rounds"] == {
        "latency": {"v01": 400, "v02": 380, "v07": 200},
        "throughput": {"v01": 5, "v02": 6, "v04": 3, "v05": 3},
        "train_step": {"v01": 4},
    }


def test_ratios_take_the_rounds_every_model_of_the_session_shared() -> None:
    # Latency: v04 stayed 4 rounds, v05 left after 2: the figures are the medians of the first
    # 2 rounds (0.50 and 0.52 s), as the table prints them, not v04's median of all 4 (0.60 s).
    # Throughput figures take each model's own rounds (Scenario.shared_round_figures).
    a = _entry("latency", "v04", 0.0, rounds=4, data=[0.50, 0.54, 0.70, 0.66])
    b = _entry("latency", "v05", 0.0, rounds=2, data=[0.51, 0.53])
    c = _entry("throughput", "v04", 0.0, batch=32, rounds=4, data=[0.50, 0.54, 0.70, 0.66])
    d = _entry("throughput", "v05", 0.0, batch=32, rounds=2, data=[0.51, 0.53])
    for entry, sid in ((a, "s1"), (b, "s1"), (c, "s2"), (d, "s2")):
        entry["extra_info"]["session"].update(id=sid, calls_per_round=1)
    got = runs.analyze({"benchmarks": [a, b, c, d]})
    assert got["ratios"]["latency"]["v04/v05"] == pytest.approx(0.52 / 0.52)
    # Throughput reads the 5 % quantile (numpy's linear rule): v04's sorted 0.50, 0.54, 0.66,
    # 0.70 at position 0.05 * 3 = 0.15 is 0.50 + 0.15 * 0.04 = 0.506; v05's 0.51, 0.53 at 0.05
    # is 0.51 + 0.05 * 0.02 = 0.511.
    assert got["ratios"]["throughput"]["v04/v05"] == pytest.approx(0.506 / 0.511)


def test_the_printed_run_flags_ratios_outside_the_band() -> None:
    lines = runs.format_run(1, True, 170.4, runs.analyze(_doc()))
    assert lines[0] == "run 1 (busy neighbour): 170 s wall"
    assert "  ratio of figures latency: v01/v02 0.909 OUTSIDE [0.97, 1.03]" in lines
    assert "  ratio of figures throughput: v01/v02 1.024, v04/v05 0.990" in lines
    assert "  rounds throughput: v01 5, v02 6, v04 3, v05 3" in lines
    assert runs.outside(0.9699) and runs.outside(1.0301)
    assert not runs.outside(0.97) and not runs.outside(1.03)


def test_summary_counts_per_condition() -> None:
    analysis = runs.analyze(_doc())
    got = runs.summarise([
        {"busy": True, "wall_s": 300.0, "analysis": analysis},
        {"busy": False, "wall_s": 100.0, "analysis": analysis},
        {"busy": False, "wall_s": 200.0, "analysis": analysis},
    ])  # fmt: skip
    # _doc's samples are constant per model, so the candidate quantiles read as the medians.
    assert got == [
        "quiet: 2 runs, median wall 150 s, 4/6 identical-graph ratios within [0.97, 1.03] "
        "(candidate 5% quantiles: 4/6)",
        "busy: 1 runs, median wall 300 s, 2/3 identical-graph ratios within [0.97, 1.03] "
        "(candidate 5% quantiles: 2/3)",
    ]


def test_the_low_quantile_ignores_a_slow_mode_the_median_lands_on() -> None:
    # v01: 14 calls in the slow mode (16 ms), 6 fast (13 ms); v02 the other way round. The
    # medians are 16 and 13 ms (ratio 16/13); the 5 % quantiles (numpy's linear rule: position
    # 0.05 * 19 = 0.95 of the sorted 20, between two 13 ms calls) are both 13 ms (ratio 1).
    # Latency's figure is the median (the candidate beside it reads 1); throughput's figure is
    # the quantile (contract 4).
    slow, fast = [0.016] * 14 + [0.013] * 6, [0.013] * 14 + [0.016] * 6
    entries = [_entry(scenario, vid, 0.0, batch=batch, rounds=20, data=data)
               for scenario, batch in (("latency", 1), ("throughput", 32))
               for vid, data in (("v01", slow), ("v02", fast))]  # fmt: skip
    got = runs.analyze({"benchmarks": entries})
    assert got["ratios"]["latency"]["v01/v02"] == pytest.approx(16 / 13)
    assert got["low_ratios"]["latency"]["v01/v02"] == pytest.approx(1.0)
    assert got["ratios"]["throughput"]["v01/v02"] == pytest.approx(1.0)
    lines = runs.format_run(2, False, 300.0, got)
    assert "  candidate, ratio of 5% quantiles latency: v01/v02 1.000" in lines
    assert "  ratio of figures throughput: v01/v02 1.000" in lines


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"benchmarks": "none"}, "is not a suite JSON"),
        ([], "is not a suite JSON"),
        ({"benchmarks": [{"name": "x", "stats": {}, "extra_info": {"scenario": "latency"}}]},
         "entry x lacks"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_suite_json_is_one_sentence(doc: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        runs.analyze(doc, "run-1/benchmark.json")


def test_options_and_the_main_jobs_own_arguments() -> None:
    args = runs.parse_args(["--runs", "2", "--variants", "v01,v02", "--", "--latency-budget", "1"])
    assert (args.runs, args.variants, args.extra) == (2, "v01,v02", ["--latency-budget", "1"])
    assert runs.parse_args([]).runs == 5 and runs.parse_args([]).extra == []
    with pytest.raises(SystemExit) as exit_info:
        runs.parse_args(["--runs", "0"])
    assert exit_info.value.code == 2


def test_a_missing_run_fails_closed(tmp_path, capsys) -> None:
    code = runs.main(["--analyze-only", "--runs", "1", "--out-dir", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err.startswith("run 1: ")
