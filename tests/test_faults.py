"""The faults a new user meets: bad options and ids, a plugin with the wrong head, a full disk,
two runs on one cache, Ctrl-C, a hand-edited cache entry (issue 24).

Each test names the defect it covers. The expected messages and figures come from the issue and
from hand computation, not from the code under test. The slow ones run the suite or the worker
in real subprocesses on synthetic data with the smoke profile.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import architectures
from architectures.plugins import PluginError, import_plugins
from bench.suite.orchestration import assemble
from bench.suite.plan.options import OPTIONS
from bench.suite.plan.plan import RunPlan
from bench.suite.plan.plugins import check_heads, head_mismatch

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"


def _suite_parser() -> argparse.ArgumentParser:
    """The suite's options as pytest declares them (`Option.add_to`), on a plain parser."""
    parser = argparse.ArgumentParser(prog="suite")
    for option in OPTIONS:
        option.add_to(parser.add_argument)
    return parser


def _refusal(argv: list[str]) -> str:
    """Parse `argv`; return what the parser printed when it refused (it must refuse)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stopped:
        _suite_parser().parse_args(argv)
    assert stopped.value.code == 2
    return err.getvalue()


# --- defect 3 and 7: every option checked when the command line is read -------------------------

BAD_VALUES = [
    ("--throughput-batch", "0", "at least 1"),
    ("--throughput-batch", "-8", "at least 1"),
    ("--latency-budget", "-1", "above 0"),
    ("--latency-budget", "0", "above 0"),
    ("--latency-budget", "nan", "finite"),
    ("--latency-budget", "inf", "finite"),
    ("--jobs", "0", "at least 1"),
    ("--gpu-memory-limit", "0", "at least 1"),
    ("--cpus-per-job", "0", "above 0"),
    ("--gpus-per-job", "-1", "at least 0"),
    ("--variants", "", "names no model"),
    ("--variants", " , ", "names no model"),
    ("--threads", "1", "INTRA,INTER"),
    ("--threads", "-1,1", "INTRA,INTER"),
    ("--seeds", "1,1", "given twice"),
    ("--seeds", "0", "trains nothing"),
    # a count of 10^20 was read as range(10^20) and filled the memory (CI, 2026-12-07)
    ("--seeds", "100000000000000000000", "at most 100"),
    ("--seeds", "1,4294967296", "at most 2147483647"),
    ("--model-cache", "", "empty"),
]


@pytest.mark.parametrize(("flag", "value", "says"), BAD_VALUES)
def test_a_bad_option_value_is_one_sentence_when_the_command_line_is_read(flag, value, says):
    """Defect 3 (`--throughput-batch 0` measured empty calls, `--latency-budget -1` was printed
    as "-1.00 s of samples") and defect 7 (`--variants ''`): refused before anything runs."""
    message = _refusal([f"{flag}={value}"])
    assert f"argument {flag}: " in message and says in message
    assert "Traceback" not in message


def test_the_worker_checks_its_options_with_the_same_rules(tmp_path):
    from bench.suite.executors.worker import parse_job

    plan = json.loads(RunPlan.from_options({}).to_json())
    plan["options"]["throughput_batch"] = 0  # a plan written by hand, or by another version
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit):
        parse_job(["--plan", str(tmp_path / "plan.json"), "--variant", "v01", "--out", "r.json"])
    assert "argument --throughput-batch: needs a whole number of at least 1" in err.getvalue()


def test_good_option_values_still_parse():
    values = _suite_parser().parse_args(
        ["--throughput-batch", "8", "--latency-budget", "0.2", "--threads", "1,1", "--seeds",
         "0,4", "--variants", "v01,v10", "--gpus-per-job", "0"]
    )  # fmt: skip
    assert (values.throughput_batch, values.latency_budget) == (8, 0.2)
    assert (values.threads, values.seeds, values.variants) == ("1,1", "0,4", "v01,v10")


def _check_like_the_suite(argv: list[str]) -> None:
    """What `bench/conftest.py` does with the command line before any test: parse it, then the
    checks that need the registry; each refusal is a SystemExit or a one-sentence error."""
    from bench.conftest import _threads
    from bench.suite.orchestration.deployments import DeploymentsOptionError, parse_deployments
    from bench.suite.plan.seeds import SeedsError, parse_seeds

    values = _suite_parser().parse_args(argv)
    try:
        _threads(values.threads)
        parse_seeds(values.seeds)
        parse_deployments(values.deployments)
        architectures.select(values.variants)
    except (pytest.UsageError, SeedsError, DeploymentsOptionError) as exc:
        assert "\n" not in str(exc)
    except architectures.UnknownVariantError as exc:
        assert str(exc).startswith("unknown variant")


_FLAGS = [o.flag for o in OPTIONS if o.action == "store"]
_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1", "nan", "inf", "-inf", "", ",", " ", "1,1", "1,", "0,0,0",
                     "1e400", "all", "v01", "v01,,v10", "../x", "1.5", "+3", "0x10", "٣"]),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)  # fmt: skip


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(st.sampled_from(_FLAGS), _VALUES), max_size=4))
def test_no_command_line_makes_the_option_parser_print_a_traceback(capsys, pairs):
    """Property (hypothesis): whatever the values, the parser and the suite's checks accept the
    command line or refuse it in words; no other exception (a traceback) escapes."""
    argv = [f"{flag}={value}" for flag, value in pairs]
    with contextlib.suppress(SystemExit):
        _check_like_the_suite(argv)
    assert "Traceback" not in capsys.readouterr().err


# --- defect 3: a throughput is never computed from a made-up batch ------------------------------


def _throughput_record(batch_size):
    bench = {
        "extra_info": {"variant": "v01", "scenario": "throughput", "batch_size": batch_size},
        "stats": {"data": [0.5, 0.5, 0.5, 0.5, 0.5]},
    }
    entry = architectures.get("v01")
    return assemble.variants_section([entry], {}, [bench])["v01"]


def test_a_throughput_is_the_batch_over_the_calls_5_percent_quantile():
    # 8 images per call, every call 0.5 s (so its 5 % quantile too): 16 images/s
    assert _throughput_record(8)["throughput_images_per_s"] == pytest.approx(16.0)


@pytest.mark.parametrize("batch_size", [0, None, -4])
def test_a_throughput_without_a_real_batch_is_null_with_its_reason(batch_size):
    """The old `batch_size or 1` turned batch 0 into 1 image per call: 2.16 k "images"/s."""
    record = _throughput_record(batch_size)
    assert record["throughput_images_per_s"] is None
    assert "not a number of images" in record["unavailable"]["throughput_images_per_s"]


# --- defect 4: ids that could name a path outside the cache --------------------------------------


def _build(input_shape, num_classes):
    raise AssertionError("not built")


@pytest.mark.parametrize("bad", ["../escaped", "sub/dir", ".hidden", "-x", "a b", "", "all",
                                 "v01,v10", "v10@xla", "é", "x" * 65])  # fmt: skip
def test_register_refuses_an_unsafe_id_in_one_sentence(bad):
    with pytest.raises(architectures.RegistryError, match="is not allowed; use 1 to 64 ASCII"):
        architectures.register(bad, _build, architectures.Recipe(optimizer="sgd", batch_size=8))
    assert bad not in architectures.VARIANTS


@pytest.mark.parametrize("good", ["mynet", "my_net-v2", "net.1", "_private", "9lives"])
def test_register_accepts_a_safe_id(good):
    architectures.register(good, _build, architectures.Recipe(optimizer="sgd", batch_size=8))
    try:
        assert architectures.get(good).id == good
    finally:
        architectures.unregister(good)


def test_a_plugin_with_an_escaping_id_is_refused_when_imported(tmp_path):
    plugin = tmp_path / "escaping.py"
    plugin.write_text(
        "import architectures\n"
        "architectures.register('../escaped', lambda input_shape, num_classes: None,\n"
        "    architectures.Recipe(optimizer='sgd', batch_size=8))\n",
        encoding="utf-8",
    )
    with pytest.raises(PluginError, match=r"the model id '\.\./escaped' is not allowed"):
        import_plugins([str(plugin)])


# --- defect 6: a model whose head does not fit the dataset ---------------------------------------


def test_a_model_with_the_wrong_head_is_named_with_its_shape_and_the_class_count():
    import_plugins([str(PLUGINS / "seven_outputs_net.py")])
    entry = architectures.get("seven_outputs_net")
    try:
        model = entry.build((32, 32, 3), 10)
        assert head_mismatch(entry.id, model, 10, "synthetic") == (
            "seven_outputs_net outputs shape (None, 7) but the dataset synthetic has 10 classes; "
            "its builder must return (batch, num_classes) scores for the num_classes it is given."
        )
        with pytest.raises(PluginError, match="outputs shape"):
            check_heads([entry], "synthetic")
        check_heads([architectures.get("depthwise_net")], "fashion_mnist")  # a good one passes
    finally:
        architectures.unregister("seven_outputs_net")


def _run(
    args: list[str], tmp_path: Path, extra_env: dict[str, str] | None = None, **kwargs
) -> subprocess.CompletedProcess:
    """`python -m bench run ARGS` with a temporary folder of its own, which must be empty
    afterwards: the harness leaves nothing behind in it (issue 24: a `bench-records-*` folder
    after every run)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_OFFLINE": "1", "TMPDIR": str(temporary),
           **(extra_env or {})}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--out", str(tmp_path / "results"), *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, **kwargs,
    )  # fmt: skip
    assert list(temporary.iterdir()) == [], "the run left files in its temporary folder"
    return proc


