"""What the browser benchmarks share: Chromium's flags, starting and stopping a Streamlit server,
and waiting until a page has settled."""
from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]


_STARTED: list[subprocess.Popen] = []  # every server started here; stopped at exit if still running


@atexit.register
def _stop_leftovers() -> None:
    """A benchmark that dies early (an exception, a closed output pipe) leaves no server running."""
    for proc in _STARTED:
        if proc.poll() is None:
            stop(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(script: str, cwd: Path, home: str, *extra: str, env: dict | None = None,
                    poll: float = 0.1, timeout: float = 120) -> tuple[subprocess.Popen, int]:
    """`streamlit run script` on a free local port with VAE_EXPLORER_HOME=home; returns once it is healthy."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port), *extra],
                            cwd=cwd, env=dict(os.environ, VAE_EXPLORER_HOME=home, **(env or {})),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _STARTED.append(proc)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(poll)
    stop(proc)
    raise SystemExit(f"streamlit run {script} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def idle(page, quiet: float = 0.8, timeout: float = 120) -> None:
    """Wait until Streamlit's running indicator has been absent for ``quiet`` seconds."""
    page.wait_for_selector('[data-testid="stMain"]', timeout=timeout * 1000)
    since, deadline = None, time.time() + timeout
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count():
            since = None
        elif since is None:
            since = time.time()
        elif time.time() - since > quiet:
            return
        time.sleep(0.03)
    raise TimeoutError("the page did not settle")


# Every option of an open Streamlit selectbox, in order. Its list is virtual (only the rows in view are in the
# page), so the list is scrolled from top to bottom and the rows collected on the way.
ALL_OPTIONS_JS = """async () => {
    const first = document.querySelector('[role=option]');
    if (!first) return null;
    let box = first.parentElement;
    while (box && box !== document.body && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
    const seen = new Set(), order = [];
    const grab = () => document.querySelectorAll('[role=option]').forEach((o) => {
        const t = o.innerText.trim();
        if (!seen.has(t)) { seen.add(t); order.push(t); } });
    grab();
    if (box && box !== document.body) {
        const step = Math.max(20, box.clientHeight / 2);
        for (let top = 0; top <= box.scrollHeight + step; top += step) {
            box.scrollTop = top;
            await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
            grab();
        }
        box.scrollTop = 0;
    }
    return order;
}"""


class ScriptRuns:
    """The script runs a page's session made, read from the ForwardMsgs on its websocket (each run ends with a
    ``script_finished``). Make it before the page opens the app."""

    def __init__(self, page):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.finished: list[int] = []  # ForwardMsg.ScriptFinishedStatus of each run, in order
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            msg = self._msg.FromString(bytes(payload))
            if msg.WhichOneof("type") == "script_finished":
                self.finished.append(msg.script_finished)

    def counts(self) -> tuple[int, int]:
        """(page runs, fragment runs) so far; a page run cut short by another counts."""
        fragment = sum(s == self._msg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY for s in self.finished)
        return len(self.finished) - fragment, fragment


# ---------------------------------------------------------------- probes of the app's first screen

# the latent map's "under the pointer" image: the server's plain image or the browser decoder's canvas
FIRST_DECODED = """() => {
  const still = document.querySelector('.vae-pointer-still img');
  if (still && still.complete && still.naturalWidth > 0 && still.checkVisibility()) return true;
  const host = [...document.querySelectorAll('*')].find((e) => e.shadowRoot && e.shadowRoot.querySelector('.vae-pointer canvas'));
  const c = host && host.shadowRoot.querySelector('.vae-pointer canvas');
  return !!(c && c.width > 1);
}"""
# the latent map's points drawn on its canvas (ui/js/map_gl.js counts the frames it has drawn with them)
MAP_DRAWN = """() => { const m = window.__vaeMaps && window.__vaeMaps.latent_map_chart;
  return !!(m && m.gl && m.gl.n > 0 && m.gl.renders > 0 && m.gl.drawCount > 0); }"""
# the hover images of the map's key decoded in the window (window.__vaeMapImages: key -> Promise of the pixels)
IMAGES_READY = """() => { const m = window.__vaeMaps && window.__vaeMaps.latent_map_chart;
  const p = m && m.imageKey && window.__vaeMapImages && window.__vaeMapImages.get(m.imageKey);
  if (!p) return false;
  if (!p.__watched) { p.__watched = true; p.then((px) => { p.__done = px && px.length > 0; }); }
  return !!p.__done; }"""
