"""Shared pieces of the browser tests: a real Streamlit server on 127.0.0.1 and headless Debian
Chromium driven by Playwright."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 120_000  # how long a browser test waits for a condition: generous, for a machine busy with other work
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(home: Path, log_dir: Path):
    """``streamlit run app.py`` on a free port of 127.0.0.1 with its own VAE_EXPLORER_HOME; yields its URL once
    it answers, and stops it afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (CI's .ci/run does)")
    port = _free_port()
    env = dict(os.environ, VAE_EXPLORER_HOME=str(home))
    log = open(log_dir / "streamlit.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=5)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not answer within 180 s")
    if proc.poll() is not None:
        log.seek(0)
        pytest.fail(f"streamlit exited early:\n{log.read()[-3000:]}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with app_server(tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("log")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# Streamlit's front end probes for its base path on a deep link (/<page>/_stcore/health and
# /host-config answer 404 before it falls back to /_stcore/...): its own noise, not the app's.
_BASE_PATH_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def console_error(message) -> str | None:
    if message.type != "error":
        return None
    url = (message.location or {}).get("url", "")
    if _BASE_PATH_PROBE.search(url):
        return None
    return f"{message.text} ({url})" if url else message.text


def wait_until(condition, what: str, timeout_s: float = WAIT_MS / 1000):
    """Poll ``condition()`` (for what page.wait_for_function cannot see: a component's elements live in its
    shadow root, which document.querySelector does not enter, Playwright's locators do) until it is true."""
    deadline = time.time() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.1)


def wait_until_idle(page, timeout_s: float = 180) -> None:
    """Wait until the script has finished (Streamlit's 'running' indicator is gone) and the page is stable."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    quiet_since = None
    while time.time() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since > 1.5:
            return
        time.sleep(0.2)
    raise AssertionError("the page kept running for too long")




def ScriptRuns(page):  # noqa: N802  (a class of bench/browser_util.py)
    """The page's script runs, read from its websocket (bench/browser_util.ScriptRuns): make it before the page
    opens the app."""
    sys.path.insert(0, str(REPO / "bench"))
    from browser_util import ScriptRuns as runs

    return runs(page)


def picker_options(page, label: str) -> list[str]:
    """Every option of the sidebar's selectbox labelled ``label``. A click that lands while the page reruns can
    leave the list closed: it is tried again until the list opens. The list is virtual (only the rows in view
    are in the page): bench/browser_util.ALL_OPTIONS_JS scrolls it through."""
    sys.path.insert(0, str(REPO / "bench"))
    from browser_util import ALL_OPTIONS_JS

    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=label)
    deadline = time.time() + WAIT_MS / 1000
    while True:
        wait_until_idle(page)
        box.click()
        try:
            page.locator("[role=option]").first.wait_for(timeout=15_000)
            break
        except Exception:  # noqa: BLE001 - closed again by a rerun, or not opened: try once more
            page.keyboard.press("Escape")
            if time.time() > deadline:
                raise
    options = page.evaluate(ALL_OPTIONS_JS)
    page.keyboard.press("Escape")
    return list(options or [])


PHONE = dict(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=3)


@contextlib.contextmanager
def app_page(browser, url: str, permissions: list[str] | None = None, viewport: tuple[int, int] = (1440, 1000),
             phone: bool = False):
    """A fresh browser context open on ``url``, settled; ``page.errors`` collects console and page errors.
    ``phone``: a 390x844 touch screen at 3 device pixels per CSS pixel instead of ``viewport``."""
    context = browser.new_context(**(PHONE if phone else {"viewport": {"width": viewport[0], "height": viewport[1]}}))
    if permissions:
        parts = urlsplit(url)
        context.grant_permissions(permissions, origin=f"{parts.scheme}://{parts.netloc}")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: (err := console_error(m)) and page.errors.append(err))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        page.goto(url, wait_until="domcontentloaded")
        wait_until_idle(page)
        yield page
    finally:
        context.close()


def load_bench_module(name: str = "load_test"):
    """bench/<name>.py as a module (bench/ is not a package); the load test's clients drive the tests' servers."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
