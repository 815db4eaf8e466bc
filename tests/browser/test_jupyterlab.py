"""The course in a real JupyterLab: open the notebooks in headless Chromium and move the sliders.

Notebook 05 is run in the page (smoke mode, via the kernel's environment), then each
explorer's controls are moved with the keyboard and the PNG that its ``gan-image`` shows
must change. Notebooks 01-04 are opened as they are committed and must render without
errors. Screenshots go to ``artifacts/browser/``; with ``GAN_COURSE_README_SCREENSHOT=1``
the one of the class-interpolation explorer is also copied to
``images/jupyterlab_05_widgets.png`` for the README.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from lab_harness import REPO

pytestmark = pytest.mark.browser

NOTEBOOK_05 = "notebooks/05_interpolation_exploration.ipynb"
STATIC_NOTEBOOKS = [
    "notebooks/01_basic_gan.ipynb",
    "notebooks/02_dcgan.ipynb",
    "notebooks/03_conditional_gan.ipynb",
    "notebooks/04_acgan_wgan_gp_cifar10.ipynb",
]
README_SCREENSHOT = REPO / "images" / "jupyterlab_05_widgets.png"
WIDGET_ERRORS = re.compile(r"error displaying widget|model not found", re.IGNORECASE)
RUN_TIMEOUT_S = 300.0  # notebook 05 in smoke mode takes ~20 s on an idle 2-core CPU

# In-page helpers. They reach JupyterLab through window.jupyterapp (--expose-app-in-browser).
OPEN_JS = """async ([path, waitForKernel]) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    if (waitForKernel) await panel.sessionContext.ready;
    await panel.revealed;
    app.shell.activateById(panel.id);
    window.__panels = window.__panels || {};
    window.__panels[path] = panel;
    return panel.id;
}"""
CLOSE_JS = """async (path) => {
    const panel = window.__panels[path];
    await panel.sessionContext.ready;
    await panel.sessionContext.shutdown();  // a notebook that is only looked at needs no kernel
    panel.dispose();
}"""
STATE_JS = """(path) => {
    const panel = window.__panels[path];
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = panel.model.toJSON().cells;
    const busyPrompts = Array.from(panel.node.querySelectorAll('.jp-InputPrompt'))
        .filter(el => el.textContent.includes('*')).length;
    return {
        kernel: kernel ? kernel.status : 'none',
        busyPrompts,
        codeCells: cells.filter(c => c.cell_type === 'code').length,
        executed: cells.filter(c => c.cell_type === 'code' && c.execution_count !== null).length,
        cells: cells.length,
        renderedCells: panel.content.widgets.length,
        errors: cells.flatMap(c => (c.outputs || []).filter(o => o.output_type === 'error')
                                                      .map(o => o.ename + ': ' + o.evalue)),
    };
}"""
RUN_ALL_JS = """async (path) => {
    const app = window.jupyterapp;
    app.shell.activateById(window.__panels[path].id);
    await app.commands.execute('notebook:run-all-cells');
}"""
IMAGE_HASH_JS = """async (el) => {
    const img = el.tagName === 'IMG' ? el : el.querySelector('img');
    if (!img || !img.src) return null;
    const bytes = await (await fetch(img.src)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', bytes);
    return Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""
# Markdown pictures (e.g. ../images/05_*.png) and output PNGs alike: a wrong path shows alt text.
BROKEN_IMAGES_JS = """(path) => Array.from(window.__panels[path].node.querySelectorAll('.jp-Cell img'))
    .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.getAttribute('src') || img.alt)"""


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open(page, path: str, wait_for_kernel: bool):
    """Open ``path`` as a notebook in the page; returns its panel's locator."""
    panel_id = page.evaluate(OPEN_JS, [path, wait_for_kernel])
    panel = page.locator(f"[id='{panel_id}']")
    panel.locator(".jp-Cell").first.wait_for(state="visible")
    return panel


def _state(page, path: str) -> dict:
    return page.evaluate(STATE_JS, path)


def _run_all_and_wait(page, path: str) -> dict:
    """Run every cell and wait until the kernel has been idle with no queued cell for 1 s."""
    page.evaluate(RUN_ALL_JS, path)
    deadline, quiet_since, state = time.monotonic() + RUN_TIMEOUT_S, None, {}
    while time.monotonic() < deadline:
        state = _state(page, path)
        if state["kernel"] == "idle" and state["busyPrompts"] == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                return state
        else:
            quiet_since = None
        time.sleep(0.25)
    raise AssertionError(f"{path} did not finish within {RUN_TIMEOUT_S:.0f} s; last state {state}")


def _image_hash(explorer) -> str:
    digest = explorer.locator(".gan-image").first.evaluate(IMAGE_HASH_JS)
    assert digest, "the gan-image has no picture"
    return digest


def _wait_for_new_image(explorer, old: str, what: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = _image_hash(explorer)
        if new != old:
            return new
        time.sleep(0.2)
    raise AssertionError(f"moving {what} did not change the picture within {timeout:.0f} s")


def _slider(explorer, description: str):
    """The ipywidgets slider whose description label reads exactly ``description``."""
    label = explorer.page.get_by_text(description, exact=True)
    slider = explorer.locator(".widget-slider", has=label).first
    slider.wait_for(state="visible")
    return slider


def _press(slider, keys: list[str]) -> str:
    """Press ``keys`` on the slider's handle (noUiSlider's own keyboard support); return its readout."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for key in keys:
        handle.press(key)
    return slider.locator(".widget-readout").first.inner_text()


def _move(explorer, description: str, keys: list[str]) -> None:
    """Move one slider and require both its readout and the explorer's picture to change."""
    slider = _slider(explorer, description)
    before_readout = slider.locator(".widget-readout").first.inner_text()
    before = _image_hash(explorer)
    after_readout = _press(slider, keys)
    assert after_readout != before_readout, f"{description!r} readout stayed {before_readout!r}"
    _wait_for_new_image(explorer, before, f"{description!r} from {before_readout} to {after_readout}")


def _assert_no_widget_errors(page, panel, path: str) -> None:
    text = panel.inner_text()
    match = WIDGET_ERRORS.search(text)
    assert match is None, f"{path} shows {match.group(0)!r} in the page"
    state = _state(page, path)
    assert state["errors"] == [], f"{path} has error outputs: {state['errors']}"
    dialogs = page.locator(".jp-Dialog")
    assert dialogs.count() == 0, f"JupyterLab shows a dialog: {dialogs.first.inner_text()!r}"


def _screenshot(page, target, path: Path) -> None:
    target.scroll_into_view_if_needed()
    page.screenshot(path=str(path))


@pytest.fixture(scope="module")
def repo_notebooks_unchanged():
    """Running notebooks in the page must never write the committed .ipynb files."""
    paths = [REPO / p for p in [NOTEBOOK_05, *STATIC_NOTEBOOKS] if (REPO / p).exists()]
    before = {p: _file_digest(p) for p in paths}
    yield
    changed = [str(p.relative_to(REPO)) for p in paths if _file_digest(p) != before[p]]
    assert not changed, f"the browser test modified {changed}"


def test_notebook_05_widgets_respond(lab_page, artifacts_dir, timeline, repo_notebooks_unchanged):
    """Run notebook 05 in JupyterLab; every explorer's controls redraw its picture."""
    if not (REPO / NOTEBOOK_05).exists():
        pytest.fail(f"{NOTEBOOK_05} is missing", pytrace=False)
    page = lab_page
    panel = _open(page, NOTEBOOK_05, wait_for_kernel=True)
    timeline.mark("05 opened")
    state = _run_all_and_wait(page, NOTEBOOK_05)
    timeline.mark("05 ran all cells")
    assert state["errors"] == [], f"running {NOTEBOOK_05} raised: {state['errors']}"
    assert state["executed"] == state["codeCells"], f"not every code cell ran: {state}"

    # Each explorer appears twice: for the MNIST generator (sections 2-4) and the CIFAR-10 one (5).
    kinds = (".gan-class-interp", ".gan-noise-interp", ".gan-truncation")
    for kind in kinds:
        assert panel.locator(kind).count() == 2, f"expected an MNIST and a CIFAR-10 {kind} explorer"
    for k, dataset in enumerate(("mnist", "cifar10")):
        class_interp, noise_interp, truncation = (panel.locator(kind).nth(k) for kind in kinds)
        for explorer in (class_interp, noise_interp, truncation):
            explorer.wait_for(state="visible")
        if k == 0:
            _screenshot(page, class_interp, artifacts_dir / "05_after_run.png")
            _assert_no_widget_errors(page, panel, NOTEBOOK_05)

        # Order matters: at fraction 0 the end class and the lerp/slerp choice do not show,
        # so the fraction goes to the middle first and every later move must change the picture.
        _move(class_interp, "fraction", ["Home"] + ["ArrowRight"] * 10)
        _move(class_interp, "start class", ["Home", "ArrowRight", "ArrowRight"])
        # The CIFAR-10 explorer starts at automobile -> truck (the last class): move it to the first.
        _move(class_interp, "end class", ["End"] if k == 0 else ["Home"])
        _screenshot(page, class_interp, artifacts_dir / f"05_{dataset}_class_interp.png")
        timeline.mark(f"05 {dataset} class interpolation sliders checked")

        _move(noise_interp, "fraction", ["Home"] + ["ArrowRight"] * 10)
        method = noise_interp.locator(".widget-toggle-buttons").first
        before = _image_hash(noise_interp)
        off = method.locator("button:not(.mod-active)").first
        off_name = off.inner_text()
        off.click()
        _wait_for_new_image(noise_interp, before, f"method to {off_name!r}")
        _screenshot(page, noise_interp, artifacts_dir / f"05_{dataset}_noise_interp.png")
        timeline.mark(f"05 {dataset} noise interpolation controls checked")

        _move(truncation, "truncation", ["Home"] + ["ArrowRight"] * 4)
        _move(truncation, "truncation", ["End"])
        _screenshot(page, truncation, artifacts_dir / f"05_{dataset}_truncation.png")
        timeline.mark(f"05 {dataset} truncation slider checked")

    _assert_no_widget_errors(page, panel, NOTEBOOK_05)
    broken = page.evaluate(BROKEN_IMAGES_JS, NOTEBOOK_05)
    assert broken == [], f"{NOTEBOOK_05} shows broken images (paths are relative to notebooks/): {broken}"
    if os.environ.get("GAN_COURSE_README_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts_dir / "05_mnist_class_interp.png", README_SCREENSHOT)


@pytest.mark.parametrize("path", STATIC_NOTEBOOKS)
def test_notebook_renders(lab_page, artifacts_dir, timeline, repo_notebooks_unchanged, path):
    """Open a committed notebook without running it: all cells render, no error shows."""
    if not (REPO / path).exists():
        pytest.fail(f"{path} is missing", pytrace=False)
    page = lab_page
    panel = _open(page, path, wait_for_kernel=False)
    cells = json.loads((REPO / path).read_text())["cells"]
    page.wait_for_function(
        "([path, n]) => window.__panels[path].content.widgets.length === n", arg=[path, len(cells)])
    panel.locator(".jp-Cell").nth(len(cells) - 1).wait_for(state="attached")
    page.wait_for_function(
        "(path) => Array.from(window.__panels[path].node.querySelectorAll('.jp-Cell img'))"
        ".every(img => img.complete)", arg=path)
    broken = page.evaluate(BROKEN_IMAGES_JS, path)
    assert broken == [], f"{path} shows broken images (paths are relative to notebooks/): {broken}"
    _assert_no_widget_errors(page, panel, path)
    page.screenshot(path=str(artifacts_dir / f"{Path(path).stem}.png"))
    page.evaluate(CLOSE_JS, path)
    timeline.mark(f"{Path(path).stem} rendered")
