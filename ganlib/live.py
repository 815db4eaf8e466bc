"""A live view of training: one figure, redrawn in place after each log of :func:`ganlib.train.fit`.

``LivePlot`` is ``fit``'s ``on_log`` callback. On its first call it shows one picture in the
notebook (an IPython display with an id); every later call replaces that picture's content
(``update_display_data``), so the cell's output holds one figure, never one per log. In
JupyterLab the learner watches it change; papermill and nbval keep the last state as the
cell's single output.

The picture has up to three panels: the loss curves of ``gan.history``, the quality measure
(when a callable computes one, at most every ``quality_every`` logs) and the samples of a
fixed noise batch. It is drawn on a matplotlib ``Figure`` that pyplot never sees (no figure
is left open, nothing is shown twice at the end of the cell), and a redraw is skipped while
the time spent drawing would exceed ``max_overhead`` of the run's wall time; ``close()``
draws the final state.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ganlib.data.scaling import Scale
from ganlib.sampling import sample
from ganlib.viz import image_grid

QualityFn = Callable[[Any], Mapping[str, float]]


def _display(bundle: dict[str, str]) -> Any | None:
    """Show a raw MIME bundle with a display id; the handle, or None outside an IPython kernel."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):  # a plain script or terminal IPython: nothing to update
        return None
    return display(bundle, raw=True, display_id=True)


