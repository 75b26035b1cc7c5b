"""The benchmark suite's pytest front: per model a worker record, then one benchmark entry per
model and timed scenario (`bench.metrics.SCENARIOS`), then inference energy.

Run: `pytest bench --benchmark-json out.json [--variants v01,v10] [--accuracy train]`.
Every worker job (params, FLOPs, memory, accuracy, training) finishes before any timing starts.
The timing itself is `bench.suite.orchestration.stages.run`, plain code run once, at the first timed
test: load, convert, one interleaved session per scenario (every round visiting every model in a new
order, so machine noise lands on all of them alike), energy. The tests here only hand each
point's samples to pytest-benchmark (`bench.suite.orchestration.replay`), so `--benchmark-json` and
`pytest-benchmark compare` read them as before. The timed tests are made from the table, one
`test_<scenario>` (and `test_deployment_<scenario>` where other deployments join), so a new
scenario is a row, with no code here.
"""

from __future__ import annotations

import pytest

from bench import metrics
from bench.atomic import EXIT_UNWRITTEN
from bench.conftest import SUITE_KEY, Suite
from bench.suite.orchestration import deployments, replay, stages
from bench.suite.plan import seeds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = metafunc.config.stash[SUITE_KEY]
    if "variant" in metafunc.fixturenames:
        ids = [e.id for e in suite.entries]
        metafunc.parametrize("variant", ids, ids=ids)
    if "point" in metafunc.fixturenames:  # a model in a deployment other than keras
        ids = [deployments.point(e.id, d) for e in suite.entries for d in suite.deployments[1:]]
        metafunc.parametrize("point", ids, ids=ids)


def test_record(variant: str, suite: Suite) -> None:
    """Params, FLOPs, accuracy (reported / trained / loaded, one job per seed) and memory, each
    job in a fresh process; the seeds' records merged into the model's record."""
    results = suite.wait(suite.jobs(variant))
    dead = next((r for r in results if r.record is None), None)
    if dead is not None and (dead.returncode < 0 or dead.returncode == EXIT_UNWRITTEN):
        suite.record_error(variant, dead.tail[-1])  # killed, or no room for its record
        pytest.fail(dead.tail[-1], pytrace=False)
    if dead is not None:  # a bug of ours: its traceback
        pytest.fail(
            f"a worker for {variant} died (exit {dead.returncode}):\n" + "\n".join(dead.tail)
        )
    for result in results:
        result.record["worker_wall_s"] = result.wall_s
    record, labels = seeds.merge([r.record for r in results])
    suite.records[variant] = record
    suite.labels.update(labels)
    broken = next((r for r in results if r.returncode != 0), None)
    if broken is not None:
        pytest.fail("\n".join(broken.tail + broken.record["errors"]))
    if record["errors"]:
        pytest.fail(" ".join(record["errors"]), pytrace=False)


# --- timed scenarios: the orchestrator's results, one benchmark entry per point ---


@pytest.fixture(scope="session")
def results(request: pytest.FixtureRequest, suite: Suite) -> stages.Results:
    """Every timed stage, run once for the scenarios of the selected tests (and energy when its
    tests are selected)."""
    selected = [item.obj for item in request.session.items]
    wanted = {getattr(f, "scenario", None) for f in selected} - {None}
    energy = any(getattr(f, "__name__", "") == "test_inference_energy" for f in selected)
    return stages.run(
        suite, wanted, energy=energy, reference=lambda: request.getfixturevalue("reference")
    )


def _entry(benchmark, results: stages.Results, scenario: str, point: str) -> None:
    """This point's samples of the session as its benchmark entry, or a one-sentence failure.

    A point is a model (keras, the default deployment) or `<model>@<deployment>`; a failed
    deployment's sentence went to that deployment's row, not to the model's errors.
    """
    found = results.entries.get((scenario, point), f"{point} was not timed in {scenario}")
    if isinstance(found, str):
        pytest.fail(found, pytrace=False)
    replay.replay(benchmark, found.samples)
    benchmark.extra_info.update(found.extra_info)


def _model_test(row: metrics.Scenario):
    def test(benchmark, variant: str, results: stages.Results) -> None:
        _entry(benchmark, results, row.name, variant)

    test.__doc__ = f"{row.label}: this model's samples of the interleaved session."
    return _named(test, f"test_{row.name}", row)


def _deployment_test(row: metrics.Scenario):
    def test(benchmark, point: str, results: stages.Results) -> None:
        _entry(benchmark, results, row.name, point)

    test.__doc__ = f"{row.label} of a model in another deployment, in the models' session."
    return _named(test, f"test_deployment_{row.name}", row)


def _named(test, name: str, row: metrics.Scenario):
    """`test` under `name` (pytest collects it, pytest-benchmark names its entries by it),
    tagged with its scenario for `results`."""
    test.__name__ = test.__qualname__ = name
    test.scenario = row.name
    return test


for _row in metrics.SCENARIOS:
    globals()[f"test_{_row.name}"] = _model_test(_row)
for _row in metrics.SCENARIOS:
    if _row.deployments:
        globals()[f"test_deployment_{_row.name}"] = _deployment_test(_row)


def test_inference_energy(variant: str, results: stages.Results) -> None:
    """Energy per 1,000 images at the throughput batch, from a hardware counter (skipped, with
    the reason in the record, where the machine has none)."""
    row = results.energy_rows.get(variant)
    if row is None:
        pytest.skip(f"{variant} has no throughput function to measure (see its throughput test)")
    if row["reason"] is not None:
        pytest.skip(row["reason"])
