"""`python -m bench run`: the main job. Runs the suite, writes the JSON, then builds the report.

It is a thin wrapper over `pytest bench/test_suite.py --benchmark-json ...` (every suite option is
passed through unchanged), so the JSON is exactly what `pytest bench` writes. Defaults answer the
report's question on a laptop in minutes: costs measured here, accuracies taken from the report.

What the terminal shows (`tests/test_cli_tty.py` checks it on a pseudo-terminal): the run's facts
and its expected duration (from the last run's timings in `<out>/benchmark.json` when there is
one), one progress line per phase (`--display progress`), no TensorFlow log line unless
`--verbose`, then the compact table and the verdict's answer (`reports.terminal`) and the
report's path. Progress goes to stderr, the answer to stdout.

The JSON is written next to its final name (`bench.atomic`: a temporary of this process in the
same folder) and moved there only when the suite ran (exit 0, or 1 when a model failed and its
record says why) and the file reads back as a whole suite JSON (`bench.contract.validate`), so
a run that stops early, or whose write fails (a full disk), leaves the last good file (and its
timings) in place and says so in one sentence. Exit status (README, "Exit status"): 0 done; 1
done, a model failed; 4 a bad option (pytest's usage error); `EXIT_UNWRITTEN` (74) the run could
not write its result; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import atomic
from bench.suite.executors.jobs import die_with_parent

SUITE = Path(__file__).resolve().parents[2] / "test_suite.py"
# pytest's own output is replaced by the suite's progress lines: no header, no per-test letters,
# no traceback for a failure the suite words itself (its one sentence is shown as it happens),
# no warnings summary (each warning is shown as it happens), no pytest-benchmark table.
QUIET = ("-qq", "--tb=no", "-rN", "--disable-warnings")
# --verbose: pytest's header and test names, short tracebacks, its warnings summary, and
# TensorFlow's logs (bench/conftest.py reads -v).
VERBOSE = ("-v", "--tb=short")


class _PassOn(argparse.Action):
    """A suite option: listed by `--help`, passed on to pytest unchanged (pytest checks it, so a
    bad value is its usage error, exit 4), in the order given."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        flag = self.option_strings[0]
        namespace.passthrough.append(flag if self.nargs == 0 else f"{flag}={values}")


def _suite_options(parser: argparse.ArgumentParser) -> None:
    """Every row of `bench.suite.plan.options.OPTIONS`, as `--help` lists them."""
    from bench.suite.plan.options import OPTIONS

    group = parser.add_argument_group(
        "suite options", "passed on to pytest, which also accepts them (`pytest bench --help`)"
    )
    for option in OPTIONS:
        flag = option.action == "store_true"
        group.add_argument(
            option.flag,
            action=_PassOn,
            nargs=0 if flag else None,
            metavar=None if flag else _metavar(option),
            help=_with_default(option),
            default=argparse.SUPPRESS,
        )


def _metavar(option: Any) -> str:
    if option.metavar:
        return option.metavar
    return "|".join(option.choices) if option.choices else option.dest.upper()


def _with_default(option: Any) -> str:
    """The option's help, and its default unless the help says it."""
    said = option.help.replace("%", "%%")
    if option.action == "store" and option.default is not None and "default" not in said:
        said += f" (default {option.default})"
    return said