class LivePlot:
    """``fit``'s ``on_log`` callback that keeps one figure of the run up to date.

    Example::

        live = LivePlot(fixed_z, scale="unit", quality=score, quality_every=10)
        fit(gan, batches, num_steps, on_log=live)
        live.close()

    Args:
        z: fixed noise ``(n, z_dim)`` whose samples the figure shows (the same images each
            time, so the change is the generator's); None for no sample panel.
        labels: classes ``(n,)`` for a conditional generator, else None.
        sample_fn: instead of ``z``/``labels``: ``sample_fn(gan)`` returns images ``(n, C, H, W)``
            (for generators with their own input layout).
        scale: the generator's output range, ``"tanh"`` ([-1, 1]) or ``"unit"`` ([0, 1]).
        nrow: images per row of the sample grid.
        quality: ``quality(gan)`` returns numbers such as ``{"fd": 4.1, "recall": 0.8}``;
            called after every ``quality_every``-th log only (it may be slow).
        quality_every: logs between two calls of ``quality``, a positive int.
        quality_keys: which of ``quality``'s entries to plot; by default every float value
            (a sample count, an int, is left out). Entries whose values all lie in [0, 1]
            share a right-hand axis, the others (a distance) the left one.
        title: printed above the figure, followed by the step and the training seconds.
        max_overhead: the largest share of the run's wall time spent drawing; a log that
            comes sooner is drawn later (at the latest by ``close()``).

    Attributes:
        quality_history: ``{"step": [...], name: [...]}`` of every quality call.
        draws: how many times the figure was drawn.
        draw_seconds: wall seconds spent drawing.
    """

    def __init__(self, z: torch.Tensor | None = None, labels: torch.Tensor | None = None, *,
                 sample_fn: Callable[[Any], torch.Tensor] | None = None, scale: Scale = "tanh", nrow: int = 16,
                 quality: QualityFn | None = None, quality_every: int = 10,
                 quality_keys: Sequence[str] | None = None, title: str = "training",
                 max_overhead: float = 0.02) -> None:
        if z is not None and sample_fn is not None:
            raise ValueError("Pass either z (fixed noise) or sample_fn, not both.")
        if z is not None and (not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] == 0):
            raise ValueError(f"z must be fixed noise of shape (n, z_dim), got {getattr(z, 'shape', type(z))}.")
        if labels is not None and z is None:
            raise ValueError("labels go with z (one class per noise row); pass z too.")
        if isinstance(quality_every, bool) or not isinstance(quality_every, int) or quality_every < 1:
            raise ValueError(f"quality_every must be a positive int (logs between quality calls), "
                             f"got {quality_every!r}.")
        if quality is not None and not callable(quality):
            raise ValueError(f"quality must be a callable quality(gan) -> dict of numbers, "
                             f"got {type(quality).__name__}.")
        if not 0 < max_overhead <= 1:
            raise ValueError(f"max_overhead must be a share of the run's time in (0, 1], got {max_overhead!r}.")
        self.z, self.labels, self.sample_fn = z, labels, sample_fn
        self.scale, self.nrow, self.title = scale, nrow, title
        self.quality, self.quality_every, self.quality_keys = quality, quality_every, quality_keys
        self.max_overhead = max_overhead
        self.quality_history: dict[str, list[float]] = {"step": []}
        self.draws, self.draw_seconds, self.logs = 0, 0.0, 0
        self._gan: Any = None
        self._pending = False  # a log not drawn yet
        self._next_draw_at = 0.0  # time.perf_counter() from which the next draw is allowed
        self._handle: Any = None
        self._no_display = False  # no IPython kernel to show the figure in: skip drawing
        self._figure: Figure | None = None
        self._artists: dict[str, Any] = {}

    # -- fit's callback ------------------------------------------------------------------
    def __call__(self, gan: Any) -> None:
        """Record this log (and the quality, at its cadence); redraw when the time budget allows.

        Args:
            gan: the training state that ``fit`` passes (``gan.history``, ``gan.step``,
                ``gan.seconds``, ``gan.sampler``).

        Returns:
            None: the live plot never stops training.
        """
        self._gan = gan
        self.logs += 1
        if self.quality is not None and self.logs % self.quality_every == 0:
            self._record_quality(gan)
        self._pending = True
        if time.perf_counter() >= self._next_draw_at:
            self._draw_and_show()

    def close(self) -> None:
        """Draw the last log if it was skipped, then release the figure (call after ``fit``)."""
        if self._pending and self._gan is not None:
            self._draw_and_show()
        self._figure, self._artists = None, {}

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- drawing -------------------------------------------------------------------------
    def _record_quality(self, gan: Any) -> None:
        values = self.quality(gan)
        if not isinstance(values, Mapping):
            raise ValueError(f"quality(gan) must return a dict of numbers, got {type(values).__name__}.")
        keys = self.quality_keys or [k for k, v in values.items() if isinstance(v, float)]
        missing = [k for k in keys if k not in values]
        if missing:
            raise ValueError(f"quality(gan) returned no {missing}; it returned {sorted(values)}.")
        self.quality_history["step"].append(gan.step)
        done = len(self.quality_history["step"])
        for key in keys:
            column = self.quality_history.setdefault(key, [])
            column.extend([math.nan] * (done - 1 - len(column)))  # a key that appeared late
            column.append(float(values[key]))

    def _draw_and_show(self) -> None:
        if self._no_display:
            self._pending = False
            return
        started = time.perf_counter()
        png = self.render_png()
        bundle = {"image/png": base64.b64encode(png).decode("ascii"),
                  "text/plain": f"<live training plot: step {self._gan.step}>"}
        if self._handle is None:
            self._handle = _display(bundle)
            self._no_display = self._handle is None
            if self._no_display:
                self._pending = False
                return
        else:
            self._handle.update(bundle, raw=True)
        self._pending = False
        self.draws += 1
        finished = time.perf_counter()
        self.draw_seconds += finished - started
        self._next_draw_at = finished + (finished - started) * (1 / self.max_overhead - 1)

    def render_png(self) -> bytes:
        """The figure of the latest log as PNG bytes (drawn on the one figure this plot keeps)."""
        if self._gan is None:
            raise ValueError("Nothing to draw yet: pass the LivePlot to fit(..., on_log=live) first.")
        gan = self._gan
        figure = self._figure or self._make_figure()
        self._update_losses(gan.history)
        if "quality" in self._artists:
            self._update_quality()
        if "samples" in self._artists:
            self._artists["samples"].set_data(self._sample_grid(gan).numpy())
        figure.suptitle(f"{self.title}: step {gan.step}, {gan.seconds:.0f} s of training", fontsize=10)
        buffer = io.BytesIO()
        figure.canvas.print_png(buffer)
        return buffer.getvalue()

    def _make_figure(self) -> Figure:
        panels = ["losses"] + (["quality"] if self.quality is not None else [])
        panels += ["samples"] if (self.z is not None or self.sample_fn is not None) else []
        widths = [1.0] * (len(panels) - 1) + ([1.6] if panels[-1] == "samples" else [1.0])
        # A fixed layout: a layout engine re-solved at every redraw would double its cost. The
        # bottom margin holds each panel's legend under its step axis (see _legend_below), two
        # entries a row, as many rows as the longer legend needs; the gaps between panels hold a
        # right-hand axis's ticks and label. In inches: title 0.55, axes 2.3, then the margin.
        curves = sum(1 for key in self._gan.history if key not in ("step", "seconds"))
        measures = len(self.quality_keys) if self.quality_keys else 3
        legend_rows = max(2, math.ceil(curves / 2), math.ceil(measures / 2) if self.quality else 0)
        bottom = 0.7 + 0.175 * legend_rows
        height = 0.55 + 2.3 + bottom
        figure = Figure(figsize=(4.4 * len(panels), height), dpi=80)
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, len(panels), width_ratios=widths, squeeze=False,
                               gridspec_kw=dict(left=0.22 / len(panels), right=1 - 0.2 / len(panels),
                                                bottom=bottom / height, top=1 - 0.55 / height, wspace=0.6))[0]
        self._artists = {"figure": figure}
        for name, ax in zip(panels, axes):
            self._artists[f"{name}_ax"] = ax
            if name == "samples":
                ax.set_axis_off()
                ax.set_title("fixed-noise samples", fontsize=9)
                self._artists["samples"] = ax.imshow(self._sample_grid(self._gan).numpy(), interpolation="nearest")
            else:
                ax.grid(alpha=0.3)
                ax.set_xlabel("step", fontsize=9)
                ax.set_ylabel("loss (mean over the log window)" if name == "losses" else "value", fontsize=9)
                ax.set_title(name, fontsize=9)
                self._artists[name] = {}
        self._figure = figure
        return figure

    def _sample_grid(self, gan: Any) -> torch.Tensor:
        if self.sample_fn is not None:
            images = self.sample_fn(gan)
        else:
            images = sample(gan.sampler, self.z, self.labels)
        return image_grid(images, nrow=self.nrow, scale=self.scale)

    def _update_losses(self, history: Mapping[str, Sequence[float]]) -> None:
        ax, lines = self._artists["losses_ax"], self._artists["losses"]
        steps = history.get("step", [])
        for key, values in history.items():
            if key in ("step", "seconds"):
                continue
            if key not in lines:
                # Accuracies (e.g. the ACGAN critic's acc_real / acc_fake) are not losses: own axis.
                target = ax
                if key.startswith("acc"):
                    if "losses_ax_right" not in self._artists:
                        self._artists["losses_ax_right"] = ax.twinx()
                        self._artists["losses_ax_right"].set_ylabel("accuracy (0 to 1)", fontsize=9)
                    target = self._artists["losses_ax_right"]
                (lines[key],) = target.plot([], [], label=key, linewidth=1.2, linestyle=":" if target is not ax
                                            else "-", color=f"C{len(lines)}")
                _legend_below(ax, list(lines.values()))
            lines[key].set_data(steps, values)
        for target in (ax, self._artists.get("losses_ax_right")):
            if target is not None:
                target.relim()
                target.autoscale_view()

    def _update_quality(self) -> None:
        ax, lines = self._artists["quality_ax"], self._artists["quality"]
        steps = self.quality_history["step"]
        for key, values in self.quality_history.items():
            if key == "step":
                continue
            fraction = all(0.0 <= v <= 1.0 for v in values if not math.isnan(v))
            if key not in lines:
                if fraction and "quality_ax_right" not in self._artists:
                    self._artists["quality_ax_right"] = ax.twinx()
                target = self._artists["quality_ax_right"] if fraction else ax
                (lines[key],) = target.plot([], [], marker="o", markersize=3, linewidth=1.2,
                                            color=f"C{len(lines) + 2}")
                # Each axis names the measures drawn on it (FD on the left, shares on the right).
                names = [k for k, line in lines.items() if line.axes is target]
                target.set_ylabel(", ".join(names) + (" (0 to 1)" if fraction else ""), fontsize=9)
            lines[key].set_data(steps, values)
            latest = next((v for v in reversed(values) if not math.isnan(v)), math.nan)
            lines[key].set_label(f"{key} {latest:.3g}")
        for target in (ax, self._artists.get("quality_ax_right")):
            if target is not None:
                target.relim()
                target.autoscale_view()
        _legend_below(ax, list(lines.values()))


def _legend_below(ax: Any, handles: list[Any]) -> None:
    """The legend of ``handles`` under ``ax``'s step axis, outside the axes, so no curve is hidden."""
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, handlelength=1.8, columnspacing=1.2)
