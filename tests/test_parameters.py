"""Notebook parameters: invalid values named with the valid ones; smoke mode never replaces a passed value.

The notebook flow is replayed without running a notebook: the ``parameters`` cell's source,
then what papermill's ``-p`` injects, then the one call the next cell makes.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from ganlib.parameters import NO_SMOKE, NOTEBOOKS, check_name, check_parameters, parameter_table

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def _parameters_cell(notebook: str) -> str:
    cells = json.loads((NOTEBOOK_DIR / f"{notebook}.ipynb").read_text())["cells"]
    tagged = [c for c in cells if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{notebook} must have exactly one cell tagged 'parameters'"
    return "".join(tagged[0]["source"])


def _run(notebook: str, smoke_env: str | None = None, monkeypatch=None, **passed) -> dict:
    """The parameters cell, then papermill's injected values, then the setup call; returns the namespace."""
    namespace: dict = {}
    exec(_parameters_cell(notebook), namespace)  # noqa: S102 - the repository's own notebook cell
    namespace.update(passed)
    if monkeypatch is not None:
        if smoke_env is None:
            monkeypatch.delenv("GAN_COURSE_SMOKE", raising=False)
        else:
            monkeypatch.setenv("GAN_COURSE_SMOKE", smoke_env)
    check_parameters(notebook, namespace)
    return namespace


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_spec_matches_the_notebooks_parameters_cell(notebook: str) -> None:
    assigned = {}
    for node in ast.parse(_parameters_cell(notebook)).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.unparse(node)
        assigned[node.targets[0].id] = ast.literal_eval(node.value)
    spec = NOTEBOOKS[notebook]
    assert list(assigned) == list(spec), "the parameters cell and ganlib.parameters list different names"
    for name, value in assigned.items():
        assert value == spec[name].default, f"{notebook}: {name} is {value!r} there, {spec[name].default!r} here"
        assert spec[name].check(value), f"{notebook}: the default of {name} fails its own check"


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_smoke_values_are_valid_and_differ_from_defaults(notebook: str) -> None:
    for name, p in NOTEBOOKS[notebook].items():
        if p.smoke != NO_SMOKE:
            assert p.check(p.smoke) and p.smoke != p.default, name


@pytest.mark.parametrize("notebook, name, value, valid", [
    ("01_basic_gan", "batch_size", 0, "an int >= 1"),
    ("01_basic_gan", "batch_size", 64.0, "an int >= 1"),
    ("01_basic_gan", "max_steps", -5, "None or an int >= 1"),
    ("01_basic_gan", "run_name", "COURSE_MLP_GNA", "one of 'COURSE_MLP_GAN', 'TEXTBOOK_MLP_GAN' (did you mean "
     "'COURSE_MLP_GAN'?)"),
    ("01_basic_gan", "betas", (0.5, 1.5), "two numbers in [0, 1)"),
    ("01_basic_gan", "lr", float("nan"), "a number > 0"),
    ("02_dcgan", "run_name", "improved", "one of 'COURSE_DCGAN', 'TEXTBOOK_DCGAN'"),
    ("03_conditional_gan", "train_minutes", 0, "a number > 0"),
    ("04_acgan_wgan_gp_cifar10", "own_gan_ema", 1.0, "None or a number in (0, 1)"),
    ("04_acgan_wgan_gp_cifar10", "train_limit", 5, "None or an int >= 10"),
    ("05_interpolation_exploration", "num_steps", -5, "an int >= 1"),
    ("05_interpolation_exploration", "device", "tpu", "None, 'cuda', 'mps', 'cpu'"),
    ("05_interpolation_exploration", "smoke", "yes", "None, True or False"),
    ("05_interpolation_exploration", "seed", -1, "an int >= 0"),
])
def test_invalid_value_is_named_with_the_valid_values(notebook, name, value, valid, monkeypatch) -> None:
    with pytest.raises(ValueError) as info:
        _run(notebook, "1", monkeypatch, **{name: value})  # smoke on: it must not hide the mistake
    message = str(info.value)
    assert f"{name}={value!r}" in message and valid in message and notebook in message


