"""ganlib.live.LivePlot: one display updated in place, no figure left open, quality at its cadence."""

from __future__ import annotations

import base64
import json

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from nbclient import NotebookClient

import ganlib.live as live_module
from ganlib.data import TensorBatches
from ganlib.live import LivePlot
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.train import fit, make_gan

Z_DIM = 4
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_run():
    """A tiny MLP GAN on random 28x28 images and its batches (a step takes milliseconds)."""
    torch.manual_seed(0)
    gan = make_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=Z_DIM,
                   lr=1e-3, seed=0)
    x = torch.rand(64, 1, 28, 28)
    return gan, TensorBatches(x, torch.arange(64) % 10, batch_size=16, seed=0)


class FakeHandle:
    """Stands in for IPython's DisplayHandle: records the shown bundle and every update."""

    def __init__(self, bundle: dict) -> None:
        self.bundles = [bundle]

    def update(self, bundle: dict, raw: bool = False) -> None:
        assert raw, "updates must send the raw MIME bundle"
        self.bundles.append(bundle)


@pytest.fixture()
def shown(monkeypatch) -> list[FakeHandle]:
    """Replaces the kernel display: each new display appends a FakeHandle."""
    handles: list[FakeHandle] = []

    def fake_display(bundle: dict) -> FakeHandle:
        handles.append(FakeHandle(bundle))
        return handles[-1]

    monkeypatch.setattr(live_module, "_display", fake_display)
    return handles


def _png(bundle: dict) -> bytes:
    data = base64.b64decode(bundle["image/png"])
    assert data.startswith(PNG_MAGIC)
    return data


def test_one_display_updated_in_place_after_every_log(shown) -> None:
    gan, batches = tiny_run()
    live = LivePlot(torch.randn(8, Z_DIM), scale="unit", nrow=4, max_overhead=1.0)  # 1.0: draw every log
    fit(gan, batches, 50, log_every=10, on_log=live, progress=False)
    live.close()
    assert len(shown) == 1, "the plot must be displayed once and then updated, not displayed per log"
    bundles = shown[0].bundles
    assert len(bundles) == 5 and live.draws == 5
    pictures = [_png(b) for b in bundles]
    assert pictures[0] != pictures[-1], "the picture did not change while the GAN trained"
    assert bundles[-1]["text/plain"] == "<live training plot: step 50>"


def test_no_figure_is_left_open(shown) -> None:
    before = plt.get_fignums()
    figures = set()
    for _ in range(3):
        gan, batches = tiny_run()
        live = LivePlot(torch.randn(8, Z_DIM), scale="unit", quality=lambda g: {"fd": 1.0 / g.step},
                        quality_every=2, max_overhead=1.0)
        for _ in range(4):
            fit(gan, batches, gan.step + 10, log_every=10, on_log=live, progress=False)
            figures.add(id(live._figure))
            assert plt.get_fignums() == before, "LivePlot opened a pyplot figure"
        live.close()
    assert len(figures) == 3, "each LivePlot must draw on one figure for all its logs"
    assert plt.get_fignums() == before


def test_quality_is_called_every_n_logs(shown) -> None:
    calls = []

    def quality(gan) -> dict:
        calls.append(gan.step)
        return {"fd": 10.0 / gan.step, "recall": 0.5, "num_samples": 100}

    gan, batches = tiny_run()
    live = LivePlot(torch.randn(8, Z_DIM), scale="unit", quality=quality, quality_every=3)
    fit(gan, batches, 100, log_every=10, on_log=live, progress=False)
    live.close()
    assert calls == [30, 60, 90]
    assert live.quality_history == {"step": [30, 60, 90], "fd": [10 / 30, 10 / 60, 10 / 90], "recall": [0.5] * 3}


def test_redraws_are_throttled_and_close_draws_the_last_log(shown) -> None:
    gan, batches = tiny_run()
    live = LivePlot(torch.randn(8, Z_DIM), scale="unit", max_overhead=0.01)
    fit(gan, batches, 40, log_every=1, on_log=live, progress=False)  # 40 logs a few ms apart
    assert live.logs == 40 and 1 <= live.draws < 40, f"{live.draws} draws for {live.logs} fast logs"
    live.close()
    assert shown[0].bundles[-1]["text/plain"] == "<live training plot: step 40>", "close() must draw the last log"


def test_without_a_kernel_nothing_is_drawn_after_the_first_try(monkeypatch) -> None:
    monkeypatch.setattr(live_module, "_display", lambda bundle: None)
    gan, batches = tiny_run()
    calls = []
    with LivePlot(torch.randn(8, Z_DIM), quality=lambda g: calls.append(g.step) or {"fd": 1.0},
                  quality_every=1, max_overhead=1.0) as live:
        fit(gan, batches, 30, log_every=10, on_log=live, progress=False)
    assert live.draws == 0 and calls == [10, 20, 30], "quality is still recorded without a display"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"quality_every": 0}, "quality_every must be a positive int"),
    ({"quality": 3}, "quality must be a callable"),
    ({"max_overhead": 0}, "max_overhead must be"),
    ({"labels": torch.zeros(8, dtype=torch.long)}, "labels go with z"),
    ({"z": torch.randn(8)}, "z must be fixed noise of shape (n, z_dim)"),
])
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LivePlot(**kwargs)


def test_a_quality_without_the_asked_keys_is_named(shown) -> None:
    gan, batches = tiny_run()
    live = LivePlot(quality=lambda g: {"fd": 1.0}, quality_every=1, quality_keys=["recall"])
    with pytest.raises(ValueError, match=r"returned no \['recall'\]"):
        fit(gan, batches, 10, log_every=10, on_log=live, progress=False)


def test_a_notebook_run_keeps_one_final_figure(tmp_path) -> None:
    """Executed as papermill does (nbclient, no viewer): the cell ends with one picture, the last log's."""
    code = (
        "import torch\n"
        "from ganlib.data import TensorBatches\nfrom ganlib.live import LivePlot\n"
        "from ganlib.models import MLPDiscriminator, MLPGenerator\nfrom ganlib.train import fit, make_gan\n"
        "torch.manual_seed(0)\n"
        f"gan = make_gan(MLPGenerator(z_dim={Z_DIM}, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim={Z_DIM})\n"
        "batches = TensorBatches(torch.rand(64, 1, 28, 28), torch.arange(64) % 10, batch_size=16)\n"
        f"live = LivePlot(torch.randn(8, {Z_DIM}), scale='unit', max_overhead=1.0)\n"
        "fit(gan, batches, 60, log_every=10, on_log=live, progress=False)\n"
        "live.close()\n"
        "print(live.draws)\n"
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = notebook.cells[0].outputs
    pictures = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(pictures) == 1, f"expected one figure, got {json.dumps([o.output_type for o in outputs])}"
    assert pictures[0].data["text/plain"] == "<live training plot: step 60>"
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert printed.strip() == "6", "the notebook run should have drawn every one of its 6 logs"
