"""The local executor of worker jobs, on a stub worker: concurrency, records, dead workers, and
where a worker's output goes (progress lines to `progress`, everything else to `other`, nothing
straight to the terminal)."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

from bench.suite.executors.jobs import Job, LocalExecutor

PLAN = '{"plan_version": 1, "options": {}}'  # the stub only reads it back

STUB = textwrap.dedent(
    """
    import json, sys, time
    args = sys.argv[1:]
    variant = args[args.index("--variant") + 1]
    out = args[args.index("--out") + 1]
    plan = open(args[args.index("--plan") + 1]).read()
    start = time.time()
    print(f"{variant} epoch 1/1", file=sys.stderr, flush=True)
    print("unrelated noise", file=sys.stderr, flush=True)
    print("printed on stdout", flush=True)
    if variant == "dead":
        print("Traceback: the stub died", file=sys.stderr)
        sys.exit(3)
    time.sleep(0.6)
    with open(out, "w") as handle:
        json.dump({"variant": variant, "start": start, "end": time.time(), "argv": args,
                   "plan": plan}, handle)
    """
)


def _executor(tmp_path: Path, parallel: int, lines: list[str]) -> LocalExecutor:
    stub = tmp_path / "stub_worker.py"
    stub.write_text(STUB, encoding="utf-8")
    return LocalExecutor(
        parallel=parallel, env={}, progress=lines.append, command=(sys.executable, str(stub))
    )


def test_jobs_run_two_at_a_time_and_return_their_records(tmp_path):
    lines: list[str] = []
    executor = _executor(tmp_path, 2, lines)
    started = time.perf_counter()
    futures = [
        executor.submit(Job(vid, 0, tmp_path / f"{vid}.json", PLAN)) for vid in ("a", "b", "c", "d")
    ]
    results = [f.result() for f in futures]
    executor.shutdown()
    assert [r.record["variant"] for r in results] == ["a", "b", "c", "d"]
    assert all(r.returncode == 0 and r.record["argv"][-4:-2] == ["--seed", "0"] for r in results)
    assert all(r.record["plan"] == PLAN for r in results)  # the plan file holds the job's plan
    spans = [(r.record["start"], r.record["end"]) for r in results]
    most = max(sum(s < t < e for s, e in spans) for t, _ in spans)  # jobs running at a start
    assert most <= 1  # besides the one starting: never more than two at once
    assert time.perf_counter() - started < 4 * 0.6  # and not one after another
    assert sorted(lines) == [f"{v} epoch 1/1" for v in "abcd"]  # progress only, no noise


def test_a_dead_worker_comes_back_with_its_exit_code_and_last_lines(tmp_path):
    executor = _executor(tmp_path, 1, [])
    result = executor.submit(Job("dead", 0, tmp_path / "dead.json", PLAN)).result()
    executor.shutdown()
    assert result.record is None and result.returncode == 3
    assert result.tail[-1] == "Traceback: the stub died"
    assert not (tmp_path / "dead.json").exists()


def test_other_output_is_kept_apart_from_progress_and_each_start_is_told(tmp_path, capfd):
    stub = tmp_path / "stub_worker.py"
    stub.write_text(STUB, encoding="utf-8")
    lines, other, started = [], [], []
    executor = LocalExecutor(
        parallel=1,
        env={},
        progress=lines.append,
        started=started.append,
        other=other.append,
        command=(sys.executable, str(stub)),
    )
    result = executor.submit(Job("a", 0, tmp_path / "a.json", PLAN)).result()
    executor.shutdown()
    assert [job.variant for job in started] == ["a"]
    assert lines == ["a epoch 1/1"]
    assert other == ["a | unrelated noise", "a | printed on stdout"]
    assert "printed on stdout" in result.tail
    out, err = capfd.readouterr()
    assert "printed on stdout" not in out + err  # the worker's output never reaches the terminal


def test_a_record_is_read_back_as_written(tmp_path):
    executor = _executor(tmp_path, 1, [])
    result = executor.submit(Job("x", 0, tmp_path / "sub" / "x.json", PLAN)).result()
    executor.shutdown()
    written = json.loads((tmp_path / "sub" / "x.json").read_text())
    assert result.record == written and result.wall_s >= 0.6
