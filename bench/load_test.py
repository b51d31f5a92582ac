"""Many users at once: N browser sessions against one Streamlit server on 127.0.0.1.

One headless Chromium, one browser context per user (each its own Streamlit session). Every
session uploads its own checkpoint in the sidebar, then, for a bounded time, switches pages and
moves the latent sliders (the server path: Live off, each arrow key reruns the script and draws a
new image). Session 0 trains a model on the Train page meanwhile; session 1 tries to start a
second training and must be refused by the per-server cap (VAE_MAX_TRAININGS=1 here).

Measured in the browser with performance.now():
  slider  arrow key pressed -> the new decoded image is in the page (loaded)
  page    nav link clicked  -> the new page's title shown and the script finished (nothing stale)
  toggle  Live toggled off  -> the server-drawn sliders and image shown
and, on the server, its resident memory (VmRSS) and CPU time over the run.

At the end each session opens its model picker: it must list its own upload and nobody else's
uploads or trained models; the server must still answer.

    python bench/load_test.py                      # 30 sessions, 75 s of load
    python bench/load_test.py --sessions 5 --duration 20 --json /tmp/load.json
    python bench/load_test.py --client ws --sessions 30 --duration 45 --processes 1,2   # 1 against 2 processes
    python bench/load_test.py --client ws --profile class --duration 90 --processes 1,2
    python bench/load_test.py --profile class-live     # 60 phones in one class room (bench/class_live.py)

--processes runs the load once per process count, each behind HAProxy (python -m serve) on a fresh
home, in one invocation, and prints their p95s side by side. Behind the proxy each session keeps the
proxy's cookie, as a browser does; the report says how many sessions each process served. Browser
sessions reload the page at the end (F5) and read their model list again: it must still hold their
upload and, for session 0, its trained model. The server's CPU time during the load phase is
divided by the interactions (slider, page, toggle) done then: CPU per interaction.

--profile class: each websocket student acts every 2-5 s (a slider move, or another page), and a
third of them train a small model on the Train page (again later when the cap refuses), load it,
and ask for its t-SNE map on the latent map page, looking until it is drawn.

Every failure is printed with its cause (bench/load_causes.py): what the session was doing, its HTTP errors
and websocket closes, whether the proxy's cookie moved it to another process, what its page showed when it
gave up, and HAProxy's failed health checks. The report also gives the time /_stcore/health took on each
process, and the cores the clients themselves used (this process with its websocket clients; Chromium and
Playwright), which share the machine with the server.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from browser_util import ALL_OPTIONS_JS  # noqa: E402
from load_causes import BrowserLog, cause, page_state, proxy_stats, proxy_summary  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
UPLOADED_MODEL = REPO / "checkpoints" / "digits-2d"  # each session uploads a copy under its own name
OTHER_PAGES = {"Latent map": "Latent map", "Generate": "Generate", "How it works": "How it works",
               "Models": "Models"}  # nav link text -> the page's title starts with
TIMEOUT_MS = 90_000  # one interaction may take this long before it counts as failed
ARRIVAL_TIMEOUT_MS = 240_000  # the first page load, while the other sessions arrive too
TRAINED_NAME = "trained-by-s00"
PROCESS_COOKIE = "vae_process"  # serve.haproxy.COOKIE: the proxy's cookie that ties a browser to a process
IDENTITY_COOKIE, IDENTITY_COMPONENT = "vae_browser", "vae_browser_identity"  # ui.identity's
FRAGMENT_RERUNS = True
CLASS_PROFILE = False  # --profile class: session 1 does not test the training cap (students train too)  # --full-reruns: websocket clients rerun the whole page for a slider move
SHOTS: Path | None = None  # --shots: where a failed session saves a screenshot
INTERACTIONS = ("slider", "page", "toggle")  # what a student does; the server CPU is divided among these

IMAGE = "[data-testid=stMain] [data-testid=stImage] img"
IDLE = ("!document.querySelector('[data-testid=stStatusWidget]') "
        "&& document.querySelectorAll('[data-stale=\"true\"]').length === 0")
# A probe: armed before an action, t0 = the user's event (key press or click), t1 = first moment the
# expected result is in the page (checked as the page changes: JS_WATCH).
JS_ARM = """(kind) => {
  const img = document.querySelector('%s');
  window.__probe = {src: img ? img.src : null, t0: null, t1: null};
  document.addEventListener(kind, () => { window.__probe.t0 = performance.now(); }, {once: true, capture: true});
}""" % IMAGE
JS_DONE = """(ready) => {
  const p = window.__probe;
  if (p.t0 !== null && ready) { if (p.t1 === null) p.t1 = performance.now(); return true; }
  return false;
}"""
JS_IDLE = f"() => {IDLE}"


def js_until(condition: str) -> str:
    """A function for wait_for_function that stamps t1 the first time ``condition`` holds."""
    return JS_DONE.replace("(ready) =>", "() =>").replace("&& ready", f"&& ({condition})")


NEW_IMAGE = js_until(f"(() => {{ const img = document.querySelector('{IMAGE}'); return img && img.src !== "
                     "window.__probe.src && img.complete && img.naturalWidth > 0; })()")
SERVER_SLIDERS = js_until(f"document.querySelector('[data-testid=stSlider] input[type=range]') "
                          f"&& document.querySelector('{IMAGE}') && {IDLE}")


def page_shown(title: str) -> str:
    return js_until(f"(() => {{ const h = document.querySelector('[data-testid=stMain] h1'); "
                    f"return h && h.innerText.trim().startsWith({json.dumps(title)}); }})() && {IDLE}")


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
            return r.status == 200
    except OSError:
        return False


def proc_stats(pid: int) -> tuple[int, float]:
    """(resident memory in bytes, CPU seconds used) of a process, from /proc."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds) of every process on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        table[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / ticks)
    return table


