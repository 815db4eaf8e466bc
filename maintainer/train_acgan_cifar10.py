"""Train ACGAN with the WGAN-GP loss on CIFAR-10 (the generator of notebook 04), on a CPU or a GPU.

Each step is one critic update (and every ``--n-critic``-th one generator update) of
:func:`ganlib.acgan_training.acgan_step`: the course's loss (Wasserstein critic, gradient
penalty lambda 10 with one mixing weight per sample, class losses on real and fake images,
the class one-hot in the first 10 noise entries, Adam with beta1 = 0). The CPU levers are
options: narrower layers at high resolution (``--g-width/--d-width`` take four channel
counts, at 4, 8, 16 and 32 pixels), a lazy penalty (``--gp-every``), bfloat16 autocast,
an EMA of the generator, the critic started from the part-1 classifier (``--init-critic``),
Adam's rate lowered linearly to 0 over the last part of the budget (``--lr-decay-from``),
the critic's class head trained on real images only (``--d-fake-class-weight 0``), MSGAN's
mode-seeking term in the generator's loss against the loss of variety within a class (``--mode-seeking``).

A long run spans several sessions: ``fit`` writes an atomic checkpoint every few minutes,
``--max-minutes`` or a file ``<out>/STOP`` ends a session cleanly, and ``--resume`` continues
exactly (it refuses other settings). Along the way the run keeps, in ``<out>``:

- ``curve.json``: per evaluation (every ``--eval-minutes`` of training), the steps, training /
  wall / CPU seconds, the evaluator's class accuracy of conditional samples and their
  Frechet distance in evaluator features;
- ``snapshots/step_<N>.pt``: the generator (float16) at each evaluation, so that the curve
  can be scored again with another evaluator (``maintainer/ship_acgan_cifar10.py --rescore``);
- ``filmstrip/``: the fixed 10x10 grid (one class per column) after the training hours of
  ``--filmstrip-hours`` (CPU-hours with ``--cpu-hours``); ``grids/latest.png`` is the newest grid;
- at the end (``--hours`` of training, ``--cpu-hours`` of CPU time, or ``--steps``): ``acgan_cifar10.pt`` (the EMA
  generator with ``--ema``) and ``metrics.json``.

With ``--ema`` every evaluation, snapshot, filmstrip frame and the export use a copy of the
averaged generator whose BatchNorm statistics were measured again through the averaged
weights (``ganlib.sampling.recalibrate_batchnorm``): the averaged running statistics lag
behind the averaged weights.

    python maintainer/train_acgan_cifar10.py --out runs/acgan_cifar10 --hours 8

A run whose sessions use different thread counts (one thread beside another job, two when the
machine is free) is better budgeted in CPU time: ``--cpu-hours 16`` is 8 hours of a 2-core
machine however the threads were spread.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from torchvision.utils import save_image

from ganlib.acgan_training import LAMBDA_GP, acgan_step, calibrated_sampler, fixed_grid_noise, make_acgan
from ganlib.checkpoints import load_checkpoint, load_model_state, save_checkpoint, write_json_atomic
from ganlib.data import TensorBatches, to_unit_range
from ganlib.data.cifar10 import load_cifar10
from ganlib.metrics import load_evaluator
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.pretrained import load_pretrained
from ganlib.runs import RUNS
from ganlib.sampling import sample
from ganlib.train import fit, restore_training
from ganlib.utils import count_parameters, fast_autocast_dtype, get_device, seed_everything

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.schedule import decayed_lr, set_lr  # noqa: E402
from maintainer.scoring import ACGANScorer  # noqa: E402
from maintainer.shipping import export_weights  # noqa: E402

# Settings that define the run: a resumed run must use the same ones.
RECIPE_KEYS = ("batch_size", "lr", "lr_decay_from", "lambda_gp", "gp_every", "n_critic", "ema", "no_flip", "g_width",
               "d_width", "bf16", "init_critic", "limit", "seed", "d_fake_class_weight",
               "mode_seeking")


def widths(text: str) -> int | list[int]:
    """``"96"`` -> 96; ``"196,196,96,48"`` -> channels at 4, 8, 16 and 32 pixels."""
    parts = [int(p) for p in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def run_defaults(name: str) -> dict:
    """The command-line defaults that train the named ACGAN run of ``ganlib.runs`` (its networks, step, Adam, EMA)."""
    run = RUNS[name]
    keywords = run.step.keywords
    return {"batch_size": run.batch_size, "lr": run.lr, "ema": run.ema_decay,
            "lambda_gp": keywords.get("lambda_gp", LAMBDA_GP), "gp_every": keywords.get("gp_every", 1),
            "n_critic": keywords.get("n_critic", 1), "d_fake_class_weight": keywords.get("d_fake_class_weight", 1.0),
            "mode_seeking": keywords.get("mode_seeking", 0.0),
            "no_flip": not keywords.get("flip", False), "g_width": run.networks.generator_args["width"],
            "d_width": run.networks.discriminator_args["width"]}


ACGAN_RUNS = sorted(name for name, run in RUNS.items() if getattr(run.step, "func", None) is acgan_step)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", choices=ACGAN_RUNS, default=None,
                   help="take the settings below from this named run of ganlib.runs (explicit options still win)")
    p.add_argument("--out", default="runs/acgan_cifar10")
    p.add_argument("--device", default=None, help="cuda / mps / cpu (default: best available)")
    p.add_argument("--hours", type=float, default=8.0, help="training hours in total, over all sessions")
    p.add_argument("--cpu-hours", type=float, default=None,
                   help="budget in CPU-hours instead (all threads, evaluations included; 16 = 8 hours of a "
                        "2-core machine); --filmstrip-hours then counts CPU-hours too")
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps instead (smoke runs)")
    p.add_argument("--max-minutes", type=float, default=None, help="end this session after this wall time")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-decay-from", type=float, default=None,
                   help="from this fraction of the budget on, lower Adam's rate linearly to 0 at its end "
                        "(as the WGAN-GP paper's CIFAR-10 runs do over the whole run); default: constant")
    p.add_argument("--lambda-gp", type=float, default=10.0)
    p.add_argument("--gp-every", type=int, default=1, help="lazy penalty: every k critic steps, weighted by k")
    p.add_argument("--n-critic", type=int, default=1, help="critic steps per generator step")
    p.add_argument("--d-fake-class-weight", type=float, default=1.0,
                   help="weight of the critic's class loss on fakes (1: the course's loss; 0: its class head "
                        "learns from real images only)")
    p.add_argument("--mode-seeking", type=float, default=0.0,
                   help="weight of MSGAN's mode-seeking term in the generator's loss (0: the course's loss)")
    p.add_argument("--ema", type=float, default=None, help="EMA decay of the generator, e.g. 0.999")
    p.add_argument("--no-flip", action="store_true", help="do not mirror real images")
    p.add_argument("--g-width", type=widths, default=196, help="one int, or 4 ints: channels at 4,8,16,32 px")
    p.add_argument("--d-width", type=widths, default=196, help="one int, or 4 ints: channels at 4,8,16,32 px")
    p.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                   help="bfloat16 autocast (auto: where the device computes it natively)")
    p.add_argument("--init-critic", default=None,
                   help="start the critic from a classifier: 'pretrained' (cifar10_critic_classifier) or a .pt file")
    p.add_argument("--eval-minutes", type=float, default=15.0, help="training minutes between evaluations")
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--filmstrip-hours", default="0.25,1,2,4,8")
    p.add_argument("--log-every", type=int, default=25, help="steps between logs (and STOP/time checks)")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    p.add_argument("--fp16", action="store_true", help="export the generator in float16")
    p.add_argument("--limit", type=int, default=None, help="class-balanced subset (smoke runs)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0)
    named, _ = p.parse_known_args(argv)
    if named.run is not None:
        p.set_defaults(**run_defaults(named.run))
    args = p.parse_args(argv)
    if args.lr_decay_from is not None and not 0.0 <= args.lr_decay_from < 1.0:
        p.error(f"--lr-decay-from must be a fraction of the budget in [0, 1), got {args.lr_decay_from}")
    return args


def recipe(args: argparse.Namespace) -> dict:
    return {key: getattr(args, key) for key in RECIPE_KEYS}


def check_resume(out: Path, args: argparse.Namespace) -> None:
    """Refuse to mix runs: a fresh start into a used folder, or a resume with other settings."""
    config = out / "run_config.json"
    if not args.resume:
        if (out / "checkpoint.pt").exists():
            raise SystemExit(f"{out}/checkpoint.pt exists: pass --resume to continue it, or choose another --out.")
        config.write_text(json.dumps(recipe(args), indent=2))
        return
    if not (out / "checkpoint.pt").exists():
        raise SystemExit(f"--resume: no {out}/checkpoint.pt to continue; start without --resume.")
    saved = json.loads(config.read_text())
    differ = {k: (saved.get(k), v) for k, v in recipe(args).items() if saved.get(k) != v}
    if differ:
        raise SystemExit(f"--resume with other settings than the run was started with (saved, given): {differ}. "
                         "Pass the original settings, or start a new run in another --out.")


def init_critic(D: torch.nn.Module, source: str) -> None:
    """Copy a trained classifier's weights (same architecture) into the critic."""
    if source == "pretrained":
        state = load_pretrained("cifar10_critic_classifier", device="cpu").state_dict()
    else:
        state = load_checkpoint(source)
        state = state.get("model", state)  # a classifier checkpoint keeps its weights under "model"
    load_model_state(D, state, f"classifier {source}")


