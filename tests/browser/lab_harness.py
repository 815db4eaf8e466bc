"""Start and stop a private JupyterLab server and a headless Debian Chromium for browser tests.

The server runs from the interpreter that runs pytest (the project's venv), on a free
localhost port, with a random token and throw-away config/data/runtime/settings folders,
so it neither reads nor writes the user's Jupyter state. The settings it gets turn off
autosave (running a notebook in the page must never rewrite the committed .ipynb), news
and update checks (no network), and windowed notebook rendering (every cell stays in the
DOM, so locators find them without scrolling first).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

# Headless Chromium in a closed network: no GPU, no QUIC, no background fetches of
# component updates, sync or safe-browsing lists (they would only flood the log with
# failed connections and slow the start).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-pings",
]

# JupyterLab user settings: {package}/{plugin}.jupyterlab-settings
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def free_port() -> int:
    """Ask the OS for a free localhost TCP port.

    Returns:
        A port number that was free a moment ago.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_open(port: int) -> bool:
    """Return True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pids: set[int]) -> list[psutil.Process]:
    """The processes among ``pids`` that still run (zombies count as gone)."""
    living = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                living.append(proc)
        except psutil.NoSuchProcess:
            pass
    return living


def descendants(pid: int) -> set[int]:
    """Pids of all living descendants of ``pid`` (empty if it is gone)."""
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def kill_and_wait(pids: set[int], timeout: float = 5.0) -> list[psutil.Process]:
    """SIGTERM, then SIGKILL, the given processes (by pid only); return any survivors."""
    procs = alive(pids)
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _gone, procs = psutil.wait_procs(procs, timeout=timeout)
    for proc in procs:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    _gone, procs = psutil.wait_procs(procs, timeout=timeout)
    return procs


@dataclass
class LabServer:
    """A running JupyterLab server (see :func:`start_lab`)."""

    process: subprocess.Popen
    port: int
    token: str
    root_dir: Path
    log_path: Path
    seen_pids: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """``path`` under the server (e.g. ``lab/tree/x.ipynb``) with the token as query."""
        return f"{self.base_url}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> bytes:
        """Call the REST API with the token; returns the body."""
        request = urllib.request.Request(f"{self.base_url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.read()

    def remember_children(self) -> None:
        """Record the server's current descendants (kernels) so stop() can check them."""
        self.seen_pids |= descendants(self.process.pid)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def _write_settings(settings_dir: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = settings_dir / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def start_lab(root_dir: Path, state_dir: Path, log_path: Path, extra_env: dict[str, str],
              timeout: float = 300.0) -> LabServer:
    """Start ``python -m jupyterlab`` and wait until its REST API answers.

    Args:
        root_dir: the folder the server serves (the repository).
        state_dir: an empty temporary folder for Jupyter's config/data/runtime/settings.
        log_path: where the server's stdout and stderr go.
        extra_env: variables for the server, which its kernels inherit (smoke mode ...).
        timeout: seconds to wait for the server.

    Returns:
        The running server.
    """
    port, token = free_port(), secrets.token_hex(24)
    names = ("config", "data", "runtime", "settings", "workspaces", "ipython", "checkpoints")
    dirs = {name: state_dir / name for name in names}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    _write_settings(dirs["settings"])
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        IPYTHONDIR=str(dirs["ipython"]),
        # the venv's kernel.json says "python": make sure that is this venv's python
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root", "--expose-app-in-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--ServerApp.terminals_enabled=False",
        # opening a notebook creates a checkpoint: keep it out of the repository
        f"--FileCheckpoints.checkpoint_dir={dirs['checkpoints']}",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - the child writes it until stop()
    # own process group, so stop() can end the server and anything it forked in one go
    process = subprocess.Popen(cmd, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    server = LabServer(process, port, token, root_dir, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            json.loads(server.api("status"))
            return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        if time.monotonic() > deadline:
            stop_lab(server)
            raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{server.log_tail()}")
        time.sleep(0.3)


def stop_lab(server: LabServer, timeout: float = 15.0) -> list[str]:
    """Stop the server and its kernels; return a list of problems (empty when clean).

    Asks the server to shut down (it stops its kernels), then signals its process group,
    then kills, by pid, any kernel recorded earlier that outlived it (kernels run in
    their own process group).
    """
    server.remember_children()
    if server.process.poll() is None:
        try:
            server.api("shutdown", method="POST")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    if server.process.poll() is None:
        try:
            os.killpg(server.process.pid, signal.SIGTERM)
            server.process.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if server.process.poll() is None:
        try:
            os.killpg(server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.process.wait(timeout=5)
    problems = []
    lingering = alive(server.seen_pids)
    if lingering:
        problems.append("processes outlived the server: "
                        + ", ".join(f"{p.pid} {' '.join(p.cmdline()[:3])}" for p in lingering))
        kill_and_wait({p.pid for p in lingering})
    try:  # the group may still hold helpers that were never our direct children
        os.killpg(server.process.pid, signal.SIGKILL)
        problems.append(f"process group {server.process.pid} still had members after shutdown")
    except ProcessLookupError:
        pass
    if port_is_open(server.port):
        problems.append(f"port {server.port} still accepts connections")
    return problems