def client_cpu(server_pids: set[int]) -> dict[str, float]:
    """CPU seconds used so far by the harness itself: this process (its websocket clients, Playwright's Python
    side) and the processes it started that are not the server's (Playwright's driver, Chromium)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out = {"harness (Python, websocket clients)": table.get(os.getpid(), (0, "", 0.0))[2],
           "Chromium and Playwright": 0.0}
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        if pid in server_pids or table[pid][1] in ("haproxy", "redis-server"):
            continue  # the server's processes, and what they started
        out["Chromium and Playwright"] += table[pid][2]
        todo += children.get(pid, [])
    return out


class Server:
    """``streamlit run app.py`` on 127.0.0.1 with its own data folder; samples its memory and CPU."""

    processes = 1
    proxied = False

    def __init__(self, home: Path, max_trainings: int = 1, app_dir: Path = REPO, script: str = "app.py"):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, VAE_EXPLORER_HOME=str(home), VAE_MAX_TRAININGS=str(max_trainings))
        env.pop("VAE_SHARE_TRAINED", None)
        self.log = open(home / "streamlit.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=app_dir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while not healthy(self.url):
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"streamlit did not start:\n{self.log.read()[-3000:]}")
            time.sleep(0.3)
        self._start_sampling()

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def _start_sampling(self) -> None:
        self.samples: list[tuple[float, int, float]] = []  # (time, rss, cpu seconds), summed over the processes
        self.client_samples: list[tuple[float, dict[str, float]]] = []  # (time, client_cpu())
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                stats = [proc_stats(pid) for pid in self.pids()]
            except (OSError, IndexError, ValueError):
                return
            self.samples.append((time.time(), sum(r for r, _ in stats), sum(c for _, c in stats)))
            self.client_samples.append((time.time(), client_cpu(set(self.pids()))))
            self._stop.wait(0.5)

    def alive(self) -> bool:
        return self.proc.poll() is None and healthy(self.url)

    def rss_now(self) -> int:
        return sum(proc_stats(pid)[0] for pid in self.pids())

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class ProxiedServer(Server):
    """``processes`` app processes behind HAProxy with session affinity (serve.Cluster), one data folder."""

    proxied = True

    def __init__(self, home: Path, processes: int, max_trainings: int = 1, app_dir: Path = REPO):
        from serve.cluster import Cluster, free_port as cluster_port

        self.home = home
        self.processes = processes
        env = {"VAE_MAX_TRAININGS": str(max_trainings)}
        self.cluster = Cluster(processes=processes, port=cluster_port(), home=home, app_dir=app_dir,
                               run_dir=home.parent / f"serve-{processes}", env=env)
        os.environ.pop("VAE_SHARE_TRAINED", None)
        self.cluster.start()
        self.url = self.cluster.url
        self._start_sampling()

    def pids(self) -> list[int]:
        return self.cluster.app_pids()

    def alive(self) -> bool:
        return all(c.running() for c in self.cluster.apps) and healthy(self.url)

    def proxy_stats(self) -> dict[str, dict]:
        """HAProxy's view of each process: its failed health checks and the times it was marked down."""
        return proxy_stats(self.cluster.stats_port)

    def _start_sampling(self) -> None:
        super()._start_sampling()
        self.health: dict[str, list[float]] = {}  # process -> seconds each of its health checks took
        for i, child in enumerate(self.cluster.apps):
            threading.Thread(target=self._probe_health, args=(f"p{i}", child.url), daemon=True).start()

    def _probe_health(self, name: str, url: str) -> None:
        """What HAProxy's check sees, from outside: the time /_stcore/health takes, every 2 s."""
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=30).read()
            except OSError:
                pass
            self.health.setdefault(name, []).append(time.monotonic() - t0)
            self._stop.wait(2.0)

    def stop(self) -> None:
        self._stop.set()
        self.cluster.stop()


# ---------------------------------------------------------------- one browser session


@dataclass
class Session:
    index: int
    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # kind -> [(when, ms)]
    failures: list[str] = field(default_factory=list)
    exceptions_seen: int = 0
    picker: list[str] = field(default_factory=list)
    uploaded: bool = False
    upload_retries: int = 0  # uploads done again after the uploader dropped the file
    cap_message: str | None = None
    trained: bool = False
    kind: str = "browser"  # or "ws": a websocket client
    process: str = ""  # behind the proxy: the app process it was tied to (the affinity cookie's value)
    heavy: bool = False  # class profile: this student trains a model and computes its map
    heavy_step: str = ""  # where the student got to: train, training, projection or done
    refused: int = 0  # trainings refused by the server's cap
    picker_after_reload: list[str] | None = None  # browser sessions: the model list after F5
    log: BrowserLog | None = None  # browser sessions: HTTP errors, websocket closes, the stage it was at
    stuck: dict | None = None  # where a session that failed stopped: stage, what its page showed, its process now

    @property
    def name(self) -> str:
        return f"s{self.index:02d}"

    def record(self, kind: str, ms: float | None) -> None:
        if ms is not None:
            self.latencies.setdefault(kind, []).append((time.time(), ms))


# The probe's check runs when the page changes (a mutation anywhere, an image loading) and, as a safety net,
# ten times a second: polling it on every animation frame kept Chromium busy on the cores the server shares.
JS_WATCH = """() => {
  const check = window.__probeCheck;
  let done = false;
  const run = () => { if (!done && check()) { done = true; obs.disconnect(); clearInterval(timer);
                                               document.removeEventListener('load', run, true); } };
  const obs = new MutationObserver(run);
  obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
  document.addEventListener('load', run, true);
  const timer = setInterval(run, 100);
}"""


async def measured(page, kind: str, event: str, action, wait_js: str, s: Session) -> None:
    """Arm a probe for ``event``, run ``action``, wait until ``wait_js`` holds; record t1 - t0."""
    await page.evaluate(JS_ARM, event)
    await page.evaluate(f"window.__probeCheck = {wait_js}")
    await page.evaluate(JS_WATCH)
    try:
        await action()
        await page.wait_for_function("() => window.__probe.t1 !== null", timeout=TIMEOUT_MS, polling=100)
        probe = await page.evaluate("window.__probe")
        s.record(kind, probe["t1"] - probe["t0"])
    except Exception as e:  # noqa: BLE001 - a timeout or a vanished element is a failed interaction
        s.failures.append(f"{kind}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")


async def wait_idle(page, timeout_ms: int = TIMEOUT_MS) -> None:
    await page.wait_for_function(JS_IDLE, timeout=timeout_ms, polling=100)
    await page.wait_for_timeout(300)
    await page.wait_for_function(JS_IDLE, timeout=timeout_ms, polling=100)


async def go_to(page, link: str, title: str, s: Session) -> None:
    nav = page.locator("[data-testid=stSidebarNav] a", has_text=link).first
    await measured(page, "page", "click", nav.click, page_shown(title), s)
    s.exceptions_seen += await page.locator("[data-testid=stException]").count()


async def upload(page, zip_path: Path, s: Session) -> None:
    """Upload through the sidebar. On a busy machine a file set on the uploader was, rarely, dropped
    (no file chip, no message): after a minute without the "Loaded" message and with no file shown,
    the page is reloaded (a new session) and the upload done again, once."""
    stem = zip_path.stem

    class Loaded:  # the "Loaded" message, or the picker already on the model: the message shows for one run only,
        @staticmethod  # and another request can rerun the page before it is seen
        async def wait_for(timeout: float) -> None:
            await page.wait_for_function(
                """(stem) => document.body.innerText.includes('Loaded ' + stem)
                   || [...document.querySelectorAll('[data-testid=stSidebar] [data-testid=stSelectbox] input')]
                      .some((i) => i.value.startsWith(stem + ' '))""", arg=stem, timeout=timeout)

    loaded = Loaded()
    t0 = time.perf_counter()
    for attempt in range(2):
        await wait_idle(page, ARRIVAL_TIMEOUT_MS)
        expander = page.locator("[data-testid=stSidebar] details", has_text="Upload a checkpoint")
        if await expander.get_attribute("open") is None:
            await expander.locator("summary").click()
        await page.locator("[data-testid=stSidebar] [data-testid=stFileUploader] input[type=file]").set_input_files(
            str(zip_path))
        try:
            await loaded.wait_for(timeout=60_000 if attempt == 0 else ARRIVAL_TIMEOUT_MS)
            break
        except Exception:  # noqa: BLE001 - the second attempt's timeout is raised
            if attempt:
                raise
            if await page.locator("[data-testid=stSidebar] [data-testid=stFileChip]").count():
                await loaded.wait_for(timeout=ARRIVAL_TIMEOUT_MS)  # it did arrive: a second one would upload twice
                break
            s.upload_retries += 1
            await page.reload()
    s.record("upload", (time.perf_counter() - t0) * 1000)
    await wait_idle(page)
    s.uploaded = True