@pytest.mark.slow
def test_the_run_refuses_a_wrong_headed_plugin_before_training(tmp_path):
    """Defect 6: about 395 lines of stderr and three TensorFlow tracebacks before."""
    proc = _run(
        ["--accuracy", "train", "--profile", "smoke", "--dataset", "synthetic", "--variants",
         "v01,seven_outputs_net", "--plugin", str(PLUGINS / "seven_outputs_net.py"),
         "--model-cache", str(tmp_path / "models")],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "seven_outputs_net outputs shape (None, 7) but the dataset synthetic has 10 classes" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "models").exists()  # nothing trained


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--throughput-batch", "0"], "argument --throughput-batch: needs a whole number"),
        (["--latency-budget", "-1"], "argument --latency-budget: needs a number above 0"),
        (["--variants", ""], "argument --variants: names no model"),
    ],
)
def test_the_run_refuses_a_bad_option_in_one_sentence(tmp_path, args, says):
    proc = _run(args, tmp_path)
    assert proc.returncode == 4
    assert says in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


# --- defect 1: a full disk never destroys the last good result ----------------------------------

FAST = ["--latency-budget", "0.2", "--throughput-batch", "8"]


def test_a_failed_write_keeps_the_previous_file_and_says_why(tmp_path, monkeypatch):
    from bench import atomic

    target = tmp_path / "benchmark.json"
    target.write_bytes(b'{"previous": true}')

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    with pytest.raises(atomic.PublishError) as refused:
        atomic.write_atomic(target, b'{"new": true}')
    assert str(refused.value) == (
        f"could not write {target} (the disk is full); the previous file is kept."
    )
    assert target.read_bytes() == b'{"previous": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmark.json"]  # no temporary left


