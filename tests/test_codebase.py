"""The shape of the house: which room may import which, and no long functions.

- `architectures/` imports nothing of ours (it only builds models);
- `reports/` imports no TensorFlow or Keras, and nothing of `bench/` but the metric table, the
  contract, the decision core and number formatting (`bench/units.py`);
- `bench/metrics.py` and `bench/contract.py` import no TensorFlow (reports and gates read them
  cheaply);
- measurement (`bench/measure/`) imports neither the gates nor `reports/`;
- no production function is longer than 60 lines.

Direct imports are read from the source (AST); the "no TensorFlow" and transitive claims are
checked by importing the modules in a fresh interpreter and looking at `sys.modules`. The layers
as a whole (no circle, no arrow back up) are import-linter's contracts: `tests/test_layers.py`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("architectures", "bench", "reports", "experiments")
MAX_FUNCTION_LINES = 60


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by one file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]) if base else ".".join(parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in OURS}


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        f"for name in {modules!r}: __import__(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_architectures_imports_nothing_of_ours():
    for path in _modules("architectures"):
        foreign = {n for n in _ours(_imports(path)) if not n.startswith("architectures")}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_reports_imports_only_the_metric_table_the_contract_and_the_decision_core_of_bench():
    allowed = ("bench.metrics", "bench.contract", "bench.compare", "bench.units")
    for path in _modules("reports"):
        names = _imports(path)
        bench = {n for n in _ours(names) if n.startswith("bench")}
        stray = {n for n in bench if n != "bench" and not n.startswith(allowed)}
        assert not stray, f"{path.relative_to(ROOT)} imports {sorted(stray)}"
        heavy = {n for n in names if n.split(".")[0] in {"tensorflow", "keras"}}
        assert not heavy, f"{path.relative_to(ROOT)} imports {sorted(heavy)}"


def test_reports_metrics_and_contract_load_without_tensorflow():
    modules = [_dotted(p) for p in _modules("reports") if p.name != "__main__.py"]
    loaded = _loaded_after_import(
        [*modules, "bench.metrics", "bench.contract", "bench.compare", "bench.units"]
    )
    assert "tensorflow" not in loaded and "keras" not in loaded
    assert not {m for m in loaded if m.startswith(("bench.measure", "bench.training"))}


def test_measurement_imports_neither_the_gates_nor_reports():
    for path in _modules("bench/measure"):
        stray = {n for n in _ours(_imports(path)) if n.startswith(("bench.gates", "reports"))}
        assert not stray, f"{path.relative_to(ROOT)} imports {sorted(stray)}"
    loaded = _loaded_after_import([_dotted(p) for p in _modules("bench/measure")])
    assert not {m for m in loaded if m.startswith(("bench.gates", "reports"))}


def _long_functions(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    return found


@pytest.mark.parametrize("package", ["architectures", "bench", "reports", "experiments"])
def test_no_production_function_is_longer_than_sixty_lines(package):
    assert _long_functions(_modules(package)) == []


def test_the_length_check_sees_a_long_function(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES, encoding="utf-8")
    short = tmp_path / "short.py"
    short.write_text("def f():\n" + "    x = 1\n" * (MAX_FUNCTION_LINES - 1), encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _long_functions([long]) == ["long.py:1 f (61)"]
        assert _long_functions([short]) == []
    finally:
        ROOT = saved