class Progress:
    """Evaluations, filmstrip frames and CPU seconds of a run, kept in ``<out>`` across sessions."""

    def __init__(self, out: Path, args: argparse.Namespace, gan, device: torch.device) -> None:
        self.out, self.args, self.gan, self.device = out, args, gan, device
        self.curve_path = out / "curve.json"
        saved = json.loads(self.curve_path.read_text()) if self.curve_path.exists() else {"points": []}
        # A session may have ended after a log but before its checkpoint: drop what the checkpoint lacks.
        self.points = [p for p in saved["points"] if p["step"] <= gan.step]
        # The clock counts every CPU second spent, also on steps a resume repeats.
        self.clock_path = out / "clock.json"
        clock = json.loads(self.clock_path.read_text()) if self.clock_path.exists() else {"cpu_s": 0.0, "wall_s": 0.0}
        self.cpu_before, self.wall_before = clock["cpu_s"], clock["wall_s"]
        self.cpu_start, self.wall_start = time.process_time(), time.perf_counter()
        self._judged: tuple[int, torch.nn.Module] | None = None  # (step, generator), see sampler()
        self.frames = [float(h) for h in args.filmstrip_hours.split(",") if h]
        self.z_grid, _ = fixed_grid_noise(rows=10, device=device)
        real, _ = load_cifar10(args.data_root, train=False, scale="unit", limit=args.eval_samples)
        self.score = ACGANScorer(load_evaluator("cifar10", device), real.to(device), args.eval_samples)

    def cpu_s(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_start

    def wall_s(self) -> float:
        return self.wall_before + time.perf_counter() - self.wall_start

    def hours(self) -> float:
        """The run's clock: CPU-hours with ``--cpu-hours``, else hours of training."""
        return self.cpu_s() / 3600 if self.args.cpu_hours is not None else self.gan.seconds / 3600

    def budget(self) -> float:
        """The run's budget on its clock: ``--cpu-hours``, else ``--hours``."""
        return self.args.hours if self.args.cpu_hours is None else self.args.cpu_hours

    def budget_fraction(self) -> float:
        """How much of the run is done: steps of ``--steps``, else the clock's share of the budget."""
        if self.args.steps:
            return self.gan.step / self.args.steps
        return self.hours() / self.budget()

    def set_lr(self) -> float:
        """Adam's rate for the rest of this log window (``--lr-decay-from``), in both optimizers."""
        lr = decayed_lr(self.args.lr, self.budget_fraction(), self.args.lr_decay_from)
        set_lr(self.gan, lr, initial_lr=self.args.lr)
        return lr

    def out_of_budget(self) -> bool:
        """The clock has reached the budget (``--cpu-hours``, else ``--hours``); never with ``--steps``."""
        return not self.args.steps and self.hours() >= self.budget()

    def sampler(self) -> torch.nn.Module:
        """The generator to judge: with an EMA, a copy with recalibrated BatchNorm statistics.

        Made once per training step: an evaluation, a filmstrip frame and the export of the
        same step share it (recalibrating runs 40 batches through the generator).
        """
        if self._judged is None or self._judged[0] != self.gan.step:
            self._judged = (self.gan.step, calibrated_sampler(self.gan))
        return self._judged[1]

    def grid(self, path: Path, G: torch.nn.Module | None = None) -> None:
        save_image(to_unit_range(sample(G or self.gan.sampler, self.z_grid), "tanh"), path, nrow=10)

    def evaluate(self) -> dict:
        G = self.sampler()
        point = {"step": self.gan.step, "images": self.gan.step * self.args.batch_size,
                 "train_s": round(self.gan.seconds, 1), "wall_s": round(self.wall_s(), 1),
                 "cpu_s": round(self.cpu_s(), 1), "lr": self.gan.opt_g.param_groups[0]["lr"], **self.score(G)}
        self.points.append(point)
        save_checkpoint(export_weights(G), self.out / "snapshots" / f"step_{self.gan.step}.pt")
        write_json_atomic(self.curve_path, {"eval_samples": self.args.eval_samples, "points": self.points}, indent=1)
        return point

    def on_log(self, gan) -> bool:
        """Called by ``fit`` after every log: grids, frames, evaluations; True ends the session."""
        write_json_atomic(self.clock_path, {"cpu_s": round(self.cpu_s(), 1), "wall_s": round(self.wall_s(), 1)})
        self.set_lr()
        h = gan.history
        print(f"step {gan.step}  train {gan.seconds / 60:.1f} min  " +
              "  ".join(f"{k} {h[k][-1]:.3f}" for k in h if k not in ("step", "seconds")), flush=True)
        self.grid(self.out / "grids" / "latest.png")
        for hours in self.frames:
            frame = self.out / "filmstrip" / f"grid_{hours:g}h.png"
            if self.hours() >= hours and not frame.exists():
                self.grid(frame, self.sampler())
        last = self.points[-1]["train_s"] if self.points else 0.0
        if gan.seconds - last >= 60 * self.args.eval_minutes or not self.points:
            print("eval", json.dumps(self.evaluate()), flush=True)
        out_of_session = self.args.max_minutes is not None and \
            time.perf_counter() - self.wall_start >= 60 * self.args.max_minutes
        return out_of_session or self.out_of_budget() or (self.out / "STOP").exists()


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = get_device(args.device)
    seed_everything(args.seed)
    out = Path(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    for folder in ("grids", "filmstrip", "snapshots"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    check_resume(out, args)
    dtype = {"auto": fast_autocast_dtype(device), "on": torch.bfloat16, "off": None}[args.bf16]
    x, y = load_cifar10(args.data_root, train=True, device=device, limit=args.limit)
    batches = TensorBatches(x, y, batch_size=min(args.batch_size, x.shape[0]), seed=args.seed)
    G = ACGANGenerator(width=args.g_width).to(device)
    D = ACGANCritic(width=args.d_width).to(device)
    if args.init_critic and not args.resume:
        init_critic(D, args.init_critic)
    gan = make_acgan(G, D, lr=args.lr, ema_decay=args.ema, seed=args.seed)
    step_fn = functools.partial(acgan_step, lambda_gp=args.lambda_gp, flip=not args.no_flip,
                                gp_every=args.gp_every, n_critic=args.n_critic,
                                d_fake_class_weight=args.d_fake_class_weight, mode_seeking=args.mode_seeking,
                                autocast_dtype=dtype)
    print(f"G {count_parameters(G):,} / D {count_parameters(D):,} parameters on {device} "
          f"({torch.get_num_threads()} threads, autocast {dtype}); {x.shape[0]} images", flush=True)

    ckpt = out / "checkpoint.pt"
    if args.resume:  # restored here, not by fit(): Progress needs the step and seconds first
        restore_training(gan, load_checkpoint(ckpt), batches)
    progress = Progress(out, args, gan, device)
    progress.set_lr()
    log_every = min(args.log_every, args.steps or args.log_every)
    # Without --steps the budget (Progress.out_of_budget) ends the run at the first log past it.
    total = args.steps or 10**9
    fit(gan, batches, total, step_fn=step_fn, log_every=log_every, on_log=progress.on_log, checkpoint_path=ckpt,
        checkpoint_every=args.checkpoint_every - args.checkpoint_every % log_every or log_every,
        resume=False, progress=False)
    finished = gan.step >= total if args.steps else progress.out_of_budget()
    if not finished:
        print(f"session ended at step {gan.step} ({gan.seconds / 3600:.2f} h of training, "
              f"{progress.cpu_s() / 3600:.2f} CPU-hours); "
              f"continue with the same command and --resume", flush=True)
        return {"finished": False, "step": gan.step}

    if not progress.points or progress.points[-1]["step"] != gan.step:
        progress.evaluate()
    final = progress.sampler()
    progress.grid(out / "filmstrip" / f"grid_final_{progress.hours():.2f}h.png", final)
    save_checkpoint(export_weights(final, half=args.fp16), out / "acgan_cifar10.pt")
    metrics = {"finished": True, "steps": gan.step, "images": gan.step * args.batch_size,
               "epochs": gan.step * args.batch_size / x.shape[0],
               "training_seconds": round(gan.seconds, 1), "cpu_seconds": round(progress.cpu_s(), 1),
               "wall_seconds": round(progress.wall_s(), 1), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu",
               "threads": torch.get_num_threads(), "autocast": str(dtype), "run": args.run, "recipe": recipe(args),
               "g_kwargs": {"z_dim": G.z_dim, "width": args.g_width}, "d_kwargs": {"width": args.d_width},
               "clock": "hours of training" if args.cpu_hours is None else "CPU-hours", "curve": progress.points,
               "command": "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])]),
               "last_losses": {k: v[-1] for k, v in gan.history.items() if k not in ("step", "seconds")}}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps({k: metrics[k] for k in ("steps", "training_seconds", "cpu_seconds")}), flush=True)
    return metrics


if __name__ == "__main__":
    main()