def test_a_truncated_suite_json_never_replaces_the_previous_one(tmp_path, capsys):
    """The old runner checked only that the file was not empty, then renamed it over the last
    good one (a valid 68 KB file replaced by a truncated 32 KB one)."""
    from bench import atomic
    from bench.suite.orchestration import runner

    previous = tmp_path / "benchmark.json"
    previous.write_bytes(b'{"previous": true}')
    partial = atomic.temporary_for(previous)
    partial.write_bytes(b'{"machine_info": {"node": "x"}, "benchmarks": [{"name": "te')
    status = runner._publish(partial, previous, 1)  # pytest said: a model failed
    assert status == atomic.EXIT_UNWRITTEN == 74
    assert previous.read_bytes() == b'{"previous": true}'
    assert not partial.exists()
    said = capsys.readouterr().out
    assert f"could not write {previous} (what was written is not whole JSON" in said
    assert "is from the previous run" in said


@pytest.mark.slow
def test_a_full_disk_during_the_run_keeps_the_previous_benchmark_json(tmp_path):
    """Defect 1 end to end: pytest-benchmark's write fails with ENOSPC half-way
    (`tests/plugins/full_disk.py`); the previous file stays byte for byte, one sentence says
    why, and the exit status is 74, not 1 ("a model failed")."""
    results = tmp_path / "results"
    results.mkdir()
    previous = b'{"marker": "the previous run"}'
    (results / "benchmark.json").write_bytes(previous)
    env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{PLUGINS}"}
    proc = _run(["--variants", "v01", *FAST, "-p", "full_disk"], tmp_path, extra_env=env)
    assert proc.returncode == 74, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (results / "benchmark.json").read_bytes() == previous
    assert sorted(p.name for p in results.iterdir()) == ["benchmark.json"]  # no report, no temp
    assert "(the disk is full); the measurements of this run are lost." in proc.stderr
    assert "benchmark.json is from the previous run" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


