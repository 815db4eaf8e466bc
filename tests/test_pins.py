"""The pinned versions agree everywhere: requirements.txt, environment.yml and the venv."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def test_requirements_pin_the_core_packages() -> None:
    pins = _pins(ROOT / "requirements.txt")
    for name in ("torch", "torchvision", "jupyterlab", "ipywidgets", "papermill", "nbval", "pytest"):
        assert name in pins, f"requirements.txt must pin {name}"


def test_environment_yml_agrees_with_requirements() -> None:
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.11\s*$", text, re.M), "environment.yml must ask for python=3.11"
    assert _pins(ROOT / "environment.yml") == _pins(ROOT / "requirements.txt"), (
        "environment.yml's pip pins differ from requirements.txt; copy them across"
    )


@pytest.mark.skipif(os.environ.get("GAN_COURSE_LATEST") == "1", reason="check_latest.sh runs unpinned on purpose")
def test_installed_versions_match_the_pins() -> None:
    wrong = {}
    for name, pinned in _pins(ROOT / "requirements.txt").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed.split("+")[0] != pinned:  # torch's local tag (+cpu, +cu130) is not part of the pin
            wrong[name] = (pinned, installed)
    assert not wrong, f"installed versions differ from requirements.txt (pinned, installed): {wrong}; " \
                      "run 'bash scripts/setup_env.sh --force'"