def test_all_invalid_values_are_reported_at_once(monkeypatch) -> None:
    with pytest.raises(ValueError, match=r"Invalid parameters.*batch_size=0.*log_every=-1"):
        _run("01_basic_gan", "0", monkeypatch, batch_size=0, log_every=-1)


def test_smoke_shrinks_defaults_only_and_says_what_it_kept(monkeypatch, capsys) -> None:
    ns = _run("01_basic_gan", "1", monkeypatch, batch_size=32, max_steps=50)
    assert ns["smoke"] is True
    assert ns["batch_size"] == 32 and ns["max_steps"] == 50  # passed: kept
    assert ns["log_every"] == 10 and ns["worked_answers"] is True and ns["num_eval_samples"] == 200  # defaults: shrunk
    assert ns["num_train"] == 512 and ns["num_test"] == 500
    out = capsys.readouterr().out
    assert "batch_size=32 (smoke mode would use 64)" in out and "max_steps=50" in out


def test_without_smoke_nothing_changes(monkeypatch, capsys) -> None:
    ns = _run("01_basic_gan", None, monkeypatch, batch_size=32)
    assert ns["smoke"] is False and ns["batch_size"] == 32 and ns["max_steps"] is None
    assert ns["num_train"] is None and capsys.readouterr().out == ""


def test_explicit_smoke_false_wins_over_the_environment(monkeypatch) -> None:
    ns = _run("05_interpolation_exploration", "1", monkeypatch, smoke=False)
    assert ns["smoke"] is False and ns["num_steps"] == 2000 and ns["samples_per_class"] == 100


def test_smoke_from_the_environment(monkeypatch) -> None:
    ns = _run("04_acgan_wgan_gp_cifar10", "1", monkeypatch)
    assert ns["smoke"] is True and ns["train_limit"] == 200 and ns["own_gan_max_steps"] == 6
    assert ns["own_lr"] == 2e-3  # not a smoke parameter


@pytest.mark.parametrize("notebook", ["01_basic_gan", "02_dcgan", "03_conditional_gan"])
def test_run_name_choices_are_runs(notebook: str) -> None:
    runs = pytest.importorskip("ganlib.runs")
    p = NOTEBOOKS[notebook]["run_name"]
    options = [o.strip(" '") for o in p.valid[len("one of "):].split(",")]
    assert options and all(name in runs.RUNS for name in options)


def test_missing_parameter_says_run_the_cell() -> None:
    with pytest.raises(ValueError, match="lacks .*seed"):
        check_parameters("02_dcgan", {"smoke": None})


def test_unknown_notebook_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="01_basic_gan"):
        check_parameters("06_diffusion", {})


def test_check_name_lists_the_names_and_the_closest() -> None:
    assert check_name("COURSE_DCGAN", ["COURSE_DCGAN", "TEXTBOOK_DCGAN"], "run") == "COURSE_DCGAN"
    with pytest.raises(ValueError, match=r"run='COURSE_DCGNA' is not one of .*Did you mean 'COURSE_DCGAN'\?"):
        check_name("COURSE_DCGNA", ["COURSE_DCGAN", "TEXTBOOK_DCGAN"], "run")


def test_parameter_table_lists_every_parameter() -> None:
    table = parameter_table("05_interpolation_exploration")
    assert "| `num_steps` | `2000` | `20` |" in table and table.count("\n") == 1 + len(
        NOTEBOOKS["05_interpolation_exploration"])
    short = parameter_table("05_interpolation_exploration", include_common=False)
    assert "`seed`" not in short and "`num_steps`" in short


@pytest.mark.parametrize("notebook", list(NOTEBOOKS))
def test_use_pretrained_means_the_same_on_every_device(notebook: str) -> None:
    # A GPU run with default parameters must take the path a CPU run takes (the one the text
    # describes): only the parameters cell may set use_pretrained, never from the device found.
    cells = json.loads((NOTEBOOK_DIR / f"{notebook}.ipynb").read_text())["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith("%"))
        for node in ast.walk(ast.parse(source)):
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            assert "use_pretrained" not in names, f"{notebook}, code cell {index} sets use_pretrained"
        for line in source.splitlines():
            assert not ("use_pretrained" in line and "cuda" in line), f"{notebook}, code cell {index}: {line.strip()}"
