"""The layers of the house: no import circle and no arrow back up (issue 20).

The rules are import-linter contracts in `pyproject.toml` (`[tool.importlinter]`; the dev extra
installs it): the layers, top to bottom, "reports never reads the measuring code", and no circle
among the modules of any package. Imports inside functions and under `TYPE_CHECKING` count.
`lint-imports` checks them from the command line; this file runs the same check, shows that it
sees a planted arrow back up and a planted circle, and checks one thing import-linter does not:
every module of ours sits in a layer (a new top-level module outside every layer would go
unchecked). `python tests/test_layers.py` prints the one-line summary.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(no_cache=True, no_logo=True))"
)


def _config() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]


def _lint(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the packages under `root`, with `root`'s pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True
    )


def summary(proc: subprocess.CompletedProcess) -> str:
    """One line: how many modules and imports were read, and whether the contracts hold."""
    found = re.search(r"Analyzed (\d+) files, (\d+) dependencies", proc.stdout)
    counted = f"{found[1]} modules, {found[2]} imports" if found else "no import graph"
    if proc.returncode == 0:
        return f"{counted}: no circle, no arrow back up"
    broken = re.search(r"Contracts: \d+ kept, (\d+) broken", proc.stdout)
    return f"{counted}: {broken[1] if broken else 'the'} contracts broken (run lint-imports)"


def test_no_circle_and_no_arrow_back_up():
    assert importlib.util.find_spec("importlinter"), "install the dev extra: pip install -e .[dev]"
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = len(_config()["contracts"])
    assert f"Contracts: {kept} kept, 0 broken." in proc.stdout


def _layer_names() -> list[str]:
    (layers,) = (c for c in _config()["contracts"] if c["id"] == "layers")  # not the rooms'
    return [n.strip(" ()") for layer in layers["layers"] for n in re.split(r"[|:]", layer)]


def _our_modules() -> list[str]:
    found = []
    for package in _config()["root_packages"]:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts).removesuffix(".__init__"))
    return found


def test_every_module_of_ours_sits_in_a_layer():
    names = _layer_names()
    assert len(names) == len(set(names)), f"a module is in two layers: {names}"
    outside = [
        m
        for m in _our_modules()
        if not any(m == n or m.startswith(f"{n}.") for n in names)
        and not any(n.startswith(f"{m}.") for n in names)  # a package holding layers (`bench`)
    ]
    assert outside == [], (
        f"put these in a layer of [tool.importlinter] in pyproject.toml: {outside}"
    )


def _copy_of_the_house(tmp_path: Path) -> Path:
    for package in _config()["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__py*"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")


def test_the_check_sees_an_arrow_back_up_and_a_circle(tmp_path):
    house = _copy_of_the_house(tmp_path)
    # An import inside a function counts: measurement reaching up into training.
    _append(
        house / "bench/measure/params.py", "\n\ndef _up():\n    from bench.training import fit\n"
    )
    # The gates' old circle: the row types importing the table that imports them.
    _append(house / "bench/gates/rows.py", "\nfrom bench.gates import table\n")
    proc = _lint(house)
    assert proc.returncode != 0
    assert "bench.measure.params -> bench.training.fit" in proc.stdout
    assert "No cycles are allowed in bench.gates." in proc.stdout
    assert summary(proc).endswith("2 contracts broken (run lint-imports)")


if __name__ == "__main__":
    result = _lint(ROOT)
    print(summary(result))
    sys.exit(result.returncode)