# --- defect 2: two runs on one model cache -------------------------------------------------------

WORKER = [sys.executable, "-m", "bench.suite.executors.worker", "--variant", "v01"]
WORKER_PLAN = {"accuracy": "train", "profile": "smoke", "dataset": "synthetic",
               "skip_profiler": True}  # fmt: skip


def _worker(out: Path, cache: Path, **options: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    plan = RunPlan.from_options({**WORKER_PLAN, "model_cache": cache, **options})
    plan_file = out.with_suffix(".plan.json")
    plan_file.write_text(plan.to_json())
    return subprocess.Popen(
        [*WORKER, "--plan", str(plan_file), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env,
    )  # fmt: skip


def _end(proc: subprocess.Popen) -> None:
    """Let a stopped or running worker go (a failed test must not leave it behind)."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()


def _read_until(proc: subprocess.Popen, marker: str) -> list[str]:
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"no line with {marker!r}:\n" + "".join(lines[-30:]))


@pytest.mark.slow
def test_a_second_run_waits_for_the_entry_the_first_is_training(tmp_path):
    """Defect 2: started 1 s apart on one cache, both trained v01; the loser crashed at publish
    and rewrote the winner's predictions. Now the second waits with a line, then reads the
    finished entry, and `--no-wait` refuses in one sentence. The first is stopped (SIGSTOP)
    while it holds the entry, so the second surely comes while it trains."""
    import json

    cache = tmp_path / "models"
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(_worker(tmp_path / "first.json", cache))
        stack.callback(_end, first)
        _read_until(first, "training:")  # it holds the entry's lock now
        os.kill(first.pid, signal.SIGSTOP)
        second = stack.enter_context(_worker(tmp_path / "second.json", cache))
        impatient = stack.enter_context(_worker(tmp_path / "impatient.json", cache, no_wait=True))
        said = _read_until(second, "waits for process")
        assert f"waits for process {first.pid} on " in said[-1]
        impatient.communicate(timeout=300)
        assert impatient.returncode == 0
        os.kill(first.pid, signal.SIGCONT)
        first.communicate(timeout=300)
        assert first.returncode == 0
        rest = second.communicate(timeout=300)[0]
        assert second.returncode == 0
    records = {n: json.loads((tmp_path / f"{n}.json").read_text()) for n in ("first", "second")}
    assert records["first"]["errors"] == [] and records["second"]["errors"] == []
    assert records["first"]["from_cache"] is False and records["second"]["from_cache"] is True
    assert records["second"]["accuracy"] == records["first"]["accuracy"]
    assert "taken from the cache" in rest
    refused = json.loads((tmp_path / "impatient.json").read_text())["errors"]
    assert len(refused) == 1 and refused[0].startswith("v01 [smoke, seed 0] is being trained into")
    assert f"by process {first.pid} on " in refused[0] and "leave out --no-wait" in refused[0]
    assert len([p for p in cache.iterdir() if not p.name.startswith(".")]) == 1
    entry = next(p for p in cache.iterdir() if not p.name.startswith("."))
    assert sorted(p.name for p in entry.iterdir() if p.name.startswith(".")) == []


def test_cleanup_removes_only_the_temporaries_of_processes_that_are_gone(tmp_path):
    from bench.training.cache import CacheEntry

    entry = CacheEntry(tmp_path / "v01-0123456789abcdef", "0" * 64)
    entry.directory.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        names = [f".state.json.tmp-{sleeper.pid}", f".state.json.tmp-{gone.pid}",
                 f".final.keras.tmp-{os.getpid()}"]  # fmt: skip
        for name in names:
            (entry.directory / name).write_text("x")
        entry.remove_temporaries()
        assert [p.name for p in entry.directory.iterdir()] == [names[0]]  # a live writer's
    finally:
        sleeper.kill()
        sleeper.wait()


# --- defect 7 and cache integrity: a cache entry edited by hand is never trusted ----------------


def _train_tiny(cache_root: Path, lines: list[str]):
    from test_training import epochs_profile, tiny_dataset, tiny_entry

    from bench.training import fit

    return fit.train_variant(
        tiny_entry(), tiny_dataset(), profile=epochs_profile(1), cache_root=cache_root, seed=0,
        progress=lines.append, energy_setup=fit.EnergySetup(counters=None, idle_s=0.0),
    )  # fmt: skip


def _edit_accuracy(entry: Path) -> None:
    import json

    payload = json.loads((entry / "result.json").read_text())
    payload["test_accuracy"] = 0.99
    (entry / "result.json").write_text(json.dumps(payload))


def _zero_predictions(entry: Path) -> None:
    import numpy as np

    np.save(entry / "predictions.npy", np.zeros(len(np.load(entry / "predictions.npy")), "int16"))


def _grow_model(entry: Path) -> None:
    with open(entry / "final.keras", "ab") as handle:
        handle.write(b"\0")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_edit_accuracy, "result.json says test accuracy 99.00 % but its stored predictions "),
        (_zero_predictions, "predictions.npy does not match the checksum in result.json (edited "),
        (_grow_model, "final.keras does not match the checksum in result.json (edited or "),
    ],
)
def test_a_cache_entry_contradicted_by_its_files_is_moved_aside_and_retrained(
    tmp_path, edit, reason
):
    """Defect 7: accuracy 0.99 written into result.json, or all-zero predictions, were
    trusted. Now a mismatch is one sentence and a retrain."""
    first = _train_tiny(tmp_path, [])
    (entry,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    edit(entry)
    lines: list[str] = []
    again = _train_tiny(tmp_path, lines)
    warning = next(line for line in lines if "is corrupt" in line)
    assert reason in warning and warning.endswith("training from scratch.")
    assert again.from_cache is False
    assert again.test_accuracy == first.test_accuracy  # the same seed trains the same model
    assert len(list(tmp_path.glob(f"{entry.name}.corrupt-*"))) == 1
    assert _train_tiny(tmp_path, []).from_cache is True  # the new entry is trusted again


# --- defect 5: Ctrl-C and SIGTERM -------------------------------------------------------------

QUICK_TRAINING = ["--accuracy", "train", "--profile", "quick", "--dataset", "synthetic",
                  "--variants", "v01", *FAST]  # fmt: skip


def _session_processes(session: int) -> list[int]:
    """The processes still alive in a session (the run was started as its leader)."""
    alive = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getsid(int(name)) == session and state != "Z":  # a zombie has ended
                    alive.append(int(name))
    return alive


def _interrupt(command: list[str], *, to_group: bool, signum: int) -> tuple[int, str, list[int]]:
    """Start `command` as a session leader, send `signum` once v01's first epoch is saved;
    (its exit status, what it printed after the signal, the processes left of its session).
    Its temporary folder must be empty afterwards, except after a SIGKILL (nothing can clean
    up after one)."""
    temporary = Path(command[command.index("--model-cache") + 1]).parent / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_OFFLINE": "1", "TMPDIR": str(temporary)}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True, cwd=ROOT, env=env,
    ) as proc:  # fmt: skip
        try:
            _read_until(proc, "epoch 1/")
            (os.killpg if to_group else os.kill)(proc.pid, signum)
            proc.wait(timeout=120)  # not its output's end: an orphan would hold that open
            time.sleep(1.0)  # let the kernel end and reap what the run's end killed
            left = _session_processes(proc.pid)
        finally:
            for pid in _session_processes(proc.pid):  # a failed test leaves nothing running
                os.kill(pid, signal.SIGKILL)
        after = proc.stdout.read()
    if signum != signal.SIGKILL:
        assert list(temporary.iterdir()) == [], "the run left files in its temporary folder"
    return proc.returncode, after, left


def _epochs_kept(cache: Path) -> int:
    import json

    (entry,) = (p for p in cache.iterdir() if p.name.startswith("v01-"))
    if (entry / "result.json").is_file():
        return json.loads((entry / "result.json").read_text())["epochs"]
    return json.loads((entry / "state.json").read_text())["epochs_done"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("to_group", "signum"),
    [(True, signal.SIGINT), (False, signal.SIGINT), (False, signal.SIGTERM)],
    ids=["ctrl-c-to-the-group", "sigint-to-the-main-process", "sigterm-to-the-main-process"],
)
def test_an_interrupted_run_says_what_it_kept_in_one_line(tmp_path, to_group, signum):
    """Defect 5: 20 lines of KeyboardInterrupt traceback, pytest killed after 0.25 s before
    its cleanup, an orphaned worker writing epochs after the end, nothing said about
    results/benchmark.json. Now: one line, exit 130, no process left, the epochs kept."""
    results, cache = tmp_path / "results", tmp_path / "models"
    results.mkdir()
    (results / "benchmark.json").write_bytes(b'{"marker": "the previous run"}')
    os.utime(results / "benchmark.json", (0, 1_700_000_000))  # 2023-11-14 22:13 UTC
    command = [sys.executable, "-m", "bench", "run", "--out", str(results), "--model-cache",
               str(cache), *QUICK_TRAINING]  # fmt: skip
    status, after, left = _interrupt(command, to_group=to_group, signum=signum)
    assert status == 130, after
    said = [line for line in after.splitlines() if line.strip()]
    assert said == [
        f"interrupted; 1 model kept in the cache {cache} (1 to resume from the last saved "
        f"epoch); {results / 'benchmark.json'} is from the previous run (2023-11-14 22:13 UTC)."
    ]
    assert left == []
    assert (results / "benchmark.json").read_bytes() == b'{"marker": "the previous run"}'
    assert sorted(p.name for p in results.iterdir()) == ["benchmark.json"]
    assert _epochs_kept(cache) >= 1


@pytest.mark.slow
def test_sigint_to_pytest_alone_stops_its_workers(tmp_path):
    """`pytest bench` interrupted in its main process only: its workers are stopped too, not
    orphaned (they are not in the signalled process)."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "bench" / "test_suite.py"), "-p",
               "no:cacheprovider", "--display=progress", f"--benchmark-json={tmp_path / 'b.json'}",
               "--model-cache", str(tmp_path / "models"), *QUICK_TRAINING]  # fmt: skip
    status, after, left = _interrupt(command, to_group=False, signum=signal.SIGINT)
    assert status == 2, after  # pytest's "interrupted"
    assert left == []
    assert "Traceback" not in after
    assert _epochs_kept(tmp_path / "models") >= 1


# --- defect 7: the rest ----------------------------------------------------------------------


def test_the_nan_message_names_no_folder_that_does_not_exist(tmp_path):
    """The NaN sentence said "epochs before it stay checkpointed in <folder>" when no epoch had
    been saved and the folder did not exist."""
    from test_training import epochs_profile, tiny_dataset

    from bench.training import fit

    import_plugins([str(PLUGINS / "nan_net.py")])
    try:
        with pytest.raises(fit.TrainingError) as failed:
            fit.train_variant(
                architectures.get("nan_net"), tiny_dataset(), profile=epochs_profile(2),
                cache_root=tmp_path, seed=0,
                energy_setup=fit.EnergySetup(counters=None, idle_s=0.0),
            )  # fmt: skip
    finally:
        architectures.unregister("nan_net")
    message = str(failed.value)
    assert message.startswith("loss became NaN at epoch 1 for nan_net")
    assert message.endswith("no epoch had finished, so nothing was saved.")
    assert str(tmp_path) not in message


def test_a_one_model_report_draws_without_a_warning(tmp_path):
    """A one-model report printed matplotlib's "divide by zero encountered in scalar divide"
    (a plot axis of zero width); warnings are errors in these tests."""
    import json

    from test_reports import make_record, make_suite

    from reports.build import build

    doc = make_suite([make_record("v01", 159_146, 10_387_776, 0.7232, latency_s=6e-4)])
    doc["published_references"] = []
    (tmp_path / "one.json").write_text(json.dumps(doc))
    built = build([tmp_path / "one.json"], tmp_path / "report")
    assert (tmp_path / "report" / "plots" / "pareto_macs.png").is_file()
    assert built.html.is_file()


@pytest.mark.slow
def test_a_killed_worker_is_one_sentence_and_the_other_models_finish(tmp_path):
    """SIGKILL of a worker (the out-of-memory killer, say) after its first epoch: one sentence
    for that model, the others measured, the JSON written, exit 1 ("a model failed")."""
    import json

    fault = {"variant": "v01", "seed": 0, "after_epoch": 1, "kill": "worker",
             "marker": str(tmp_path / "killed-once")}  # fmt: skip
    proc = _run(
        ["--accuracy", "train", "--profile", "smoke", "--dataset", "synthetic", "--variants",
         "v01,v02", "--model-cache", str(tmp_path / "models"), "--no-report", *FAST],
        tmp_path,
        extra_env={"BENCH_TEST_FAULT": json.dumps([fault])},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    sentence = (
        "the worker for v01 was killed by SIGKILL (out of memory, or stopped from outside); its "
        "finished epochs stay in the model cache, and a rerun resumes after them."
    )
    assert sentence in " ".join(proc.stderr.split())  # the display wraps long lines
    assert "Traceback" not in proc.stdout + proc.stderr
    data = json.loads((tmp_path / "results" / "benchmark.json").read_text())
    assert data["variants"]["v01"]["errors"] == [sentence]
    assert data["variants"]["v02"]["errors"] == [] and data["variants"]["v02"]["accuracy"]
    assert _epochs_kept(tmp_path / "models") == 1


@pytest.mark.slow
def test_a_killed_run_takes_the_suite_and_its_workers_with_it(tmp_path):
    """SIGKILL to `python -m bench run` (which cannot pass it on): the suite, in a process group
    of its own, and its workers die with it instead of training on as orphans."""
    command = [sys.executable, "-m", "bench", "run", "--out", str(tmp_path / "results"),
               "--model-cache", str(tmp_path / "models"), *QUICK_TRAINING]  # fmt: skip
    status, _, left = _interrupt(command, to_group=False, signum=signal.SIGKILL)
    assert status == -signal.SIGKILL
    assert left == []
