"""Fixtures for the JupyterLab browser tests: a private server, headless Chromium, one page.

Everything here is started and stopped by the fixtures themselves; their teardowns fail
the run when the server's port stays open or a kernel, Chromium or Playwright process
outlives them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from lab_harness import CHROMIUM, CHROMIUM_ARGS, REPO, LabServer, alive, descendants, kill_and_wait, start_lab, stop_lab

ARTIFACTS = REPO / "artifacts" / "browser"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Fail in CI (where the browser must be installed), skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def _kernel_env() -> dict[str, str]:
    """Environment for the server, inherited by its kernels: the notebooks' smoke mode."""
    env = {"GAN_COURSE_SMOKE": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    shared = REPO.parent / "shared" / "data"
    if "GANLIB_DATA" not in os.environ and shared.is_dir():
        env["GANLIB_DATA"] = str(shared)
    return env


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``artifacts/browser/`` (git-ignored): screenshots and the server log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Timeline:
    """Seconds since the first browser fixture started, per named step (written to timings.txt)."""

    def __init__(self) -> None:
        self.start, self.marks = time.monotonic(), []

    def mark(self, name: str) -> None:
        self.marks.append((name, time.monotonic() - self.start))

    def text(self) -> str:
        return "".join(f"{seconds:7.1f} s  {name}\n" for name, seconds in self.marks)


@pytest.fixture(scope="session")
def timeline(artifacts_dir: Path) -> Iterator[Timeline]:
    """Records when each step finished; the file shows where a slow run spent its time."""
    line = Timeline()
    yield line
    line.mark("all stopped")
    (artifacts_dir / "timings.txt").write_text(line.text())


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, or a skip (local) / failure (CI) that says how to install it."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} not found: run `bash scripts/install_browser.sh` (as root) first")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        _unavailable(f"Playwright for Python is not installed in this venv ({error})")
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path, chromium_path: Path,
               timeline: Timeline) -> Iterator[LabServer]:
    """A JupyterLab server rooted at the repository, in smoke mode; checked for leftovers at the end."""
    server = start_lab(REPO, tmp_path_factory.mktemp("jupyter"), artifacts_dir / "jupyterlab.log", _kernel_env())
    timeline.mark("server answers")
    try:
        yield server
    finally:
        problems = stop_lab(server)
        assert not problems, "JupyterLab left something behind: " + "; ".join(problems)


def _browser_processes(exclude: set[int]) -> set[int]:
    """Our descendants that belong to Playwright's driver or Chromium (not the Jupyter server)."""
    found = set()
    for pid in descendants(os.getpid()) - exclude:
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "chromium" in cmdline or "playwright" in cmdline:
            found.add(pid)
    return found


@pytest.fixture(scope="session")
def browser(chromium_path: Path, timeline: Timeline):
    """Headless Chromium through Playwright; checks that no browser process survives."""
    from playwright.sync_api import sync_playwright

    before = descendants(os.getpid())
    playwright = sync_playwright().start()
    ours: set[int] = set()
    try:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), headless=True,
                                             args=CHROMIUM_ARGS)
        timeline.mark("chromium started")
        ours = _browser_processes(before)
        yield browser
        ours |= _browser_processes(before)  # renderers started since launch
        browser.close()
    finally:
        playwright.stop()
        lingering = alive(ours)
        if lingering:
            names = ", ".join(f"{p.pid} {p.name()}" for p in lingering)
            kill_and_wait({p.pid for p in lingering})
            pytest.fail(f"browser processes outlived the test: {names}", pytrace=False)


@pytest.fixture(scope="session")
def lab_page(browser, lab_server: LabServer, timeline: Timeline):
    """One JupyterLab page, loaded and restored, shared by the tests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)  # generous: CI and dev machines have 2 busy cores
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"console.{msg.type}: {msg.text}"))
    page.on("pageerror", lambda error: messages.append(f"uncaught: {error}"))
    try:
        page.goto(lab_server.url("lab"), wait_until="domcontentloaded", timeout=180_000)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=180_000)
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        timeline.mark("JupyterLab loaded in the page")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "FAILED_lab_load.png"))
        raise
    yield page
    (ARTIFACTS / "console.txt").write_text("\n".join(messages) + "\n")
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item, so a fixture can tell whether the test failed."""
    report = yield
    setattr(item, f"gan_report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failing browser test leaves FAILED_<test>.png in artifacts/browser/."""
    yield
    report = getattr(request.node, "gan_report_call", None)
    if report is not None and report.failed and "lab_page" in request.fixturenames:
        page = request.getfixturevalue("lab_page")
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"FAILED_{name}.png"), full_page=True)
