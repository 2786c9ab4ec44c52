"""Helpers for the end-to-end browser tests: a throw-away JupyterLab server and Debian's Chromium driven
by Playwright's sync API (never ``playwright install``: the system browser is used).

Environment: ``CODEPLAY_CHROMIUM`` (default ``/usr/bin/chromium``), ``CODEPLAY_ARTIFACTS`` (screenshots;
default ``tests/browser/artifacts``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "05_compose.ipynb"
CHROMIUM = os.environ.get("CODEPLAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_SECONDS = 60 * float(os.environ.get("CODEPLAY_BROWSER_SLOWDOWN", "1"))
LAUNCH_MS = int(60_000 * float(os.environ.get("CODEPLAY_BROWSER_SLOWDOWN", "1")))
# kernel environment for the notebook under test: tiny random model, rule-based prompt reading
# the shipped weights and classifier by default (a true end-to-end run); CODEPLAY_BROWSER_MODEL=tiny for speed
KERNEL_ENV = {"CODEPLAY_MODEL": os.environ.get("CODEPLAY_BROWSER_MODEL", ""),
              "CODEPLAY_CLASSIFIER": os.environ.get("CODEPLAY_BROWSER_CLASSIFIER", "")}
VIEWPORT = {"width": 1280, "height": 900}


def artifacts_dir() -> Path:
    out = Path(os.environ.get("CODEPLAY_ARTIFACTS") or ROOT / "tests" / "browser" / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    for module in ("playwright.sync_api", "jupyterlab", "ipywidgets", "plotly", "anywidget"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """User settings that keep pop-ups away: no news / update notifications."""
    target = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture
def artifacts() -> Path:
    return artifacts_dir()


def _serve(base: Path, cmd: list[str], env: dict, ready_path: str, name: str):
    """Start a server, wait until ``ready_path`` answers, yield its URL, stop it and keep its log."""
    port = _free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    log = (base / f"{name}.log").open("w")
    proc = subprocess.Popen(cmd, cwd=base / "root", env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}{ready_path}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{name} did not start; log:\n{(base / f'{name}.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.copy(base / f"{name}.log", artifacts_dir() / f"{name}.log")


def _root(tmp_path_factory, name: str) -> Path:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp(name)
    (base / "root").mkdir()
    shutil.copy(NOTEBOOK, base / "root" / NOTEBOOK.name)
    return base


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 (no token, ``--allow-root``) serving a temp folder that holds a
    copy of the compose notebook; yields the base URL."""
    base = _root(tmp_path_factory, "lab")
    _write_settings(base / "settings")
    env = {**os.environ, **KERNEL_ENV, "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"), "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    env.pop("CODEPLAY_COMPOSE_ON_START", None)
    env.pop("CODEPLAY_SONGS_DIR", None)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port={port}",
           f"--ServerApp.root_dir={base / 'root'}", "--IdentityProvider.token=", "--ServerApp.password=",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False"]
    yield from _serve(base, cmd, env, "/api/status", "jupyterlab-server")


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    """``voila 05_compose.ipynb`` on 127.0.0.1 from a temp folder (the app autosaves into its
    ``codeplay-songs``); yields the page URL. Every browser visit is a fresh kernel."""
    base = _root(tmp_path_factory, "voila")
    env = {**os.environ, **KERNEL_ENV, "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    env.pop("CODEPLAY_COMPOSE_ON_START", None)
    env.pop("CODEPLAY_SONGS_DIR", None)
    cmd = [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", "--port={port}",
           NOTEBOOK.name]
    yield from _serve(base, cmd, env, "/", "voila-server")


def open_page(pw, profile: Path):
    """A Chromium page (fresh profile, 1280x900, downloads accepted) with console errors collected in
    ``page.console_errors``; returns (context, page)."""
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, viewport=VIEWPORT,
        accept_downloads=True)
    pg = context.pages[0] if context.pages else context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    return context, pg


@pytest.fixture
def page(lab_url, tmp_path):
    """A Chromium page on the JupyterLab server (``page.lab_url``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context, pg = open_page(pw, tmp_path / "chromium-profile")
        pg.lab_url = lab_url
        try:
            yield pg
        finally:
            context.close()
