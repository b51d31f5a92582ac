"""Server CPU per interaction, page by page, as a ratio to the floor: what one click costs the server
against what the same kind of click costs in a minimal Streamlit app (bench/floor_app.py), in one run.

Two clients drive the servers:

- ``ws``: bench/load_test.py's websocket client, which speaks Streamlit's protocol as a browser does but
  renders nothing (a page switch is a run of that page; a slider move a run of the slider's fragment);
- ``chromium``: headless Chromium clicking the sidebar's links, pressing an arrow key on a slider and
  clicking the Live toggle, each waited for until the page has settled (its result shown, no run going and
  no request or websocket frame for QUIET seconds): what a real browser makes the server do, including the
  requests and fragment runs a page's components ask for after the run.

Servers: the floor, this checkout's app and, with ``--before``, another checkout's app, all started from
this repository's folder settings (.streamlit/config.toml: ``postScriptGC = false``). The servers take
turns interaction by interaction, so that the machine's noise falls on all alike. The figure is the server
process's CPU time (every thread, from its POSIX CPU-time clock) per interaction, less what the idle
server spends in the same time (measured before each round), the median of ``--rounds`` rounds.

    page switch   the app: a switch to that page; the floor: a switch to its other page
    slider        the app: a latent slider released on Latent sliders, Live off; the floor: its fragment's slider
    Live toggle   the app: Live on, then off (two full runs of Latent sliders), per run; the floor: its toggle

    python bench/rerun_cost.py                                   # both clients, this checkout
    python bench/rerun_cost.py --clients chromium --rounds 3 --repeats 10
    python bench/rerun_cost.py --before /tmp/base-checkout       # that checkout's app against this one's
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_test_module():
    spec = importlib.util.spec_from_file_location("load_test", REPO / "bench" / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lt = load_test_module()
# url path -> (the sidebar link's text, the page's title starts with)
PAGES = {"": ("Latent map", "Latent map"), "sliders": ("Latent sliders", "Latent sliders"),
         "generate": ("Generate", "Generate"), "how_it_works": ("How it works", "How it works"),
         "models": ("Models", "Models"), "train": ("Train", "Train a VAE")}
FLOOR_PAGES = {"one": ("Floor one", "Floor one"), "two": ("Floor two", "Floor two")}
QUIET = 0.3  # seconds without a request or a websocket frame: the browser has settled
FLOOR = "floor"


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def cpu_seconds(pid: int) -> float:
    """CPU time of the process (all its threads) with nanosecond resolution: its POSIX CPU-time clock
    (clock_getcpuclockid); /proc/PID/stat counts in 10 ms ticks."""
    clock = ctypes.c_int()
    if _libc.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return lt.proc_stats(pid)[1]
    ts = _Timespec()
    if _libc.clock_gettime(clock.value, ctypes.byref(ts)) != 0:
        return lt.proc_stats(pid)[1]
    return ts.tv_sec + ts.tv_nsec / 1e9


# ---------------------------------------------------------------- the websocket client


class WsDriver:
    """One Streamlit session over its websocket (bench/load_test.py's client)."""

    def __init__(self, url: str, floor: bool):
        self.url, self.floor = url, floor
        self.c = lt.WsClient(url)
        self.runs = (0, 0)  # not counted: one run per interaction by construction
        self._on: dict[str, bool] = {}  # each toggle's value as this client last set it

    async def open(self) -> None:
        await self.c.open()
        await self.c.rerun(query="" if self.floor else f"model={lt.UPLOADED_MODEL.name}")

    async def close(self) -> None:
        await self.c.close()

    async def settle(self, runs_before: int | None = None) -> None:
        await asyncio.sleep(0.05)  # messages still being sent belong to this run (rerun() returned at its end)

    async def page(self, path: str) -> None:
        await self.c.rerun(page=path)

    async def to_sliders(self) -> None:
        """On the page whose slider is moved, with the app's sliders drawn by the server (Live off)."""
        if self.floor:
            return
        view = await self.c.rerun(page="sliders")
        if "sliders_live" in view.widgets and view.widgets["sliders_live"].default:
            await self.c.rerun(widgets=[lt.widget_state(view.widgets["sliders_live"], bool_value=False)],
                               fragment=view.fragments.get("sliders_live", ""))
        self._on["sliders_live"] = False

    def _slider_key(self) -> str:
        if self.floor:
            return next(k for k in self.c.view.widgets if k.startswith("floor_") and k.endswith("_z"))
        return sorted(k for k in self.c.view.widgets if k.startswith("sliders_z"))[0]

    async def slider(self) -> None:
        key = self._slider_key()
        w = self.c.view.widgets[key]
        value = list(w.value or w.default)[0] if hasattr(w, "value") else 0.0
        new = 0.5 if abs(value - 0.5) > 1e-9 else -0.5
        await self.c.rerun(widgets=[lt.widget_state(w, double_array_value=[new])],
                           fragment=self.c.view.fragments.get(key, ""))

    async def toggle(self) -> None:
        key = next(k for k in self.c.view.widgets if k.endswith("_switch")) if self.floor else "sliders_live"
        w = self.c.view.widgets[key]
        on = self._on.get(key, bool(w.default))
        self._on[key] = not on
        await self.c.rerun(widgets=[lt.widget_state(w, bool_value=not on)], fragment=self.c.view.fragments.get(key, ""))


# ---------------------------------------------------------------- the Chromium client

IDLE_JS = f"() => {lt.IDLE}"
IMAGES_JS = "() => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')].map((i) => i.src)"
NEW_IMAGE_JS = """(before) => [...document.querySelectorAll('[data-testid=stMain] [data-testid=stImage] img')]
  .some((i) => !before.includes(i.src) && i.complete && i.naturalWidth > 0)"""
TITLE_JS = """(title) => { const h = document.querySelector('[data-testid=stMain] h1');
  return !!h && h.innerText.trim().startsWith(title); }"""
SERVER_SLIDERS_JS = "() => !!document.querySelector('[data-testid=stMain] [data-testid=stSlider] input[type=range]')"
SWITCH_JS = """(label) => { const t = [...document.querySelectorAll('[data-testid=stMain] [data-testid=stCheckbox]')]
  .find((e) => e.innerText.includes(label)); const i = t && t.querySelector('input');
  return i ? i.checked : null; }"""


class ChromiumDriver:
    """One browser window (its own context: its own cookies and session)."""

    def __init__(self, browser, url: str, floor: bool):
        self.browser, self.url, self.floor = browser, url, floor
        self.last_net = time.monotonic()
        self.in_flight = 0
        self.finished: list[int] = []  # each run's ForwardMsg.script_finished, from the websocket

    async def open(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._msg = ForwardMsg
        self.context = await self.browser.new_context(viewport={"width": 1440, "height": 1000})
        self.p = await self.context.new_page()
        self.p.set_default_timeout(lt.TIMEOUT_MS)
        self.p.on("websocket", self._websocket)
        self.p.on("request", self._request)
        self.p.on("requestfinished", self._request_done)
        self.p.on("requestfailed", self._request_done)
        await self.p.goto(self.url + ("/" if self.floor else f"/?model={lt.UPLOADED_MODEL.name}"))
        await self.p.locator("[data-testid=stMain] h1").first.wait_for(timeout=lt.ARRIVAL_TIMEOUT_MS)
        await self.settle()

    def _touch(self, *_) -> None:
        self.last_net = time.monotonic()

    def _request(self, _request) -> None:
        self.in_flight += 1
        self._touch()

    def _request_done(self, _request) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self._touch()

    def _websocket(self, ws) -> None:
        ws.on("framesent", self._touch)
        ws.on("framereceived", self._frame)

    def _frame(self, payload) -> None:
        self._touch()
        if isinstance(payload, (bytes, bytearray)):
            msg = self._msg.FromString(bytes(payload))
            if msg.WhichOneof("type") == "script_finished":
                self.finished.append(msg.script_finished)

    @property
    def runs(self) -> tuple[int, int]:
        """(full runs, fragment runs) so far."""
        fragment = sum(s == self._msg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY for s in self.finished)
        return len(self.finished) - fragment, fragment

    async def close(self) -> None:
        await self.context.close()

    async def settle(self, runs_before: int | None = None, timeout: float = 120) -> None:
        """Until a run has finished since there were ``runs_before`` (the click's: Playwright reports the click's
        websocket frame a moment after the click, so quiet alone can come before it), then until no run goes
        on, nothing is stale, and no request or frame has passed for QUIET seconds."""
        deadline = time.monotonic() + timeout
        while runs_before is not None and len(self.finished) <= runs_before:
            if time.monotonic() > deadline:
                raise TimeoutError("the click made no run")
            await asyncio.sleep(0.01)
        while time.monotonic() < deadline:
            if (self.in_flight == 0 and time.monotonic() - self.last_net > QUIET
                    and await self.p.evaluate(IDLE_JS)):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("the page did not settle")

    async def _wait(self, js: str, arg=None) -> None:
        await self.p.wait_for_function(js, arg=arg, timeout=lt.TIMEOUT_MS, polling="raf")

    async def page(self, path: str) -> None:
        link, title = (FLOOR_PAGES if self.floor else PAGES)[path]
        await self.p.locator("[data-testid=stSidebarNav] a", has_text=link).first.click()
        await self._wait(TITLE_JS, title)

    async def to_sliders(self) -> None:
        if self.floor:
            return
        if not await self.p.evaluate(TITLE_JS, PAGES["sliders"][1]):
            n = len(self.finished)
            await self.page("sliders")
            await self.settle(n)
        if await self.p.evaluate(SWITCH_JS, "Live: decode in the browser"):
            n = len(self.finished)
            await self.toggle()
            await self.settle(n)

    async def slider(self) -> None:
        before = await self.p.evaluate(IMAGES_JS)
        thumb = self.p.locator("[data-testid=stMain] [data-testid=stSlider] input[type=range]").first
        await thumb.focus()
        self._right = not getattr(self, "_right", False)
        await self.p.keyboard.press("ArrowRight" if self._right else "ArrowLeft")
        await self._wait(NEW_IMAGE_JS, before)

    async def toggle(self) -> None:
        label = "Switch" if self.floor else "Live: decode in the browser"
        was = await self.p.evaluate(SWITCH_JS, label)
        await self.p.locator("[data-testid=stMain] [data-testid=stCheckbox]", has_text=label).first.click()
        await self._wait(f"(label) => ({SWITCH_JS})(label) === {str(not was).lower()}", label)
        if not self.floor and was:  # Live off: the server's sliders are drawn
            await self._wait(SERVER_SLIDERS_JS)


# ---------------------------------------------------------------- measuring


class Bench:
    """The servers, one driver each, and the idle servers' CPU rates."""

    def __init__(self, servers: dict, drivers: dict):
        self.servers, self.drivers = servers, drivers
        self.idle_rate = dict.fromkeys(servers, 0.0)  # CPU seconds per second of an idle server
        self.runs: dict[tuple[str, str], list[tuple[int, int]]] = {}  # (interaction, server) -> runs per action

    async def measure_idle(self, window: float = 1.0, windows: int = 4) -> None:
        """Each server's CPU rate with nobody acting: the least of ``windows`` windows (a warm-up thread or a
        slow last request can still run in the first)."""
        rates: dict[str, list[float]] = {n: [] for n in self.servers}
        for _ in range(windows):
            c0 = {n: cpu_seconds(s.pids()[0]) for n, s in self.servers.items()}
            await asyncio.sleep(window)
            for n, s in self.servers.items():
                rates[n].append((cpu_seconds(s.pids()[0]) - c0[n]) / window)
        self.idle_rate = {n: max(0.0, min(r)) for n, r in rates.items()}

    async def once(self, name: str, kind: str, action) -> float:
        """Server CPU ms of one action of server ``name`` until its page has settled, less its idle rate."""
        pid, d = self.servers[name].pids()[0], self.drivers[name]
        runs0, finished0 = d.runs, sum(d.runs)
        c0, t0 = cpu_seconds(pid), time.monotonic()
        await action()
        await d.settle(runs_before=finished0)  # every interaction measured here makes a run
        spent = cpu_seconds(pid) - c0 - self.idle_rate[name] * (time.monotonic() - t0)
        runs1 = d.runs
        self.runs.setdefault((kind, name), []).append((runs1[0] - runs0[0], runs1[1] - runs0[1]))
        return spent * 1000

    async def pages(self, repeats: int) -> dict[str, dict[str, float]]:
        """Each app page switched to ``repeats`` times (cycling through them); the floor switches between its
        two pages as often, in turn with them."""
        spent: dict[str, dict[str, list[float]]] = {}
        floor_pages = list(FLOOR_PAGES)
        for k in range(repeats + 1):  # the first cycle warms (caches filled, code paths imported)
            if k == 1:
                await self.measure_idle()
            for i, path in enumerate(PAGES):
                for name, d in self.drivers.items():
                    target = floor_pages[(k * len(PAGES) + i + 1) % 2] if name == FLOOR else path
                    kind = "page: floor" if name == FLOOR else f"page: {PAGES[path][0]}"
                    ms = await self.once(name, kind, lambda d=d, t=target: d.page(t))
                    if k:
                        spent.setdefault(kind, {}).setdefault(name, []).append(ms)
        return {kind: {n: statistics.mean(v) for n, v in by.items()} for kind, by in spent.items()}

    async def repeated(self, kind: str, method: str, repeats: int) -> dict[str, float]:
        for d in self.drivers.values():
            await d.to_sliders()
            await d.settle()
            n = sum(d.runs)
            await getattr(d, method)()  # warm
            await d.settle(None if isinstance(d, WsDriver) else n)
        spent = {n: [] for n in self.drivers}
        for _ in range(repeats):
            for name, d in self.drivers.items():
                spent[name].append(await self.once(name, kind, getattr(d, method)))
        return {n: statistics.mean(v) for n, v in spent.items()}

    async def one_round(self, repeats: int) -> dict[str, dict[str, float]]:
        out = await self.pages(repeats)
        out["slider"] = await self.repeated("slider", "slider", repeats)
        out["Live toggle (per run)"] = await self.repeated("Live toggle (per run)", "toggle", 2 * max(repeats // 2, 1))
        return out


async def run_client(client: str, servers: dict, rounds: int, repeats: int) -> tuple[dict, dict]:
    """{interaction: {server: median ms}} and {interaction: {server: (full runs, fragment runs) per action}}."""
    browser = playwright = None
    if client == "chromium":
        from playwright.async_api import async_playwright

        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(executable_path=lt.CHROMIUM, args=lt.CHROMIUM_ARGS, headless=True)
    drivers = {}
    try:
        for name, server in servers.items():
            d = (WsDriver(server.url, name == FLOOR) if client == "ws"
                 else ChromiumDriver(browser, server.url, name == FLOOR))
            await d.open()
            drivers[name] = d
        bench = Bench(servers, drivers)
        results: dict[str, dict[str, list[float]]] = {}
        for _ in range(rounds):
            for kind, by_server in (await bench.one_round(repeats)).items():
                for name, ms in by_server.items():
                    results.setdefault(kind, {}).setdefault(name, []).append(ms)
    finally:
        for d in drivers.values():
            await d.close()
        if browser is not None:
            await browser.close()
            await playwright.stop()
    runs = {}
    for (kind, name), rows in bench.runs.items():
        runs.setdefault(kind, {})[name] = (statistics.mean(r[0] for r in rows), statistics.mean(r[1] for r in rows))
        runs.setdefault("each: " + kind, {})[name] = rows  # (full, fragment) runs of every action, warm-ups included
    return {k: {n: statistics.median(v) for n, v in by.items()} for k, by in results.items()}, runs


def floor_of(kind: str) -> str:
    """The floor's interaction an app interaction is measured against."""
    if kind.startswith("page"):
        return "page: floor"
    return kind


def print_table(client: str, table: dict, runs: dict, names: list[str], rounds: int, repeats: int) -> None:
    apps = [n for n in names if n != FLOOR]
    print(f"\n{client}: server CPU per interaction, ms (median of {rounds} rounds of {repeats}; load average "
          f"{os.getloadavg()[0]:.1f}), and its ratio to the floor's")
    head = f"{'interaction':<28}{'floor':>8}" + "".join(f"{n:>9}{'x floor':>9}" for n in apps)
    if client == "chromium":
        head += f"{'runs (full, fragment)':>24}"
    if "before" in apps:
        head += f"{'after/before':>14}"
    print(head)
    kinds = ["page: floor"] + [k for k in table if k.startswith("page: ") and k != "page: floor"] + [
        "slider", "Live toggle (per run)"]
    for kind in kinds:
        by = table[kind]
        ref = table[floor_of(kind)][FLOOR]
        row = f"{kind:<28}{ref:>8.1f}"
        for n in apps:
            v = by.get(n)
            row += f"{v:>9.1f}{v / ref:>9.2f}" if v is not None else f"{'':>18}"
        if client == "chromium":
            r = runs.get(kind, {}).get(FLOOR if kind == "page: floor" else apps[-1], (0, 0))
            row += f"{r[0]:>15.1f}, {r[1]:>6.1f}"
        if "before" in apps and "before" in by:
            row += f"{by['after'] / by['before']:>14.2f}"
        print(row)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=None, help="another checkout (e.g. git worktree of main)")
    ap.add_argument("--clients", default="ws,chromium", help="ws, chromium or both (comma-separated)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10, help="interactions per measurement")
    ap.add_argument("--json", default=None, help="write the tables here")
    args = ap.parse_args(argv)
    apps = ({"before": args.before.resolve()} if args.before else {}) | {"after": REPO}
    servers = {}
    out = {"load_average_before": os.getloadavg()[0]}
    try:
        home = Path(tempfile.mkdtemp(prefix="vae-cost-floor-"))
        servers[FLOOR] = lt.Server(home, app_dir=REPO, script="bench/floor_app.py")
        for name, path in apps.items():
            servers[name] = lt.Server(Path(tempfile.mkdtemp(prefix=f"vae-cost-{name}-")), app_dir=path)
        time.sleep(2)
        for client in args.clients.split(","):
            table, runs = asyncio.run(run_client(client, servers, args.rounds, args.repeats))
            print_table(client, table, runs, list(servers), args.rounds, args.repeats)
            out[client] = {"ms": table, "runs": runs, "load_average": os.getloadavg()[0]}
    finally:
        for s in servers.values():
            s.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
