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

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
UPLOADED_MODEL = REPO / "checkpoints" / "digits-2d"  # each session uploads a copy under its own name
OTHER_PAGES = {"Latent map": "Latent map", "Generate": "Generate", "How it works": "How it works",
               "Models": "Models"}  # nav link text -> the page's title starts with
TIMEOUT_MS = 90_000  # one interaction may take this long before it counts as failed
ARRIVAL_TIMEOUT_MS = 240_000  # the first page load, while the other sessions arrive too
TRAINED_NAME = "trained-by-s00"
SHOTS: Path | None = None  # --shots: where a failed session saves a screenshot

IMAGE = "[data-testid=stMain] [data-testid=stImage] img"
IDLE = ("!document.querySelector('[data-testid=stStatusWidget]') "
        "&& document.querySelectorAll('[data-stale=\"true\"]').length === 0")
# A probe: armed before an action, t0 = the user's event (key press or click), t1 = first moment the
# expected result is in the page. Polled on every animation frame.
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


class Server:
    """``streamlit run app.py`` on 127.0.0.1 with its own data folder; samples its memory."""

    def __init__(self, home: Path, max_trainings: int = 1):
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, VAE_EXPLORER_HOME=str(home), VAE_MAX_TRAININGS=str(max_trainings))
        env.pop("VAE_SHARE_TRAINED", None)
        self.log = open(home / "streamlit.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.samples: list[tuple[float, int, float]] = []  # (time, rss, cpu seconds)
        self._stop = threading.Event()
        deadline = time.time() + 90
        while not healthy(self.url):
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError(f"streamlit did not start:\n{self.log.read()[-3000:]}")
            time.sleep(0.3)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                rss, cpu = proc_stats(self.proc.pid)
            except (OSError, IndexError, ValueError):
                return
            self.samples.append((time.time(), rss, cpu))
            self._stop.wait(0.5)

    def alive(self) -> bool:
        return self.proc.poll() is None and healthy(self.url)

    def rss_now(self) -> int:
        return proc_stats(self.proc.pid)[0]

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


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

    @property
    def name(self) -> str:
        return f"s{self.index:02d}"

    def record(self, kind: str, ms: float | None) -> None:
        if ms is not None:
            self.latencies.setdefault(kind, []).append((time.time(), ms))


async def measured(page, kind: str, event: str, action, wait_js: str, s: Session) -> None:
    """Arm a probe for ``event``, run ``action``, wait until ``wait_js`` holds; record t1 - t0."""
    await page.evaluate(JS_ARM, event)
    try:
        await action()
        await page.wait_for_function(wait_js, timeout=TIMEOUT_MS, polling="raf")
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
    loaded = page.get_by_text(f"Loaded {zip_path.stem}")
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
    box = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first
    await box.click()
    await page.locator("[role=option]").first.wait_for(timeout=TIMEOUT_MS)
    options = await page.locator("[role=option]").all_inner_texts()
    await page.keyboard.press("Escape")
    return [o.strip() for o in options]


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
    await page.locator(".st-key-train_stop button").first.click()
    await page.get_by_text(re.compile("Stopped after|Finished")).first.wait_for(timeout=TIMEOUT_MS)
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
    arrived = False
    try:
        t0 = time.perf_counter()
        # a link the lecturer shared: the default page with the small digits model
        await page.goto(f"{url}/?model={UPLOADED_MODEL.name}", wait_until="domcontentloaded",
                        timeout=ARRIVAL_TIMEOUT_MS)
        await page.locator("[data-testid=stMain] h1").first.wait_for(timeout=ARRIVAL_TIMEOUT_MS)
        await wait_idle(page, ARRIVAL_TIMEOUT_MS)
        s.record("first load", (time.perf_counter() - t0) * 1000)
        await upload(page, zip_path, s)
        phases.arrived()
        arrived = True
        await phases.all_in.wait()
        load_until = phases.load_until
        if s.index == 0:
            try:
                await trainer(page, s, phases)
            finally:
                phases.training_started.set()  # never leave session 1 waiting
        else:
            if s.index == 1:
                await second_trainer(page, s, phases)
            while time.time() < load_until:
                await sliders_round(page, s, rng, presses)
                link = rng.choice(list(OTHER_PAGES))
                await go_to(page, link, OTHER_PAGES[link], s)
                await page.wait_for_timeout(rng.uniform(300, 1000))
        await wait_idle(page)
        s.picker = await read_picker(page)
    except Exception as e:  # noqa: BLE001 - reported, and the isolation check then fails for this session
        s.failures.append(f"session: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
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

    async def open(self) -> None:
        import websockets

        self.xsrf = await asyncio.to_thread(self._xsrf_cookie)
        headers = {"Cookie": f"_streamlit_xsrf={self.xsrf}"} if self.xsrf else {}
        self.ws = await websockets.connect(self.base.replace("http", "ws", 1) + "/_stcore/stream",
                                           subprotocols=["streamlit", self.xsrf or "x"],
                                           additional_headers=headers, max_size=None, open_timeout=120)

    def _xsrf_cookie(self) -> str:
        with urllib.request.urlopen(self.base + "/_stcore/health", timeout=60) as r:
            for header in r.headers.get_all("Set-Cookie") or []:
                if header.startswith("_streamlit_xsrf="):
                    return header.split(";", 1)[0].split("=", 1)[1]
        return ""

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, page: str | None = None, widgets: list | None = None, query: str | None = None) -> RunView:
        """One script run: on ``page`` (url path), with ``widgets`` (WidgetState protos) changed."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if page is not None:
            self.page_hash = self.pages.get(page, "")
        if query is not None:
            self.query = query
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_script_hash = self.page_hash
        if widgets:
            state.widget_states.widgets.extend(widgets)
        await self.ws.send(msg.SerializeToString())
        return await self._read_run()

    async def _read_run(self) -> RunView:
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
                self._element(fm.delta.new_element, view)
            elif kind == "script_finished":
                if fm.script_finished in (fm.FINISHED_SUCCESSFULLY, fm.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    self.view = view
                    return view
                if fm.script_finished == fm.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError("the script did not compile")
                view = RunView()  # finished early for a rerun (st.rerun): the next run follows

    @staticmethod
    def _element(el, view: RunView) -> None:
        t = el.WhichOneof("type")
        sub = getattr(el, t)
        wid = getattr(sub, "id", "")
        if isinstance(wid, str) and wid.startswith("$$ID-"):
            view.widgets[wid.split("-", 2)[2]] = sub
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

    async def fetch(self, url: str) -> int:
        def get() -> int:
            with urllib.request.urlopen(self.base + url, timeout=60) as r:
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
            "Cookie": f"_streamlit_xsrf={self.xsrf}"})
        with urllib.request.urlopen(req, timeout=120) as r:
            if r.status not in (200, 204):
                raise RuntimeError(f"upload answered {r.status}")


def widget_state(proto, **value):
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state = WidgetState(id=proto.id)
    for name, v in value.items():
        if name == "double_array_value":
            state.double_array_value.data.extend(v)
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
    if "sliders_live" in view.widgets and view.widgets["sliders_live"].default:
        view = await ws_timed(s, "toggle", c.rerun(widgets=[widget_state(view.widgets["sliders_live"],
                                                                          bool_value=False)]))
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
            v = await c.rerun(widgets=[widget_state(c.view.widgets[key], double_array_value=[values[key]])])
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
        t0 = time.perf_counter()
        await c.open()
        view = await c.rerun(query=f"model={UPLOADED_MODEL.name}")
        s.record("first load", (time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        view = await c.upload("ckpt_upload", zip_path)
        if not any(m.startswith(f"Loaded {zip_path.stem}") for m in view.successes):
            raise RuntimeError(f"the upload was not loaded: {view.errors}")
        s.record("upload", (time.perf_counter() - t0) * 1000)
        s.uploaded = True
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
        s.picker = list(view.widgets["model_path"].options)
    except Exception as e:  # noqa: BLE001 - reported; the isolation check then fails for this session
        s.failures.append(f"session: {type(e).__name__}: {str(e)[:200]}")
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
        if not s.picker:
            problems.append(f"{s.name}: the model list could not be read")
            continue
        if mine not in s.picker:
            problems.append(f"{s.name}: its own upload is missing from {s.picker}")
        others = [o for o in s.picker if o.startswith("upload-") and o != mine]
        if others:
            problems.append(f"{s.name} sees other sessions' uploads: {others}")
        sees_trained = any(o.startswith(TRAINED_NAME) for o in s.picker)
        if s.index == 0 and s.trained and not sees_trained:
            problems.append(f"{s.name}: its trained model is missing from {s.picker}")
        if s.index != 0 and sees_trained:
            problems.append(f"{s.name} sees session 0's trained model")
    return problems


async def run_load(url: str, n: int, duration: float, ramp: float, presses: int, workdir: Path,
                   client: str = "browser") -> tuple[list[Session], Phases]:
    from playwright.async_api import async_playwright

    from vae_core.checkpoints import export_zip

    data = export_zip(UPLOADED_MODEL)
    zips = []
    for i in range(n):
        path = workdir / f"upload-s{i:02d}.zip"
        path.write_bytes(data)
        zips.append(path)
    sessions = [Session(i) for i in range(n)]
    phases = Phases(n, duration)
    if n < 2:
        phases.cap_checked.set()  # nobody to try a second training
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tasks = []
        for s in sessions:
            delay = ramp * s.index / max(n, 1)
            if client == "ws" and s.index >= 2:  # sessions 0 and 1 (training, the cap) stay in browsers
                s.kind = "ws"
                tasks.append(run_ws_session(url, s, zips[s.index], delay, phases, presses))
            else:
                tasks.append(run_session(browser, url, s, zips[s.index], delay, phases, presses))
        await asyncio.gather(*tasks)
        await browser.close()
    return sessions, phases


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
        "failed_interactions": sum(len(s.failures) for s in sessions),
        "failures": [f"{s.name} {f}" for s in sessions for f in s.failures][:40],
        "exceptions_shown": sum(s.exceptions_seen for s in sessions),
        "uploads_done": sum(s.uploaded for s in sessions),
        "isolation_problems": isolation_problems(sessions),
        "cap_message": next((s.cap_message for s in sessions if s.cap_message), None),
        "trained_model_published": any(s.trained for s in sessions),
        "server_alive_at_end": server.alive(),
        "load_average_1min_at_end": os.getloadavg()[0],
        "wall_seconds": time.time() - started,
    }
    return report


def print_report(r: dict) -> None:
    print(f"\n{r['sessions']} sessions ({r['browser_sessions']} in Chromium, {r['websocket_sessions']} websocket "
          f"clients), {r['load_seconds']:.0f} s of load, {r['cpu_cores']} CPU cores")
    print(f"{'interaction (client)':<22} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   "
          f"{'load phase only: n':>18} {'p50':>6} {'p95':>6}")
    for kind, stats in sorted(r["latency_ms"].items()):
        lp = r["latency_ms_load_phase"].get(kind, {"n": 0, "p50": float("nan"), "p95": float("nan")})
        print(f"{kind:<22} {r['interactions'][kind]:>6} {stats['p50']:>8.0f} {stats['p95']:>8.0f} {stats['max']:>8.0f}   "
              f"{lp['n']:>18} {lp['p50']:>6.0f} {lp['p95']:>6.0f}")
    m = r["server_rss_mb"]
    print(f"server RSS: {m['idle_before']:.0f} MB idle before, {m['peak']:.0f} MB peak, {m['end']:.0f} MB at the end; "
          f"server CPU during load: {r['server_cpu_cores_used_during_load']:.2f} cores")
    print(f"failed interactions: {r['failed_interactions']}; exception boxes seen: {r['exceptions_shown']}; "
          f"uploads: {r['uploads_done']}/{r['sessions']}")
    for f in r["failures"][:10]:
        print("  ", f)
    print(f"isolation: {'OK' if not r['isolation_problems'] else r['isolation_problems']}")
    print(f"training cap message: {r['cap_message']!r}; trained model published: {r['trained_model_published']}")
    print(f"server alive at the end: {r['server_alive_at_end']}; wall time {r['wall_seconds']:.0f} s; "
          f"machine load average (1 min) {r['load_average_1min_before']:.1f} before, "
          f"{r['load_average_1min_at_end']:.1f} at the end")


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
    args = ap.parse_args(argv)
    global SHOTS
    SHOTS = Path(args.shots) if args.shots else None
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    ramp = args.ramp if args.ramp is not None else 2.0 * args.sessions
    workdir = Path(tempfile.mkdtemp(prefix="vae-load-"))
    (workdir / "home").mkdir()
    started = time.time()
    load_before = os.getloadavg()[0]
    server = Server(workdir / "home")
    try:
        time.sleep(2)
        rss_idle = server.rss_now()
        sessions, phases = asyncio.run(run_load(server.url, args.sessions, args.duration, ramp, args.presses,
                                                workdir, args.client))
        report = summarize(sessions, server, started, phases.load_from, phases.load_until, rss_idle,
                           args.sessions, args.duration)
        on_disk = sorted(p.name for p in (workdir / "home" / "sessions").glob("*/runs/*"))
        report["trained_models_on_disk"] = on_disk
        report["load_average_1min_before"] = load_before
        report["upload_folders_on_disk"] = len(list((workdir / "home" / "uploads").glob("*")))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
