"""Fixtures for the browser tests: the dashboard served by ``cstosim app`` in a subprocess, and
Debian's Chromium driven headless by Playwright.

The tests need Playwright's Python package (the ``viz`` extra) and a Chromium at
``$CSTOSIM_CHROMIUM`` (default ``/usr/bin/chromium``; on Debian
``apt-get install -y --no-install-recommends chromium``; ``playwright install`` is not used).
Without them the tests are skipped, saying what is missing; with ``CSTOSIM_BROWSER_TESTS=1``
(set by ``.ci/run``) they fail instead, so CI cannot pass without running them.

Screenshots go to ``tests/browser/screenshots/`` (not committed); with
``CSTOSIM_UPDATE_SCREENSHOT=1`` the ensemble page after a run is also copied to
``docs/figures/dashboard.png`` for the README.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
REQUIRED = os.environ.get("CSTOSIM_BROWSER_TESTS") == "1"
CHROMIUM = os.environ.get("CSTOSIM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # the flags this machine needs (docs: .library/env/machines/python.md): run as root, no GPU,
    # and none of Chromium's own connections to Google's hosts (refused by the closed network)
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_S = 90.0
"""How long the server may take to answer its first page (imports Mesa, Solara, matplotlib)."""
TIMEOUT_MS = 60_000
"""Playwright's wait for anything (a run of 1,000 replicates plus figures takes a few seconds)."""


def missing() -> str | None:
    """What the browser tests lack on this machine, or None."""
    for module, extra in (("playwright", "viz"), ("solara", "viz"), ("uvicorn", "viz")):
        if importlib.util.find_spec(module) is None:
            return f"Python package {module!r} is missing (pip install -e '.[{extra}]')"
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM} (apt-get install -y --no-install-recommends chromium, "
            "or set CSTOSIM_CHROMIUM)"
        )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason is None or REQUIRED:  # required: _required_means_available fails them instead
        return
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def _required_means_available() -> None:
    """With CSTOSIM_BROWSER_TESTS=1 a missing browser is an error, not a skip."""
    reason = missing()
    if reason is not None and REQUIRED:
        pytest.fail(f"CSTOSIM_BROWSER_TESTS=1 but {reason}", pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    first_page_s: float


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m cstosim.commands.app --port N`` (what ``cstosim app`` runs), until the end."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cstosim.commands.app", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"cstosim app exited with {process.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - start > SERVER_START_S:
                waited = f"{SERVER_START_S:.0f} s"
                pytest.fail(f"cstosim app did not answer in {waited}:\n{log.read_text()}")
            time.sleep(0.25)
        yield Server(url, process, log, time.perf_counter() - start)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page with what it logged: console errors, uncaught exceptions, requests off the host."""

    page: Any
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


@pytest.fixture
def watched(browser: Any, server: Server) -> Iterator[Watched]:
    """A fresh browser context (a new tab with its own Solara kernel) watching its page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    w = Watched(page)
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: w.errors.append(f"uncaught: {exc}"))
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else w.outside.append(r.url))
    yield w
    context.close()


def copy_to_docs(path: Path) -> None:
    """With CSTOSIM_UPDATE_SCREENSHOT=1, copy a screenshot to docs/figures/dashboard.png."""
    if os.environ.get("CSTOSIM_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, ROOT / "docs" / "figures" / "dashboard.png")
