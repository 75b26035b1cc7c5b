"""The HTML report renders in a real headless browser (Debian's chromium) with no errors.

The page carries an inline script that, on load, sets `<body data-render="ok">` when every image
decoded (`complete && naturalWidth > 0`) and no script error was raised, or lists what failed;
this test reads the attribute from Chromium's `--dump-dom` output, checks that the tables and
images are in the DOM, shows that the check does fail on a broken image, and takes a screenshot.
Skipped where chromium is missing, except under CI (env var CI set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

try:  # tests/ is on sys.path under pytest's default import mode (no tests/__init__.py)
    from test_reports import make_suite
except ImportError:  # tests/ became a package
    from tests.test_reports import make_suite

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


def _chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing on CI; install Debian's chromium package.")
    pytest.skip("chromium is not installed")


def _run_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def _body_attributes(dom: str) -> dict[str, str]:
    body = re.search(r"<body([^>]*)>", dom)
    assert body, "no <body> in the dumped DOM"
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1)))


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    from reports import build_report

    root = tmp_path_factory.mktemp("browser")
    source = root / "suite.json"
    source.write_text(json.dumps(make_suite()))
    return build_report([source], root / "report")


def test_report_renders_tables_and_plots_without_errors(page, tmp_path):
    run = _run_chromium(page, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    attributes = _body_attributes(dom)
    assert attributes.get("render") == "ok", attributes
    source = page.read_text(encoding="utf-8")
    assert int(attributes["images"]) == source.count("<img ") > 0
    assert int(attributes["tables"]) == source.count("<table>") >= 3
    assert dom.count("<img ") == source.count("<img ")
    assert 'id="verdict"' in dom and "v10 is the most accurate" in dom


def test_render_check_reports_a_broken_image_and_a_script_error(page, tmp_path):
    # The same page with one image's bytes replaced and a throwing script: the check must name
    # both, not say "ok".
    broken = tmp_path / "broken.html"
    text = page.read_text(encoding="utf-8")
    text = re.sub(
        r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,AAAA", text, count=1
    )
    text = text.replace("</body>", '<script>throw new Error("boom");</script></body>')
    broken.write_text(text, encoding="utf-8")
    run = _run_chromium(broken, tmp_path / "profile", "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    render = _body_attributes(run.stdout).get("render", "")
    assert render.startswith("broken images: ")
    assert "boom" in render


def test_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    run = _run_chromium(
        page,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank 1280x2000 page compresses to a few kB