async def ws_arrive_and_upload(c, s: Session, zip_path: Path):
    """A websocket student's arrival: the lecturer's link, its identity kept, its own copy of the model uploaded
    (both timed); returns the page as the upload left it."""
    t0 = time.perf_counter()
    await c.open()
    s.process = c.process
    await c.rerun(query=f"model={UPLOADED_MODEL.name}")
    await c.keep_identity()
    s.record("first load", (time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    view = await c.upload("ckpt_upload", zip_path)
    if not any(m.startswith(f"Loaded {zip_path.stem}") for m in view.successes):
        raise RuntimeError(f"the upload was not loaded: {view.errors}")
    s.record("upload", (time.perf_counter() - t0) * 1000)
    s.uploaded = True
    return view


async def sliders_round(page, s: Session, rng: random.Random, presses: int) -> None:
    await go_to(page, "Latent sliders", "Latent sliders", s)
    live = page.get_by_text("Live: decode in the browser")
    sliders = page.locator("[data-testid=stSlider] input[type=range]")
    # under load the title can show (and the script look idle) a moment before the page's widgets do
    try:
        await sliders.or_(live).first.wait_for(timeout=TIMEOUT_MS)
    except Exception:  # noqa: BLE001 - reported just below as a failed interaction
        pass
    for _ in range(2):  # a click that lands while the page is still rerunning can be lost: one retry
        if await sliders.count() or not await live.count():
            break
        await measured(page, "toggle", "click", live.first.click, SERVER_SLIDERS, s)
    if await sliders.count() == 0:
        s.failures.append("slider: no server-drawn slider on the sliders page")
        return
    for _ in range(presses):
        which = sliders.nth(rng.randrange(await sliders.count()))
        await which.focus()
        key = rng.choice(["ArrowRight", "ArrowLeft"])
        await measured(page, "slider", "keydown", lambda: page.keyboard.press(key), NEW_IMAGE, s)
        await page.wait_for_timeout(rng.uniform(100, 600))  # a user's pause between moves


async def read_picker(page) -> list[str]:
    """Every model in the sidebar's picker. A click that lands while the page reruns can leave the list
    closed: the click is tried again until the list opens."""
    box = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").filter(has_text="Loaded model")
    deadline = time.time() + TIMEOUT_MS / 1000
    while True:
        await wait_idle(page)
        await box.click()
        try:
            await page.locator("[role=option]").first.wait_for(timeout=15_000)
            break
        except Exception:  # noqa: BLE001 - closed again by a rerun, or not opened: try once more
            await page.keyboard.press("Escape")
            if time.time() > deadline:
                raise
    options = await page.evaluate(ALL_OPTIONS_JS)
    await page.keyboard.press("Escape")
    return list(options or [])


async def start_training(page, name: str, epochs: int, expect) -> None:
    """Fill in the Train page's settings and press Start until ``expect`` (a locator) shows: a click
    that lands while the page is still rerunning for the last input can be lost."""
    await page.locator(".st-key-train_epochs input").fill(str(epochs))
    await page.locator(".st-key-train_hidden input").fill("32")
    await page.locator(".st-key-train_name input").fill(name)
    await page.locator(".st-key-train_name input").press("Enter")
    for attempt in range(4):
        await wait_idle(page)
        await page.locator(".st-key-train_start button").click()
        try:
            await expect.first.wait_for(timeout=20_000 * (attempt + 1))
            return
        except Exception:  # noqa: BLE001 - try the click again
            continue
    await expect.first.wait_for(timeout=TIMEOUT_MS)


async def trainer(page, s: Session, phases: "Phases") -> None:
    """Session 0: trains on the digits through the whole load phase, watching the live curves, then
    stops (after session 1 met the cap and at least one epoch ended, so that a model is published)."""
    await go_to(page, "Train", "Train a VAE", s)
    await start_training(page, TRAINED_NAME, 500, page.get_by_text(f"Run: {TRAINED_NAME}"))
    phases.training_started.set()
    await asyncio.wait_for(phases.cap_checked.wait(), TIMEOUT_MS / 1000)
    while time.time() < phases.load_until - 5:
        await page.wait_for_timeout(1000)
    epoch_done = page.locator("[data-testid=stMetricValue]", has_text=re.compile(r"^\s*[1-9][0-9]* / "))
    await epoch_done.first.wait_for(timeout=TIMEOUT_MS)
    ended = page.get_by_text(re.compile("Stopped after|Finished"))
    # 500 epochs (the form's most) took 54 s on an idle machine: the run may have finished before the load phase
    # did, and then there is no Stop button to press (the harness waited 90 s for one: s00's "failure")
    if not await ended.count():
        try:
            await page.locator(".st-key-train_stop button").first.click(timeout=15_000)
        except Exception:  # noqa: BLE001 - it finished between the look and the click: nothing to stop
            pass
    await ended.first.wait_for(timeout=TIMEOUT_MS)
    await wait_idle(page)
    s.trained = True


async def second_trainer(page, s: Session, phases: "Phases") -> None:
    """Session 1: asks for a second training while session 0 trains; the cap must refuse it."""
    try:
        await asyncio.wait_for(phases.training_started.wait(), TIMEOUT_MS / 1000)
        await go_to(page, "Train", "Train a VAE", s)
        alert = page.locator("[data-testid=stAlertContentError]", has_text="already running")
        await start_training(page, "second", 5, alert)
        s.cap_message = (await alert.first.inner_text()).strip()
    finally:
        phases.cap_checked.set()


@dataclass
class Phases:
    """Sessions arrive over the ramp-up and upload; the load starts when all are in, for ``duration`` s."""

    n: int
    duration: float
    ready: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    training_started: asyncio.Event = field(default_factory=asyncio.Event)
    cap_checked: asyncio.Event = field(default_factory=asyncio.Event)
    load_from: float = 0.0
    load_until: float = 0.0

    def arrived(self) -> None:
        self.ready += 1
        if self.ready == self.n:
            self.load_from = time.time()
            self.load_until = self.load_from + self.duration
            self.all_in.set()


async def run_session(browser, url: str, s: Session, zip_path: Path, start_delay: float, phases: Phases,
                      presses: int) -> None:
    rng = random.Random(s.index)
    await asyncio.sleep(start_delay)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("pageerror", lambda e: s.failures.append(f"page error: {str(e)[:160]}"))
    s.log = BrowserLog()
    s.log.watch(page)
    arrived = False
    try:
        s.log.stage = "arriving (the first page)"
        t0 = time.perf_counter()
        # a link the lecturer shared: the default page with the small digits model
        await page.goto(f"{url}/?model={UPLOADED_MODEL.name}", wait_until="domcontentloaded",
                        timeout=ARRIVAL_TIMEOUT_MS)
        await page.locator("[data-testid=stMain] h1").first.wait_for(timeout=ARRIVAL_TIMEOUT_MS)
        await wait_idle(page, ARRIVAL_TIMEOUT_MS)
        s.record("first load", (time.perf_counter() - t0) * 1000)
        s.process = next((c["value"] for c in await context.cookies() if c["name"] == PROCESS_COOKIE), "")
        s.log.stage = "uploading its checkpoint"
        await upload(page, zip_path, s)
        phases.arrived()
        arrived = True
        s.log.stage = "waiting for the others to arrive"
        await phases.all_in.wait()
        load_until = phases.load_until
        s.log.stage = "training (session 0)" if s.index == 0 else "switching pages and moving sliders"
        if s.index == 0:
            try:
                await trainer(page, s, phases)
            finally:
                phases.training_started.set()  # never leave session 1 waiting
        else:
            if s.index == 1 and not CLASS_PROFILE:
                await second_trainer(page, s, phases)
            while time.time() < load_until:
                await sliders_round(page, s, rng, presses)
                link = rng.choice(list(OTHER_PAGES))
                await go_to(page, link, OTHER_PAGES[link], s)
                await page.wait_for_timeout(rng.uniform(300, 1000))
        s.log.stage = "reading its model list"
        await wait_idle(page)
        s.picker = await read_picker(page)
        s.log.stage = "reloading the page (F5)"
        await page.reload()  # F5: the browser's own models must come back (its identity in local storage)
        await page.locator("[data-testid=stMain] h1").first.wait_for(timeout=ARRIVAL_TIMEOUT_MS)
        await wait_idle(page, ARRIVAL_TIMEOUT_MS)
        s.log.stage = "reading its model list after the reload"
        s.picker_after_reload = await read_picker(page)
    except Exception as e:  # noqa: BLE001 - reported, and the isolation check then fails for this session
        s.failures.append(f"session: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
        try:
            now = next((c["value"] for c in await context.cookies() if c["name"] == PROCESS_COOKIE), "")
        except Exception:  # noqa: BLE001 - a closed context has no cookies to read
            now = ""
        s.stuck = {"stage": s.log.stage, "state": await page_state(page), "process_now": now}
        if SHOTS is not None:
            try:
                await page.screenshot(path=str(SHOTS / f"failed-{s.name}.png"), timeout=60_000)
            except Exception as shot_error:  # noqa: BLE001 - the screenshot is a courtesy
                s.failures.append(f"screenshot: {type(shot_error).__name__}")
        if not arrived:
            phases.arrived()  # a session that failed to arrive must not hold the others back
        if s.index == 1:
            phases.cap_checked.set()
    finally:
        await context.close()


# ---------------------------------------------------------------- websocket sessions


@dataclass
class RunView:
    """What one script run sent to a session (the parts this benchmark reads)."""

    widgets: dict[str, object] = field(default_factory=dict)  # key -> the widget's proto (has .id)
    titles: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # image URLs (media paths or data: URLs)
    decoded: list[str] = field(default_factory=list)  # those of the images captioned decode(z)
    errors: list[str] = field(default_factory=list)
    successes: list[str] = field(default_factory=list)
    exceptions: int = 0
    fragments: dict[str, str] = field(default_factory=dict)  # widget key -> the fragment it was drawn in ("": none)
    charts: int = 0  # Plotly charts
    identity: tuple[str, dict] | None = None  # the browser-identity component: (its id, its data)
    progress: list[str] = field(default_factory=list)  # progress bars' texts


class WsClient:
    """A Streamlit session driven over its websocket, as the browser drives it, with no page to
    render: the load it puts on the server is a browser's, its own CPU cost is tiny.

    Protocol (Streamlit 1.67): BackMsg.rerun_script(ClientState) asks for a run with widget values,
    a page (page_script_hash) and the URL's query string; the server answers with ForwardMsgs
    (deltas) and ends with script_finished. Uploads: BackMsg.file_urls_request, an HTTP PUT of
    the file, then the uploader's widget state."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.ws = None
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path ('' for the default page) -> page_script_hash
        self.page_hash = ""
        self.query = ""
        self.view = RunView()
        self.xsrf = ""
        self.cookies: dict[str, str] = {}  # as a browser keeps them: the XSRF token, the proxy's process cookie

    @property
    def process(self) -> str:
        """The app process the proxy tied this session to (its affinity cookie), or "" without a proxy."""
        return self.cookies.get(PROCESS_COOKIE, "")

    def cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def open(self) -> None:
        import websockets

        await asyncio.to_thread(self._first_request)
        self.xsrf = self.cookies.get("_streamlit_xsrf", "")
        self.ws = await websockets.connect(self.base.replace("http", "ws", 1) + "/_stcore/stream",
                                           subprotocols=["streamlit", self.xsrf or "x"],
                                           additional_headers=self.cookie_header(), max_size=None,
                                           open_timeout=120, ping_interval=None)  # as a browser: the server pings

    def _first_request(self) -> None:
        """What a browser's first request brings back: Streamlit's XSRF cookie and, behind the proxy, the
        cookie naming this browser's process."""
        with urllib.request.urlopen(self.base + "/_stcore/health", timeout=60) as r:
            for header in r.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, page: str | None = None, widgets: list | None = None, query: str | None = None,
                    fragment: str = "") -> RunView:
        """One script run: on ``page`` (url path), with ``widgets`` (WidgetState protos) changed; with
        ``fragment``, only that fragment reruns, as a browser asks when a widget inside one changes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if page is not None:
            self.page_hash = self.pages.get(page, "")
        if query is not None:
            self.query = query
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        state.fragment_id = fragment
        if widgets:
            state.widget_states.widgets.extend(widgets)
        await self.ws.send(msg.SerializeToString())
        return await self._read_run(fragment)

    async def _read_run(self, fragment: str = "") -> RunView:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        view = RunView()
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT_MS / 1000))
            kind = fm.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fm.new_session.initialize.session_id or self.session_id
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
            elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self._element(fm.delta.new_element, view, fm.delta.fragment_id)
            elif kind == "script_finished":
                if fm.script_finished in (fm.FINISHED_SUCCESSFULLY, fm.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    if fm.script_finished == fm.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:  # the rest of the page stays
                        view.widgets = {**self.view.widgets, **view.widgets}
                        view.fragments = {**self.view.fragments, **view.fragments}
                    self.view = view
                    return view
                if fm.script_finished == fm.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError("the script did not compile")
                view = RunView()  # finished early for a rerun (st.rerun): the next run follows

    @staticmethod
    def _element(el, view: RunView, fragment_id: str = "") -> None:
        t = el.WhichOneof("type")
        sub = getattr(el, t)
        wid = getattr(sub, "id", "")
        if isinstance(wid, str) and wid.startswith("$$ID-"):
            key = wid.split("-", 2)[2]
            view.widgets[key] = sub
            view.fragments[key] = fragment_id
        if t == "heading" and sub.tag == "h1":
            view.titles.append(sub.body)
        elif t == "imgs":
            view.images += [img.url for img in sub.imgs]
            view.decoded += [img.url for img in sub.imgs if img.caption.startswith("decode(z)")]
        elif t == "alert" and sub.format == 1:
            view.errors.append(sub.body)
        elif t == "alert" and sub.format == 4:
            view.successes.append(sub.body)
        elif t == "exception":
            view.exceptions += 1
        elif t == "plotly_chart":
            view.charts += 1
        elif t == "bidi_component" and sub.component_name.endswith(IDENTITY_COMPONENT):
            from ui.component_data import unpack

            view.identity = (sub.id, unpack(sub.bytes)[0] if sub.bytes else json.loads(sub.json or "{}"))
        elif t == "progress":
            view.progress.append(sub.text)

    async def keep_identity(self) -> None:
        """Do what ui/js/identity.js does in a browser: keep the token the server gave, as the cookie a next
        visit sends (this session goes on as a browser's first visit)."""
        if self.view.identity is not None and self.view.identity[1].get("token"):
            self.cookies[IDENTITY_COOKIE] = self.view.identity[1]["token"]

    async def fetch(self, url: str) -> int:
        def get() -> int:
            req = urllib.request.Request(self.base + url, headers=self.cookie_header())
            with urllib.request.urlopen(req, timeout=60) as r:
                return len(r.read())
        return await asyncio.to_thread(get)

    async def upload(self, key: str, path: Path) -> RunView:
        """Upload a file through the uploader widget ``key`` of the current page."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.Common_pb2 import UploadedFileInfo
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        msg = BackMsg()
        msg.file_urls_request.request_id = f"r{random.random()}"
        msg.file_urls_request.file_names.append(path.name)
        msg.file_urls_request.session_id = self.session_id
        await self.ws.send(msg.SerializeToString())
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await asyncio.wait_for(self.ws.recv(), TIMEOUT_MS / 1000))
            if fm.WhichOneof("type") == "file_urls_response":
                urls = fm.file_urls_response.file_urls[0]
                break
        data = path.read_bytes()
        await asyncio.to_thread(self._put, urls.upload_url, path.name, data)
        state = WidgetState(id=self.view.widgets[key].id)
        info = UploadedFileInfo(file_id=urls.file_id, name=path.name, size=len(data))
        info.file_urls.CopyFrom(urls)
        state.file_uploader_state_value.uploaded_file_info.append(info)
        return await self.rerun(widgets=[state])

    def _put(self, url: str, name: str, data: bytes) -> None:
        boundary = f"----vae{random.getrandbits(64):x}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                f"Content-Type: application/zip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        target = url if url.startswith("http") else self.base + url
        req = urllib.request.Request(target, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.xsrf,
            **self.cookie_header()})
        with urllib.request.urlopen(req, timeout=120) as r:
            if r.status not in (200, 204):
                raise RuntimeError(f"upload answered {r.status}")


def widget_state(proto, **value):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=proto.id)
    for name, v in value.items():
        if name in ("double_array_value", "string_array_value"):
            getattr(state, name).data.extend(v)
        else:
            setattr(state, name, v)
    return state


async def ws_timed(s: Session, kind: str, coro):
    """Await ``coro`` (a rerun), recording its time; None when it failed."""
    t0 = time.perf_counter()
    try:
        view = await coro
    except Exception as e:  # noqa: BLE001 - a timeout or a closed socket is a failed interaction
        s.failures.append(f"{kind}: {type(e).__name__}: {str(e)[:160]}")
        return None
    s.record(kind, (time.perf_counter() - t0) * 1000)
    s.exceptions_seen += view.exceptions
    return view


WS_PAGES = {"sliders": "Latent sliders", "": "Latent map", "generate": "Generate", "how_it_works": "How it works",
            "models": "Models"}


async def ws_sliders_round(c: WsClient, s: Session, rng: random.Random, presses: int) -> None:
    view = await ws_timed(s, "page", c.rerun(page="sliders"))
    if view is None:
        return
    if "sliders_live" in view.widgets and view.widgets["sliders_live"].default:  # in a fragment: as a browser does,
        view = await ws_timed(s, "toggle", c.rerun(  # only that fragment is asked to rerun
            widgets=[widget_state(view.widgets["sliders_live"], bool_value=False)],
            fragment=view.fragments.get("sliders_live", "") if FRAGMENT_RERUNS else ""))
        if view is None:
            return
    keys = sorted(k for k in view.widgets if k.startswith("sliders_z"))
    if not keys:
        s.failures.append("slider: no server-drawn slider on the sliders page")
        return
    values = {k: list(view.widgets[k].value or view.widgets[k].default)[0] for k in keys}
    for _ in range(presses):
        key = rng.choice(keys)
        values[key] = max(-3.0, min(3.0, round(values[key] + rng.choice([-0.05, 0.05]), 2)))
        before = c.view.decoded[:1]

        async def move_and_show():
            v = await c.rerun(widgets=[widget_state(c.view.widgets[key], double_array_value=[values[key]])],
                              fragment=c.view.fragments.get(key, "") if FRAGMENT_RERUNS else "")
            if not v.decoded or v.decoded[:1] == before:
                raise RuntimeError("the slider move did not draw a new image")
            if not v.decoded[0].startswith("data:"):  # inline images arrive with the message
                await c.fetch(v.decoded[0])  # the browser loads the new image
            return v
        await ws_timed(s, "slider", move_and_show())
        await asyncio.sleep(rng.uniform(0.1, 0.6))  # a user's pause between moves


async def run_ws_session(url: str, s: Session, zip_path: Path, start_delay: float, phases: "Phases",
                         presses: int) -> None:
    rng = random.Random(s.index)
    await asyncio.sleep(start_delay)
    c = WsClient(url)
    arrived = False
    try:
        view = await ws_arrive_and_upload(c, s, zip_path)
        phases.arrived()
        arrived = True
        await phases.all_in.wait()
        while time.time() < phases.load_until:
            await ws_sliders_round(c, s, rng, presses)
            page = rng.choice([p for p in WS_PAGES if p != "sliders"])
            view = await ws_timed(s, "page", c.rerun(page=page))
            if view is not None and not any(t.startswith(WS_PAGES[page]) for t in view.titles):
                s.failures.append(f"page: {page or 'default'} showed {view.titles}")
            await asyncio.sleep(rng.uniform(0.3, 1.0))
        view = await c.rerun()
        s.picker = list(next(w for k, w in view.widgets.items() if k.startswith("model_picker")).options)
    except Exception as e:  # noqa: BLE001 - reported; the isolation check then fails for this session
        s.failures.append(f"session: {type(e).__name__}: {str(e)[:200]}")
        s.stuck = {"stage": "its websocket session" + ("" if arrived else " (arriving)"), "state": None,
                   "process_now": c.process}
        if not arrived:
            phases.arrived()
    finally:
        await c.close()


# ---------------------------------------------------------------- the class profile

CLASS_PAUSE = (2.0, 5.0)  # seconds between a student's actions
CLASS_EPOCHS = 3  # a student's training: the 8x8 digits, MLP 32, this many epochs


async def class_light_step(c: WsClient, s: Session, rng: random.Random) -> None:
    """One action of a student: mostly a slider move on the sliders page (going there first when elsewhere,
    with Live off), else a switch to another page."""
    on_sliders = any(t.startswith("Latent sliders") for t in c.view.titles) or any(
        k.startswith("sliders_z") for k in c.view.widgets if c.view.fragments.get(k))
    if rng.random() < 0.6:
        if not on_sliders:
            await ws_sliders_round(c, s, rng, presses=0)
            return
        keys = sorted(k for k in c.view.widgets if k.startswith("sliders_z"))
        if not keys:
            await ws_sliders_round(c, s, rng, presses=0)
            return
        key = rng.choice(keys)
        old = list(c.view.widgets[key].value or c.view.widgets[key].default)[0]
        new = max(-3.0, min(3.0, round(old + rng.choice([-0.25, 0.25]), 2)))
        await ws_timed(s, "slider", c.rerun(widgets=[widget_state(c.view.widgets[key], double_array_value=[new])],
                                            fragment=c.view.fragments.get(key, "") if FRAGMENT_RERUNS else ""))
        return
    page = rng.choice([p for p in WS_PAGES if p != "sliders"])
    view = await ws_timed(s, "page", c.rerun(page=page))
    if view is not None and not any(t.startswith(WS_PAGES[page]) for t in view.titles):
        s.failures.append(f"page: {page or 'default'} showed {view.titles}")


async def class_heavy_step(c: WsClient, s: Session, state: dict) -> None:
    """One action of a student who trains: start a small training on the Train page (again later when the
    server's cap refuses it), look at it until it is saved, load it, then ask for its t-SNE map and look at
    the latent map until it is drawn."""
    name = f"class-{s.name}"
    if state["step"] == "train":
        view = await ws_timed(s, "page", c.rerun(page="train"))
        if view is None or "train_start" not in view.widgets:
            return
        w = view.widgets
        t0 = time.perf_counter()
        view = await ws_timed(s, "train start", c.rerun(widgets=[
            widget_state(w["train_epochs"], double_value=CLASS_EPOCHS), widget_state(w["train_hidden"], string_value="32"),
            widget_state(w["train_name"], string_value=name), widget_state(w["train_start"], trigger_value=True)]))
        if view is None:
            return
        if any("already running" in e for e in view.errors):
            s.refused += 1
            return
        state.update(step="training", since=time.time() - (time.perf_counter() - t0))
    elif state["step"] == "training":
        view = await ws_timed(s, "page", c.rerun(page="train"))
        if view is None or "train_load" not in view.widgets:
            return
        s.record("training", (time.time() - state["since"]) * 1000)
        if await ws_timed(s, "load", c.rerun(widgets=[widget_state(view.widgets["train_load"],
                                                                    trigger_value=True)])) is None:
            return
        view = await ws_timed(s, "page", c.rerun(page=""))
        if view is None or "latent_map_method" not in view.widgets:
            return
        state.update(step="projection", since=time.time())
        view = await ws_timed(s, "map", c.rerun(widgets=[widget_state(view.widgets["latent_map_method"],
                                                                       string_array_value=["t-SNE"])]))
        if view is not None and not view.progress:
            s.record("projection", (time.time() - state["since"]) * 1000)
            state["step"] = "done"
    elif state["step"] == "projection":
        view = await ws_timed(s, "page", c.rerun(page=""))
        if view is not None and not view.progress:
            s.record("projection", (time.time() - state["since"]) * 1000)
            state["step"] = "done"
            s.trained = True


async def run_class_session(url: str, s: Session, zip_path: Path, start_delay: float, phases: "Phases",
                            heavy: bool) -> None:
    rng = random.Random(s.index)
    await asyncio.sleep(start_delay)
    c = WsClient(url)
    arrived = False
    state = {"step": "train" if heavy else "done"}
    try:
        view = await ws_arrive_and_upload(c, s, zip_path)
        phases.arrived()
        arrived = True
        await phases.all_in.wait()
        await asyncio.sleep(rng.uniform(0, CLASS_PAUSE[1]))  # students do not all act on the same beat
        while time.time() < phases.load_until:
            if state["step"] != "done":
                await class_heavy_step(c, s, state)
            else:
                await class_light_step(c, s, rng)
            await asyncio.sleep(rng.uniform(*CLASS_PAUSE))
        view = await c.rerun()
        s.picker = list(next(w for k, w in view.widgets.items() if k.startswith("model_picker")).options)
        s.heavy_step = state["step"]
    except Exception as e:  # noqa: BLE001 - reported; the isolation check then fails for this session
        s.failures.append(f"session: {type(e).__name__}: {str(e)[:200]}")
        s.stuck = {"stage": "its websocket session" + ("" if arrived else " (arriving)"), "state": None,
                   "process_now": c.process}
        if not arrived:
            phases.arrived()
    finally:
        await c.close()


# ---------------------------------------------------------------- the run and its report


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def isolation_problems(sessions: list[Session]) -> list[str]:
    problems = []
    for s in sessions:
        mine = f"upload-{s.name} (uploaded)"
        own = re.compile(rf"upload-{s.name}(-[0-9]+)? \(uploaded\)")  # -2: uploaded again after a reload
        if not s.picker:
            problems.append(f"{s.name}: the model list could not be read")
            continue
        if mine not in s.picker:
            problems.append(f"{s.name}: its own upload is missing from {s.picker}")
        others = [o for o in s.picker if o.startswith("upload-") and not own.fullmatch(o)]
        if others:
            problems.append(f"{s.name} sees other sessions' uploads: {others}")
        sees_trained = any(o.startswith(TRAINED_NAME) for o in s.picker)
        if s.index == 0 and s.trained and not sees_trained:
            problems.append(f"{s.name}: its trained model is missing from {s.picker}")
        if s.index != 0 and sees_trained:
            problems.append(f"{s.name} sees session 0's trained model")
        others_trained = [o for o in s.picker if o.startswith("class-") and not o.startswith(f"class-{s.name}")]
        if others_trained:
            problems.append(f"{s.name} sees other students' trained models: {others_trained}")
        if s.picker_after_reload is not None:
            lost = [o for o in s.picker if o.endswith(("(uploaded)", "(trained)")) and o not in s.picker_after_reload]
            if lost:
                problems.append(f"{s.name}: after a reload its models {lost} are gone from {s.picker_after_reload}")
    return problems


async def run_load(url: str, n: int, duration: float, ramp: float, presses: int, workdir: Path,
                   client: str = "browser", profile: str = "hammer") -> tuple[list[Session], Phases]:
    from playwright.async_api import async_playwright

    from vae_core.store.checkpoints import export_zip

    data = export_zip(UPLOADED_MODEL)
    zips = []
    for i in range(n):
        path = workdir / f"upload-s{i:02d}.zip"
        path.write_bytes(data)
        zips.append(path)
    sessions = [Session(i) for i in range(n)]
    phases = Phases(n, duration)
    global CLASS_PROFILE
    CLASS_PROFILE = profile == "class"
    if n < 2 or CLASS_PROFILE:
        phases.cap_checked.set()  # nobody to try a second training
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tasks = []
        for s in sessions:
            delay = ramp * s.index / max(n, 1)
            if client == "ws" and s.index >= 2:  # sessions 0 and 1 (training, the cap) stay in browsers
                s.kind = "ws"
                if profile == "class":  # a third of the students train and compute a map
                    s.heavy = s.index % 3 == 2
                    tasks.append(run_class_session(url, s, zips[s.index], delay, phases, s.heavy))
                else:
                    tasks.append(run_ws_session(url, s, zips[s.index], delay, phases, presses))
            else:
                tasks.append(run_session(browser, url, s, zips[s.index], delay, phases, presses))
        await asyncio.gather(*tasks)
        await browser.close()
    return sessions, phases


def failure_lines(sessions: list[Session], proxy: dict | None) -> list[str]:
    """Every failure, each with its cause: what the session was doing, what its page and network saw, and what
    the proxy saw of its process."""
    lines = []
    for s in sessions:
        for f in s.failures:
            if f.startswith("session:") and s.stuck is not None:
                why = cause(s.stuck["stage"], s.stuck["state"], s.log, s.process, s.stuck["process_now"], proxy)
            else:
                why = cause("an interaction", None, s.log, s.process, "", proxy)
            where = f" ({s.kind}, {s.process})" if s.process else f" ({s.kind})"
            lines.append(f"{s.name}{where} {f} -- {why}")
    return lines


def summarize(sessions: list[Session], server: Server, started: float, load_from: float, load_until: float,
              rss_idle: int, n: int, duration: float) -> dict:
    kinds: dict[str, list[float]] = {}
    steady: dict[str, list[float]] = {}
    for s in sessions:
        for kind, rows in s.latencies.items():
            name = f"{kind} ({s.kind})"
            kinds.setdefault(name, []).extend(ms for _, ms in rows)
            steady.setdefault(name, []).extend(ms for when, ms in rows if load_from <= when <= load_until)
    rss = [r for _, r, _ in server.samples]
    cpu = [(t, c) for t, _, c in server.samples if load_from <= t <= load_until]
    cpu_share = (cpu[-1][1] - cpu[0][1]) / (cpu[-1][0] - cpu[0][0]) if len(cpu) > 1 else float("nan")
    cpu_seconds = cpu[-1][1] - cpu[0][1] if len(cpu) > 1 else float("nan")
    in_load = sum(len(v) for k, v in steady.items() if k.split(" (")[0] in INTERACTIONS)
    clients = [(t, c) for t, c in server.client_samples if load_from <= t <= load_until]
    client_cores = ({k: (clients[-1][1][k] - clients[0][1][k]) / (clients[-1][0] - clients[0][0])
                     for k in clients[0][1]} if len(clients) > 1 else {})
    try:
        proxy = server.proxy_stats() if server.proxied else None
    except OSError as e:
        proxy = {"unreadable": {"status": f"{type(e).__name__}"}}
    per_process: dict[str, int] = {}
    for s in sessions:
        per_process[s.process or "-"] = per_process.get(s.process or "-", 0) + 1
    report = {
        "sessions": n, "load_seconds": duration, "cpu_cores": os.cpu_count(),
        "browser_sessions": sum(s.kind == "browser" for s in sessions),
        "websocket_sessions": sum(s.kind == "ws" for s in sessions),
        "interactions": {k: len(v) for k, v in kinds.items()},
        "latency_ms": {k: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "max": max(v)}
                       for k, v in kinds.items() if v},
        "latency_ms_load_phase": {k: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "n": len(v)}
                                           for k, v in steady.items() if v},
        "server_rss_mb": {"idle_before": rss_idle / 2**20, "peak": max(rss) / 2**20 if rss else None,
                          "end": rss[-1] / 2**20 if rss else None},
        "server_cpu_cores_used_during_load": cpu_share,
        "client_cpu_cores_used_during_load": client_cores,
        "server_cpu_ms_per_interaction": cpu_seconds * 1000 / in_load if in_load else float("nan"),
        "interactions_during_load": in_load,
        "processes": server.processes,
        "through_proxy": server.proxied,
        "sessions_per_process": dict(sorted(per_process.items())),
        "failed_interactions": sum(len(s.failures) for s in sessions),
        "failures": failure_lines(sessions, proxy),
        "proxy": proxy,
        "health_check_seconds": {name: {"n": len(v), "p50": percentile(v, 0.5), "max": max(v),
                                        "over_2s": sum(t > 2 for t in v)}
                                 for name, v in sorted(getattr(server, "health", {}).items()) if v},
        "exceptions_shown": sum(s.exceptions_seen for s in sessions),
        "uploads_done": sum(s.uploaded for s in sessions),
        "reloads_checked": sum(s.picker_after_reload is not None for s in sessions),
        "students_who_train": sum(s.heavy for s in sessions),
        "students_trained_and_mapped": sum(s.heavy and s.heavy_step == "done" for s in sessions),
        "trainings_refused_by_cap": sum(s.refused for s in sessions),
        "isolation_problems": isolation_problems(sessions),
        "cap_message": next((s.cap_message for s in sessions if s.cap_message), None),
        "trained_model_published": any(s.trained for s in sessions),
        "server_alive_at_end": server.alive(),
        "load_average_1min_at_end": os.getloadavg()[0],
        "wall_seconds": time.time() - started,
    }
    return report


def print_report(r: dict) -> None:
    where = (f"{r['processes']} app process(es) behind HAProxy, sessions per process {r['sessions_per_process']}"
             if r["through_proxy"] else "one app process, no proxy")
    print(f"\n{r['sessions']} sessions ({r['browser_sessions']} in Chromium, {r['websocket_sessions']} websocket "
          f"clients), {r['load_seconds']:.0f} s of load, {r['cpu_cores']} CPU cores; {where}")
    print(f"{'interaction (client)':<22} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   "
          f"{'load phase only: n':>18} {'p50':>6} {'p95':>6}")
    for kind, stats in sorted(r["latency_ms"].items()):
        lp = r["latency_ms_load_phase"].get(kind, {"n": 0, "p50": float("nan"), "p95": float("nan")})
        print(f"{kind:<22} {r['interactions'][kind]:>6} {stats['p50']:>8.0f} {stats['p95']:>8.0f} {stats['max']:>8.0f}   "
              f"{lp['n']:>18} {lp['p50']:>6.0f} {lp['p95']:>6.0f}")
    m = r["server_rss_mb"]
    print(f"server RSS: {m['idle_before']:.0f} MB idle before, {m['peak']:.0f} MB peak, {m['end']:.0f} MB at the end; "
          f"server CPU during load: {r['server_cpu_cores_used_during_load']:.2f} cores, "
          f"{r['server_cpu_ms_per_interaction']:.0f} ms per interaction ({r['interactions_during_load']} interactions)")
    if r.get("client_cpu_cores_used_during_load"):
        print("the clients on the same cores during load: " + ", ".join(
            f"{k} {v:.2f} cores" for k, v in r["client_cpu_cores_used_during_load"].items()))
    print(f"failed interactions: {r['failed_interactions']}"
          + (f" ({'; '.join(f.split(' -- ')[0] for f in r['failures'])})" if r["failures"] else "")
          + f"; exception boxes seen: {r['exceptions_shown']}; uploads: {r['uploads_done']}/{r['sessions']}")
    for f in r["failures"]:  # each with its cause
        print("  ", f)
    if r.get("proxy"):
        print(f"HAProxy: {proxy_summary(r['proxy'])}; /_stcore/health answered in " + "; ".join(
            f"{name}: p50 {h['p50'] * 1000:.0f} ms, max {h['max'] * 1000:.0f} ms, {h['over_2s']} of {h['n']} over 2 s"
            for name, h in r.get("health_check_seconds", {}).items()))
    print(f"isolation: {'OK' if not r['isolation_problems'] else r['isolation_problems']}")
    print(f"training cap message: {r['cap_message']!r}; trained model published: {r['trained_model_published']}; "
          f"model lists checked after a reload: {r['reloads_checked']}")
    if r["students_who_train"]:
        print(f"class profile: {r['students_trained_and_mapped']} of {r['students_who_train']} training students "
              f"trained a model and drew its t-SNE map; {r['trainings_refused_by_cap']} starts refused by the cap "
              "(tried again later)")
    print(f"server alive at the end: {r['server_alive_at_end']}; wall time {r['wall_seconds']:.0f} s; "
          f"machine load average (1 min) {r['load_average_1min_before']:.1f} before, "
          f"{r['load_average_1min_at_end']:.1f} at the end")


def run_once(args, processes: int | None, app_dir: Path) -> dict:
    """One full run against a fresh data folder: one process (processes None: no proxy) or several behind HAProxy."""
    ramp = args.ramp if args.ramp is not None else 2.0 * args.sessions
    workdir = Path(tempfile.mkdtemp(prefix="vae-load-"))
    (workdir / "home").mkdir()
    started = time.time()
    load_before = os.getloadavg()[0]
    max_trainings = 1 if args.profile == "hammer" else args.max_trainings
    server = (Server(workdir / "home", max_trainings, app_dir) if processes is None
              else ProxiedServer(workdir / "home", processes, max_trainings, app_dir))
    try:
        time.sleep(2)
        rss_idle = server.rss_now()
        sessions, phases = asyncio.run(run_load(server.url, args.sessions, args.duration, ramp, args.presses,
                                                workdir, args.client, args.profile))
        report = summarize(sessions, server, started, phases.load_from, phases.load_until, rss_idle,
                           args.sessions, args.duration)
        on_disk = sorted(p.name for p in (workdir / "home" / "sessions").glob("*/runs/*"))
        report["profile"] = args.profile
        report["trained_models_on_disk"] = on_disk
        report["load_average_1min_before"] = load_before
        report["upload_folders_on_disk"] = len(list((workdir / "home" / "uploads").glob("*")))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(report)
    return report


def print_comparison(reports: list[dict]) -> None:
    """Each run's p95 (load phase) and its ratio to the first run's, by interaction."""
    base = reports[0]
    print("\nThe same load against each server (load phase p95, ms; ratio to the first run):")
    kinds = sorted(k for k in base["latency_ms_load_phase"] if k.split(" (")[0] in INTERACTIONS)
    print(f"{'server':<36}" + "".join(f"{k:>20}" for k in kinds) + f"{'CPU ms/interaction':>20}{'RSS MB':>8}")
    for r in reports:
        name = f"{r['processes']} process(es)" + (" behind HAProxy" if r["through_proxy"] else ", no proxy")
        cells = []
        for k in kinds:
            v = r["latency_ms_load_phase"].get(k, {}).get("p95", float("nan"))
            ref = base["latency_ms_load_phase"].get(k, {}).get("p95", float("nan"))
            cells.append(f"{v:>9.0f} ({v / ref:4.2f}x)" if ref == ref and ref else f"{v:>20.0f}")
        print(f"{name:<36}" + "".join(f"{c:>20}" for c in cells)
              + f"{r['server_cpu_ms_per_interaction']:>20.0f}{r['server_rss_mb']['peak']:>8.0f}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--duration", type=float, default=75.0, help="seconds of load after the ramp-up")
    ap.add_argument("--ramp", type=float, default=None, help="seconds over which sessions arrive (default 2 s each)")
    ap.add_argument("--presses", type=int, default=4, help="slider moves per visit of the sliders page")
    ap.add_argument("--json", default=None, help="write the report here")
    ap.add_argument("--shots", default=None, help="folder for screenshots of failed sessions")
    ap.add_argument("--client", choices=["browser", "ws"], default="browser",
                    help="browser: every session is a Chromium context; ws: sessions 2.. are websocket clients "
                         "(the server sees a browser session, but no page is rendered on this machine)")
    ap.add_argument("--processes", default=None,
                    help="comma-separated process counts, e.g. 1,2: one run per count, each behind HAProxy "
                         "(python -m serve), in this invocation; default: one process, no proxy")
    ap.add_argument("--profile", choices=["hammer", "class", "class-live"], default="hammer",
                    help="hammer: every session acts continuously; class: each acts every 2-5 s and a third of "
                         "them train a model and compute its t-SNE map; class-live: 60 phones join a presenter's "
                         "room and send drawings and votes (bench/class_live.py: its own options)")
    ap.add_argument("--max-trainings", type=int, default=2, help="VAE_MAX_TRAININGS in the class profile")
    ap.add_argument("--full-reruns", action="store_true",
                    help="websocket clients rerun the whole page for a slider move (before, the client did; a "
                         "browser reruns only the slider's fragment)")
    ap.add_argument("--app-dir", type=Path, default=REPO, help="the checkout whose app.py is served")
    args, rest = ap.parse_known_args(argv)
    if args.profile == "class-live":  # its own script (which takes this file's clients): run it, not import it
        extra = ["--duration", str(args.duration)] if "--duration" in (argv or sys.argv) else []
        cmd = [sys.executable, str(Path(__file__).with_name("class_live.py")), *rest, *extra,
               *(["--json", args.json] if args.json else [])]
        raise SystemExit(subprocess.run(cmd).returncode)
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    global SHOTS, FRAGMENT_RERUNS
    SHOTS = Path(args.shots) if args.shots else None
    FRAGMENT_RERUNS = not args.full_reruns
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    counts = [None] if args.processes is None else [int(n) for n in args.processes.split(",")]
    reports = [run_once(args, n, args.app_dir.resolve()) for n in counts]
    if len(reports) > 1:
        print_comparison(reports)
    result = reports[0] if len(reports) == 1 else {"runs": reports}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