def make_parser() -> argparse.ArgumentParser:
    """The command line of `python -m bench run`: its own options, then every suite option
    (`OPTIONS`), which are passed on to pytest."""
    parser = argparse.ArgumentParser(
        prog="python -m bench run",
        description=(
            "Run the efficiency suite and build the Pareto report. The suite options below, and "
            "any other option, are passed to pytest."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    parser.add_argument("--no-report", action="store_true", help="only write the JSON")
    parser.add_argument(
        "--save",
        action="store_true",
        help="also keep this run in the history's store (pytest-benchmark's "
        "--benchmark-autosave; folder: --benchmark-storage, default .benchmarks; "
        "python -m bench history --help)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show TensorFlow's logs (also the workers'), pytest's own output and tracebacks",
    )
    _suite_options(parser)
    return parser


def own_flags() -> list[str]:
    """The long flags `python -m bench run` takes itself (not passed on), besides --help."""
    return [
        action.option_strings[-1]
        for action in make_parser()._actions
        if not isinstance(action, (_PassOn, argparse._HelpAction))
    ]


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(The runner's own options, the arguments passed on to pytest, in the order given.)"""
    args, others = make_parser().parse_known_args(argv, argparse.Namespace(passthrough=[]))
    passthrough = args.passthrough + others
    del args.passthrough
    return args, passthrough


def suite_command(args: argparse.Namespace, passthrough: list[str], json_path: Path) -> list[str]:
    """The pytest command line of the suite."""
    previous = args.out / "benchmark.json"
    return [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        "-p",
        "bench.suite.presentation.early",  # before pytest's capture: see bench.measure.native_logs
        "-o",
        "console_output_style=classic",
        *(VERBOSE if args.verbose else QUIET),
        "--display=progress",
        "--benchmark-quiet",
        f"--benchmark-json={json_path}",
        *([f"--estimate-from={previous}"] if previous.is_file() else []),
        *(["--benchmark-autosave"] if args.save else []),  # bench.history.autosave
        *passthrough,
    ]


def _report(json_path: Path, out: Path) -> None:
    """Build the report, its progress on stderr, then print the summary and its path."""
    from bench.suite.presentation.progress import Display
    from reports import terminal
    from reports.build import STEPS, build

    display = Display.for_stream(sys.stderr)
    with display.phase("report", STEPS) as phase:
        built = build([json_path], out / "report", progress=phase)
    sys.stderr.flush()
    width = display.width if display.live else terminal.WIDTH
    print()
    print(terminal.summary(built.suite, built.table, built.analysis, built.verdict, width))
    print(f"\nreport: {built.html}")
    print(f"data:   {json_path}")


def _check_suite_json(data: bytes) -> None:
    """Raise, with a reason, unless `data` is a whole suite JSON (a truncated write is not)."""
    from bench.contract import validate

    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"what was written is not whole JSON: {exc}") from None
    validate(document, source="what was written")


def previous_run(json_path: Path) -> str:
    """Which run `json_path` holds now, in words, for a run that did not replace it."""
    if not json_path.is_file():
        return f"no {json_path} was written"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(json_path.stat().st_mtime))
    return f"{json_path} is from the previous run ({stamp})"


def _publish(partial: Path, json_path: Path, status: int) -> int:
    """Move the suite's JSON into place when it is whole; the run's exit status."""
    if status == atomic.EXIT_UNWRITTEN:  # the suite said why (a full disk) in one sentence
        partial.unlink(missing_ok=True)
        print(f"{previous_run(json_path)}; free space and run again.")
        return status
    try:
        atomic.publish(partial, json_path, _check_suite_json)
    except atomic.PublishError as exc:
        print(f"{exc} The measurements of this run are lost; {previous_run(json_path)}.")
        return atomic.EXIT_UNWRITTEN
    return status


INTERRUPTED = 130  # the shell's status for a process ended by SIGINT
PYTEST_INTERRUPTED = 2  # pytest's ExitCode.INTERRUPTED: a Ctrl-C that reached it directly
STOP_GRACE_S = 60.0  # after an interrupt, how long the suite may take to stop its workers


def _run_suite(command: list[str]) -> tuple[int, bool]:
    """Run the suite in its own process group; (its exit status, whether it was interrupted).

    Ctrl-C (or a SIGTERM, or a SIGINT to this process alone) is passed on once, as SIGINT, to
    the suite's whole group: pytest stops its workers and ends, the workers keep their finished
    epochs. The suite has its own group so that a terminal's Ctrl-C reaches it through this
    process only, never twice; it dies with this process (a SIGKILL here). A second interrupt,
    or a suite still running `STOP_GRACE_S` after the first, is ended with SIGKILL; whatever is
    left of its group goes the same way, so no process outlives the run.
    """
    # Its own group, and tied to this process: a SIGKILL here (which cannot be passed on) takes
    # the suite with it, and its workers with it (`die_with_parent`), instead of orphaning them.
    proc = subprocess.Popen(command, process_group=0, preexec_fn=die_with_parent())
    interrupts: list[float] = []

    def forward(signum: int, frame: object) -> None:
        interrupts.append(time.monotonic())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT if len(interrupts) == 1 else signal.SIGKILL)

    handlers = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                status = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if interrupts and time.monotonic() - interrupts[0] > STOP_GRACE_S:
                    os.killpg(proc.pid, signal.SIGKILL)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if interrupts:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker that outlived pytest
    return status, bool(interrupts)


def _kept(passthrough: list[str], since: float) -> str:
    """How many models this run left in the model cache, finished or resumable, in words."""
    from bench.suite.plan.options import DEFAULT_MODEL_CACHE, path

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--model-cache", type=path, default=DEFAULT_MODEL_CACHE)
    cache = parser.parse_known_args(passthrough)[0].model_cache
    entries = [p for p in cache.glob("*") if p.is_dir() and ".corrupt-" not in p.name]

    def touched(folder: Path, name: str) -> bool:
        file = folder / name
        return file.is_file() and file.stat().st_mtime >= since

    finished = sum(touched(p, "result.json") for p in entries)
    resumable = sum(touched(p, "state.json") and not touched(p, "result.json") for p in entries)
    kept = finished + resumable
    said = f"{kept} model{'s' if kept != 1 else ''} kept in the cache {cache}"
    return said + (f" ({resumable} to resume from the last saved epoch)" if resumable else "")


def main(argv: list[str]) -> int:
    args, passthrough = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "benchmark.json"
    partial = atomic.temporary_for(json_path)
    command = suite_command(args, passthrough, partial)
    if args.verbose:
        print("running:", " ".join(command), flush=True)
    started = time.time()
    status, interrupted = _run_suite(command)
    if interrupted or status == PYTEST_INTERRUPTED:
        partial.unlink(missing_ok=True)
        print(f"interrupted; {_kept(passthrough, started)}; {previous_run(json_path)}.")
        return INTERRUPTED
    if status not in (0, 1, atomic.EXIT_UNWRITTEN):  # 1: a model failed, its record says why
        partial.unlink(missing_ok=True)
        print(f"the suite did not run (pytest exit {status}); see the message above.")
        return status
    if status != atomic.EXIT_UNWRITTEN and (not partial.is_file() or partial.stat().st_size == 0):
        partial.unlink(missing_ok=True)
        print(f"the suite wrote no {json_path}; see the messages above.")
        return 2
    status = _publish(partial, json_path, status)
    if status == atomic.EXIT_UNWRITTEN or args.no_report:
        if status != atomic.EXIT_UNWRITTEN:
            print(f"benchmark JSON: {json_path}")
        return status
    try:
        _report(json_path, args.out)
    except OSError as exc:
        print(
            f"could not write the report in {args.out / 'report'} ({atomic.cause(exc)}); the "
            f"measurements are in {json_path}."
        )
        return atomic.EXIT_UNWRITTEN
    return status
