"""The live training plot in a real JupyterLab: the one figure changes while a short run trains.

The test writes a small notebook into ``artifacts/browser/`` (git-ignored), opens it in the
page, runs it and, while the kernel is busy, reads the picture of the training cell's output
again and again. The run trains a tiny GAN for 24 logs with ``LivePlot`` as ``on_log``; the
picture must take several different contents during the run, and the cell must end with one
picture, not one per log.
"""

from __future__ import annotations

import time

import nbformat
import pytest
from lab_harness import REPO

pytestmark = pytest.mark.browser

NOTEBOOK = "artifacts/browser/live_plot_check.ipynb"
RUN_TIMEOUT_S = 240.0
TRAIN_CELL = """\
import time
import torch
from ganlib.data import TensorBatches
from ganlib.live import LivePlot
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.train import fit, make_gan

torch.manual_seed(0)
gan = make_gan(MLPGenerator(z_dim=4, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=4, lr=1e-3)
batches = TensorBatches(torch.rand(64, 1, 28, 28), torch.arange(64) % 10, batch_size=16)
live = LivePlot(torch.randn(16, 4), scale="unit", nrow=8, max_overhead=1.0)

def on_log(gan):
    live(gan)
    time.sleep(0.5)  # a log every half second or so, as in a real run, so the page can watch

fit(gan, batches, 240, log_every=10, on_log=on_log, progress=False)
live.close()
print("draws:", live.draws)
"""
OPEN_JS = """async (path) => {
    const app = window.jupyterapp;
    const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    await panel.sessionContext.ready;
    await panel.revealed;
    app.shell.activateById(panel.id);
    window.__livePanel = panel;
    app.commands.execute('notebook:run-all-cells');  // not awaited: its promise ends with the run
    return panel.id;
}"""
STATE_JS = """() => {
    const hash = (text) => {  // 32-bit FNV-1a over the whole data URL: any change in the PNG shows
        let h = 0x811c9dc5;
        for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
        return h.toString(16) + ':' + text.length;
    };
    const panel = window.__livePanel;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = panel.model.toJSON().cells;
    const imgs = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output img'));
    return {
        kernel: kernel ? kernel.status : 'none',
        busy: Array.from(panel.node.querySelectorAll('.jp-InputPrompt')).some(el => el.textContent.includes('*')),
        executed: cells.filter(c => c.cell_type === 'code' && c.execution_count !== null).length,
        images: imgs.length,
        src: imgs.length ? hash(imgs[0].src) : null,
        errors: cells.flatMap(c => (c.outputs || []).filter(o => o.output_type === 'error')
                                                      .map(o => o.ename + ': ' + o.evalue)),
        text: cells.flatMap(c => (c.outputs || []).filter(o => o.output_type === 'stream').map(o => o.text)).join(''),
    };
}"""
CLOSE_JS = """async () => {
    const panel = window.__livePanel;
    await panel.sessionContext.shutdown();
    panel.dispose();
}"""


@pytest.fixture()
def live_notebook():
    """The test's notebook, written for the run and removed after it."""
    path = REPO / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAIN_CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)
    yield NOTEBOOK
    path.unlink(missing_ok=True)


def test_live_plot_changes_during_the_run(lab_page, artifacts_dir, timeline, live_notebook) -> None:
    page = lab_page
    page.evaluate(OPEN_JS, live_notebook)
    timeline.mark("live-plot notebook opened and started")
    seen_while_busy: list[str] = []
    deadline, state, idle_since = time.monotonic() + RUN_TIMEOUT_S, {}, None
    while time.monotonic() < deadline:
        state = page.evaluate(STATE_JS)
        if state["busy"] or state["kernel"] == "busy":
            idle_since = None
            if state["src"] and (not seen_while_busy or seen_while_busy[-1] != state["src"]):
                seen_while_busy.append(state["src"])
                if len(seen_while_busy) == 3:
                    page.screenshot(path=str(artifacts_dir / "live_plot_during_run.png"))
        elif state["executed"] == 1:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 1.0:
                break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the live-plot notebook did not finish within {RUN_TIMEOUT_S:.0f} s: {state}")
    timeline.mark("live-plot run finished")
    page.screenshot(path=str(artifacts_dir / "live_plot_after_run.png"))
    page.evaluate(CLOSE_JS)
    assert state["errors"] == [], f"the run raised: {state['errors']}"
    assert "draws: 24" in state["text"], f"expected 24 draws, the cell printed {state['text']!r}"
    assert len(set(seen_while_busy)) >= 3, (
        f"the figure took {len(set(seen_while_busy))} different pictures while training, expected it to change")
    assert state["images"] == 1, f"the cell shows {state['images']} pictures at the end; the live plot keeps one"
