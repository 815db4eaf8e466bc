"""Each notebook's parameters: what values they accept, and what smoke mode shrinks.

A notebook opens with a papermill ``parameters`` cell; the cell after it makes one call::

    from ganlib.parameters import check_parameters
    check_parameters("01_basic_gan", globals())

which (1) refuses an invalid value with a message that names the parameter and its valid
values, (2) resolves ``smoke=None`` from ``$GAN_COURSE_SMOKE``, and (3) in smoke mode shrinks
only the parameters still at their notebook default: a value the learner passed
(``papermill -p batch_size 32``, or an edit of the cell) is kept, and a printed line says so.
A passed value equal to the default cannot be told apart from the default and is shrunk.
It also sets the notebook's derived settings (e.g. ``num_train``: all images, or 512 in smoke
mode). :data:`NOTEBOOKS` is the single list of every notebook's parameters; a test checks it
against the notebooks' ``parameters`` cells, and :func:`parameter_table` writes it as Markdown.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

SMOKE_ENV_VAR = "GAN_COURSE_SMOKE"
NO_SMOKE = "__no_smoke__"  # a parameter that smoke mode leaves alone


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter.

    Attributes:
        default: its value in the notebook's ``parameters`` cell.
        valid: the valid values, in words (used in the error message).
        check: True when a value is valid.
        doc: what it does, one line (for the README's list).
        smoke: its value in smoke mode when left at the default; ``NO_SMOKE`` to keep it.
    """

    default: Any
    valid: str
    check: Callable[[Any], bool]
    doc: str
    smoke: Any = NO_SMOKE


def _is_int(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _is_number(value: Any, low: float, *, inclusive: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return value >= low if inclusive else value > low


def _int(low: int, doc: str, default: int, smoke: Any = NO_SMOKE) -> Parameter:
    return Parameter(default, f"an int >= {low}", lambda v: _is_int(v, low), doc, smoke)


def _int_or_none(low: int, doc: str, default: int | None, smoke: Any = NO_SMOKE) -> Parameter:
    return Parameter(default, f"None or an int >= {low}", lambda v: v is None or _is_int(v, low), doc, smoke)


def _positive(doc: str, default: float, smoke: Any = NO_SMOKE) -> Parameter:
    return Parameter(default, "a number > 0", lambda v: _is_number(v, 0.0), doc, smoke)


def _flag(doc: str) -> Parameter:
    return Parameter(None, "None, True or False", lambda v: v is None or isinstance(v, bool), doc)


def _choice(options: tuple[str, ...], doc: str, default: str) -> Parameter:
    return Parameter(default, "one of " + ", ".join(map(repr, options)), lambda v: v in options, doc)


def _valid_device(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    import torch

    try:
        return torch.device(value).type in ("cuda", "mps", "cpu")
    except RuntimeError:
        return False


def _valid_betas(value: Any) -> bool:
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(_is_number(b, 0.0, inclusive=True) and b < 1 for b in value))


def _valid_ema(value: Any) -> bool:
    return value is None or (_is_number(value, 0.0) and value < 1)


def _valid_root(value: Any) -> bool:
    return value is None or (isinstance(value, (str, os.PathLike)) and not Path(value).is_file())


# Every notebook starts with these five.
_COMMON = {
    "smoke": _flag("tiny data and few steps (CI); None: $GAN_COURSE_SMOKE=1 decides"),
    # True on every device: the notebooks' text describes the shipped models, which a GPU run
    # compares with the learner's own as a CPU run does. False skips them (notebook 05 then
    # trains stand-ins for its two generators).
    "use_pretrained": Parameter(True, "True or False", lambda v: isinstance(v, bool),
                                "load the shipped weights (to compare with yours, and where training would take "
                                "hours); False: use only what trains here"),
    "data_root": Parameter(None, "None or a folder path (str)", _valid_root,
                           "folder that holds the data; None: $GANLIB_DATA, ./data or ../shared/data"),
    "device": Parameter(None, "None, 'cuda', 'mps', 'cpu' or e.g. 'cuda:1'", _valid_device,
                        "None: cuda, then mps, then cpu"),
    "seed": _int(0, "seed of every random draw", 0),
}
COMMON_PARAMETERS = tuple(_COMMON)
_EVAL = _int(10, "generated images scored by the metrics", 2000, smoke=200)

NOTEBOOKS: dict[str, dict[str, Parameter]] = {
    "01_basic_gan": _COMMON | {
        "train_minutes": _positive("training time of section 7 (evaluation not counted)", 3.0),
        "max_steps": _int_or_none(1, "or stop after this many steps (None: the time decides)", None, smoke=20),
        "run_name": _choice(("COURSE_MLP_GAN", "TEXTBOOK_MLP_GAN"),
                            "section 7's run (ganlib.runs): the course's or DeepLearning.AI's settings",
                            "COURSE_MLP_GAN"),
        "batch_size": _int(1, "batch of the hand-made steps of sections 5-6 and the exercises", 128, smoke=64),
        "z_dim": _int(1, "noise length", 64),
        "lr": _positive("learning rate of sections 5-6 and the exercises", 2e-4),
        "betas": Parameter((0.5, 0.999), "two numbers in [0, 1), e.g. (0.5, 0.999)", _valid_betas,
                           "Adam's betas of sections 5-6 and the exercises"),
        "log_every": _int(1, "average the losses over this many steps", 100, smoke=10),
        "num_eval_samples": _EVAL,
        "worked_answers": Parameter(False, "True or False", lambda v: isinstance(v, bool),
                                    "also run the worked answers of the closing exercises (several minutes)",
                                    smoke=True),
    },
    "02_dcgan": _COMMON | {
        "train_minutes": _positive("training time of section 5 (drawing and scoring not counted)", 2.5),
        "max_steps": _int_or_none(1, "or stop after this many steps (None: the time decides)", None, smoke=10),
        "run_name": _choice(("COURSE_DCGAN", "TEXTBOOK_DCGAN"),
                            "section 5's run (ganlib.runs): the course's DCGAN or DeepLearning.AI's settings",
                            "COURSE_DCGAN"),
        "exercise_steps": _int(1, "length of each exercise's training run", 800, smoke=10),
        "num_eval_samples": _EVAL,
        "worked_answers": Parameter(False, "True or False", lambda v: isinstance(v, bool),
                                    "run the worked answers below the exercises", smoke=True),
    },
    "03_conditional_gan": _COMMON | {
        "train_minutes": _positive("training time of the one-hot GAN of section 3", 3.0),
        "embedding_minutes": _positive("training time of the label-embedding GAN of section 4", 1.0),
        "self_conditioning_minutes": _positive("training time of section 7's self-conditioned GAN (k-means not "
                                               "counted)", 1.0, smoke=0.05),
        "max_steps": _int_or_none(1, "or stop each run after this many steps (None: the time decides)", None,
                                  smoke=10),
        "run_name": _choice(("COURSE_CGAN", "TEXTBOOK_CGAN"),
                            "section 3's run (ganlib.runs): the course's or DeepLearning.AI's settings",
                            "COURSE_CGAN"),
        "exercise_steps": _int(1, "length of each worked answer's training run (section 3's run)", 400, smoke=10),
        "z_dim": _int(1, "noise length", 64),
        "num_eval_samples": _EVAL,
        "worked_answers": Parameter(False, "True or False", lambda v: isinstance(v, bool),
                                    "run the worked answers of the exercises (a few minutes)", smoke=True),
    },
    "04_acgan_wgan_gp_cifar10": _COMMON | {
        "train_limit": _int_or_none(10, "training images, class-balanced (None: all 50,000)", None, smoke=200),
        "test_limit": _int_or_none(10, "test images (None: all 10,000)", None, smoke=100),
        "own_width": _int(1, "channels of your classifier critic (the shipped one: 196)", 32, smoke=8),
        "own_epochs": _int(1, "passes over the training images of your classifier run", 4, smoke=1),
        "own_batch_size": _int(1, "batch of your classifier run", 128, smoke=20),
        "own_lr": _positive("peak learning rate (AdamW, one-cycle) of your classifier run", 2e-3),
        "own_gan_minutes": _positive("training time of your ACGAN run", 5.0),
        "own_gan_max_steps": _int_or_none(1, "or stop your ACGAN run after this many steps", None, smoke=6),
        "own_gan_width": _int(1, "channels of your ACGAN's generator and critic", 32, smoke=8),
        "own_gan_gp_every": _int(1, "gradient penalty on every k-th critic step, weighted by k", 4),
        "own_gan_lr": _positive("Adam's learning rate of your ACGAN run", 3e-4),
        "own_gan_ema": Parameter(0.99, "None or a number in (0, 1)", _valid_ema,
                                 "moving average of the generator's weights (None: off)"),
        "own_gan_fake_class_weight": Parameter(0.0, "a number >= 0", lambda v: _is_number(v, 0.0, inclusive=True),
                                               "weight of the critic's class loss on fakes"),
        "own_gan_mode_seeking": Parameter(1.0, "a number >= 0", lambda v: _is_number(v, 0.0, inclusive=True),
                                          "weight of MSGAN's mode-seeking term in the generator's loss (0: off)"),
        "own_gan_batch_size": _int(1, "batch of your ACGAN run", 64, smoke=20),
        "exercise_steps": _int(1, "length of each exercise's ACGAN run", 300, smoke=4),
        "num_eval_samples": _EVAL,
        "worked_answers": Parameter(False, "True or False", lambda v: isinstance(v, bool),
                                    "run the worked answers of the exercises (each trains a few minutes)", smoke=True),
    },
    "05_interpolation_exploration": _COMMON | {
        "num_steps": _int(1, "steps when the notebook trains its own generator", 2000, smoke=20),
        "batch_size": _int(1, "batch of that run", 128, smoke=32),
        "cifar_walks": _int(1, "noise vectors per class walk judged by the CIFAR-10 evaluator", 64, smoke=8),
        "cifar_samples_per_class": _int(1, "CIFAR-10 samples per class and truncation value", 100, smoke=10),
        "cifar_fallback_steps": _int(1, "steps of a small ACGAN when acgan_cifar10 is not loaded", 300, smoke=4),
        "worked_answers": Parameter(False, "True or False", lambda v: isinstance(v, bool),
                                    "run the worked answers of the closing exercises", smoke=True),
    },
}

# Settings the notebooks derive from smoke mode (not parameters): normal value, smoke value.
DERIVED: dict[str, dict[str, tuple[Any, Any]]] = {
    "01_basic_gan": {"num_train": (None, 512), "num_test": (None, 500)},
    "02_dcgan": {},
    "03_conditional_gan": {},
    "04_acgan_wgan_gp_cifar10": {},
    "05_interpolation_exploration": {"num_train": (None, 512), "cifar_limit": (None, 200),
                                     "samples_per_class": (100, 10)},
}


def notebook_parameters(notebook: str) -> dict[str, Parameter]:
    """The parameters of one notebook, by its file name without ``.ipynb``.

    Raises:
        ValueError: an unknown notebook (the message lists the known ones).
    """
    key = Path(str(notebook)).stem
    if key not in NOTEBOOKS:
        raise ValueError(f"Unknown notebook {notebook!r}; known: {', '.join(NOTEBOOKS)}.")
    return NOTEBOOKS[key]


def check_parameters(notebook: str, namespace: dict[str, Any], *, quiet: bool = False) -> dict[str, Any]:
    """Check a notebook's parameters, resolve smoke mode and shrink the defaults it shrinks.

    Args:
        notebook: the notebook's name, e.g. ``"01_basic_gan"``.
        namespace: where the parameters live; a notebook passes ``globals()``. Updated in
            place: ``smoke`` becomes True or False, smoke values replace defaults, and the
            notebook's derived settings (:data:`DERIVED`) are set.
        quiet: do not print which passed values smoke mode kept.

    Returns:
        The settings after resolution: every parameter and derived setting by name.

    Raises:
        ValueError: a parameter is missing from ``namespace`` or has an invalid value; the
            message names it, the value and the valid values (all invalid ones at once).
    """
    spec = notebook_parameters(notebook)
    missing = [name for name in spec if name not in namespace]
    if missing:
        raise ValueError(f"The parameters cell of {notebook} lacks {', '.join(missing)}; run it first "
                         "(or restore it from the repository).")
    problems = [f"{name}={namespace[name]!r}: must be {p.valid}{_suggestion(namespace[name], p.valid)}"
                for name, p in spec.items() if not p.check(namespace[name])]
    if problems:
        raise ValueError(f"Invalid parameter{'s' if len(problems) > 1 else ''} of {notebook}: "
                         + "; ".join(problems) + ". Fix the value in the parameters cell (or the -p option).")
    if namespace["smoke"] is None:
        namespace["smoke"] = os.environ.get(SMOKE_ENV_VAR, "0") == "1"
    smoke = namespace["smoke"]
    kept = []
    for name, parameter in spec.items():
        if not smoke or parameter.smoke == NO_SMOKE:
            continue
        if _same(namespace[name], parameter.default):
            namespace[name] = parameter.smoke
        elif not _same(namespace[name], parameter.smoke):
            kept.append(f"{name}={namespace[name]!r} (smoke mode would use {parameter.smoke!r})")
    for name, (normal, small) in DERIVED[Path(notebook).stem].items():
        namespace[name] = small if smoke else normal
    if kept and not quiet:
        print("Smoke mode keeps the values you passed: " + ", ".join(kept) + ".")
    return {name: namespace[name] for name in [*spec, *DERIVED[Path(notebook).stem]]}


def check_name(value: Any, options: Iterable[str], parameter: str) -> str:
    """Return ``value`` if it is one of ``options``, else raise a ValueError that lists them.

    For names looked up in a table (a run, a model): a misspelling fails here, before
    any work, with the valid names and the closest one, instead of a bare ``KeyError`` later.

    Args:
        value: the name given.
        options: the valid names.
        parameter: what the name is called, for the message (e.g. ``"recipe"``).
    """
    options = list(options)
    if isinstance(value, str) and value in options:
        return value
    close = difflib.get_close_matches(str(value), options, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{parameter}={value!r} is not one of {', '.join(map(repr, options))}.{hint}")


def _suggestion(value: Any, valid: str) -> str:
    """`` (did you mean 'plain'?)`` for a misspelled choice, else nothing."""
    if not isinstance(value, str) or not valid.startswith("one of "):
        return ""
    options = [option.strip(" '") for option in valid[len("one of "):].split(",")]
    close = difflib.get_close_matches(value, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal kinds: ``True`` is not ``1``, ``(0.5, 0.999)`` is ``[0.5, 0.999]``."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def parameter_table(notebook: str, *, include_common: bool = True) -> str:
    """The parameters of a notebook as a Markdown table: name, default, smoke value, valid values, meaning.

    Args:
        notebook: the notebook's name.
        include_common: also list the five every notebook has (:data:`COMMON_PARAMETERS`).
    """
    rows = ["| parameter | default | smoke mode | valid values | what it does |", "| --- | --- | --- | --- | --- |"]
    for name, p in notebook_parameters(notebook).items():
        if not include_common and name in COMMON_PARAMETERS:
            continue
        smoke = "" if p.smoke == NO_SMOKE else f"`{p.smoke!r}`"
        rows.append(f"| `{name}` | `{p.default!r}` | {smoke} | {p.valid} | {p.doc} |")
    return "\n".join(rows)
