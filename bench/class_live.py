"""The class live: 60 students' phones join one room of a presenter's window and send drawings, then votes,
against ``python -m serve --processes 2`` (HAProxy, two app processes), with the SQLite store or with Redis.

    python bench/load_test.py --profile class-live                      # SQLite, then Redis, 60 students, 60 s
    python bench/class_live.py --students 60 --duration 60 --stores sqlite,redis --json /tmp/class.json

The presenter is a Chromium window on the intro deck's draw scene (its arrival makes the room and opens the
draw activity). Students 0-1 are Chromium pages emulating a phone (390x844, touch, device scale 3) that draw on
the real canvas; the others are websocket clients (bench/load_test.py's WsClient) that run the student page as a
browser does: the canvas's state, then the Send button, and the page's follower fragment every 1.5 s. Then,
after two thirds of the time, the harness opens a poll as the lecturer (with the room's secret from the presenter's browser's file) and the
students vote instead.

Measured: for each acknowledged drawing, "send" (the moment the client sent the button press) to the moment
the presenter's browser drew it on the map (ui/js/map/class_layer.js stamps window.__vaeClassDrawn[id] with
Date.now(); same machine, same clock); every acknowledged submission is counted in the store (its SUBMITTED
events) and on the map; the presenter's own interaction (a click on a star -> the drawing shown under the bar)
keeps its p95; the server's CPU per submission; failures.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from streamlit.util import calc_hash  # noqa: E402

from load_test import (CHROMIUM, CHROMIUM_ARGS, ProxiedServer, WsClient, client_cpu, percentile,  # noqa: E402
                       widget_state)

PHONE = dict(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=3)
RECEIVED = re.compile(r"Received: your (drawing|vote)")
ID = re.compile(r"#(\d+)")
FOLLOW_EVERY = 1.5  # the student page's fragment (ui/classroom/student.py)


@dataclass
class Student:
    index: int
    sent: list[tuple[int, float, str]] = field(default_factory=list)  # (submission id, send time, kind)
    refused: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    acked_at: dict[int, float] = field(default_factory=dict)  # submission id -> when its acknowledgement arrived


def seven_url(rng: random.Random) -> str:
    """A seven as the canvas sends it (PNG data URL, white strokes on black), a little shifted and turned."""
    from PIL import Image

    from test_preprocess import stroke_drawing

    img = Image.fromarray((stroke_drawing(7) * 255).astype("uint8")).rotate(
        rng.uniform(-15, 15), translate=(rng.uniform(-20, 20), rng.uniform(-20, 20)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class FragmentPeek:
    """The websocket as WsClient reads it, noting the id of the page's auto-rerun fragment (the follower), which
    a browser then reruns every FOLLOW_EVERY seconds."""

    def __init__(self, ws, seen: dict):
        self.ws, self.seen = ws, seen

    async def recv(self):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        data = await self.ws.recv()
        fm = ForwardMsg()
        fm.ParseFromString(data)
        if fm.WhichOneof("type") == "auto_rerun":
            self.seen["fragment"] = fm.auto_rerun.fragment_id
        return data

    async def send(self, data):
        await self.ws.send(data)

    async def close(self):
        await self.ws.close()


def _texts(view) -> str:
    return " ".join(view.successes + view.errors)


async def ws_student(base: str, code: str, s: Student, phase: dict, until: float, rng: random.Random) -> None:
    c = WsClient(base)
    await c.open()
    seen: dict = {}
    c.ws = FragmentPeek(c.ws, seen)
    try:
        c.page_hash = calc_hash("class")  # the student page (st.navigation hashes its url_path)
        await c.rerun(query=f"room={code}")
        last_send = time.time() - rng.uniform(1.0, 2.5)  # the first drawing within a few seconds
        next_follow = time.time() + rng.uniform(0, FOLLOW_EVERY)
        wait = rng.uniform(2.5, 5.0)
        while time.time() < until:
            await asyncio.sleep(max(0.05, min(next_follow, last_send + wait) - time.time()))
            kind = phase["kind"]
            if time.time() >= next_follow:  # the follower fragment, as the phone's browser reruns it
                next_follow = time.time() + FOLLOW_EVERY
                await c.rerun(fragment=seen.get("fragment", ""))
                continue
            if time.time() - last_send >= wait:
                wait = rng.uniform(2.5, 5.0)
                last_send = time.time()
                if kind == "draw" and "class_canvas" in c.view.widgets and "class_send_drawing" in c.view.widgets:
                    await c.rerun(widgets=[widget_state(c.view.widgets["class_canvas"],
                                                        json_value=json.dumps({"image": seven_url(rng)}))])
                    if "class_send_drawing" not in c.view.widgets:  # the activity changed meanwhile
                        continue
                    t0 = time.time()
                    view = await c.rerun(widgets=[widget_state(c.view.widgets["class_send_drawing"], trigger_value=True)])
                    s.ack_ms.append((time.time() - t0) * 1000)
                elif kind == "poll" and "class_vote_0" in c.view.widgets:
                    key = f"class_vote_{rng.randrange(2)}"
                    t0 = time.time()
                    view = await c.rerun(widgets=[widget_state(c.view.widgets[key], trigger_value=True)])
                    s.ack_ms.append((time.time() - t0) * 1000)
                else:
                    await c.rerun()  # the page as the phone follows it (a new activity)
                    continue
                text = _texts(view)
                m = RECEIVED.search(text)
                if m and kind == "draw":
                    sid = int(ID.search(text[m.start():]).group(1))
                    s.sent.append((sid, t0, kind))
                    s.acked_at[sid] = time.time()
                elif m:
                    s.sent.append((-1, t0, kind))
                elif view.errors:
                    s.refused.append(view.errors[0][:80])
                else:
                    s.failures.append(f"no answer to a {kind}: {text[:120]}")
    except Exception as e:  # noqa: BLE001 - counted as a failure of this student
        s.failures.append(f"{type(e).__name__}: {e}")
    finally:
        await c.close()


async def phone_student(browser, base: str, code: str, s: Student, phase: dict, until: float, rng) -> None:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{base}/class?room={code}", wait_until="domcontentloaded")
        while time.time() < until:
            await asyncio.sleep(rng.uniform(3.0, 5.0))
            if phase["kind"] == "draw" and await page.locator(".vae-draw canvas").count():
                canvas = page.locator(".vae-draw canvas")
                await canvas.wait_for(timeout=60_000)
                box = await canvas.bounding_box()
                x0, y0, w = box["x"], box["y"], box["width"]
                await page.mouse.move(x0 + 0.25 * w, y0 + 0.2 * w)
                await page.mouse.down()
                for t in range(1, 12):
                    await page.mouse.move(x0 + (0.25 + 0.5 * t / 11) * w, y0 + 0.2 * w)
                for t in range(1, 14):
                    await page.mouse.move(x0 + (0.75 - 0.3 * t / 13) * w, y0 + (0.2 + 0.65 * t / 13) * w)
                await page.mouse.up()
                await asyncio.sleep(0.5)
                before = await page.locator("text=/Received: your drawing is #\\d+/").all_inner_texts()
                t0 = time.time()
                try:
                    await page.get_by_role("button", name="Send my drawing").click(timeout=30_000)
                except Exception:  # noqa: BLE001
                    if phase["kind"] != "draw":  # the poll opened while this phone drew: nothing to send to
                        continue
                    raise
                try:
                    await page.wait_for_function(
                        "(b) => { const m = document.body.innerText.match(/Received: your drawing is #(\\d+)/); "
                        "return m && ('#' + m[1]) !== b; }", arg=(ID.search(before[0]).group(0) if before else ""),
                        timeout=60_000)
                except Exception:  # noqa: BLE001
                    s.refused.append("no new acknowledgement")
                    continue
                text = await page.locator("text=/Received: your drawing is #\\d+/").first.inner_text()
                s.sent.append((int(ID.search(text).group(1)), t0, "draw"))
            elif await page.get_by_role("button", name="Up").count() + await page.get_by_role("button", name="1").count():
                pass
    except Exception as e:  # noqa: BLE001
        s.failures.append(f"phone: {type(e).__name__}: {e}")
    finally:
        await context.close()


async def presenter_clicks(page, until: float, out: list[float]) -> None:
    """The presenter's own interaction while the class sends: a click on a star -> the drawing under the bar."""
    while time.time() < until:
        await asyncio.sleep(4.0)
        ids = await page.evaluate("() => (((window.__vaeMaps||{}).latent_map_chart||{}).root||{dataset:{}}).dataset.classIds || ''")
        ids = [i for i in ids.split(",") if i]
        if not ids:
            continue
        t0 = time.time()
        try:
            await page.locator(f'.vae-map .class-glyph[data-id="{ids[-1]}"]').click(timeout=10_000)
            await page.get_by_text(f"#{ids[-1]} by").first.wait_for(timeout=30_000)
            out.append((time.time() - t0) * 1000)
        except Exception:  # noqa: BLE001 - replaced meanwhile: not counted
            pass


class LayerFrames:
    """When the presenter's page received each submission id in its class layer's data (the component message
    the layer's fragment sends; read off the page's websocket, same clock as the students'): the time between a
    student's send and this is the server's (the store, the layer's 0.5 s period, the fragment's run and the
    queue before it), the time from this to drawn is the presenter's browser's."""

    def __init__(self, page):
        self.first_seen: dict[int, float] = {}
        self.messages: list[float] = []  # when each of the layer's messages arrived
        self.fragment = ""  # the layer's fragment
        self._asks: dict[str, list[float]] = {}  # fragment id -> when the page asked for its runs
        page.on("websocket", lambda ws: (ws.on("framereceived", self._frame), ws.on("framesent", self._sent)))

    def _sent(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg.FromString(bytes(payload))
        if msg.WhichOneof("type") == "rerun_script" and msg.rerun_script.fragment_id:
            self._asks.setdefault(msg.rerun_script.fragment_id, []).append(time.time())

    def ask_intervals(self) -> list[float]:
        """Seconds between two asks of the page for its layer's runs (its 0.5 s timer, and how late it fired)."""
        asks = self._asks.get(self.fragment, [])
        return [b - a for a, b in zip(asks, asks[1:])]

    def answer_times(self) -> list[float]:
        """Seconds from each ask for a layer run to the next layer message: the run's way through the server (its
        queue behind the session's other runs and the process's other sessions, and the run itself)."""
        out = []
        for a in self._asks.get(self.fragment, []):
            later = [m for m in self.messages if m >= a]
            if later:
                out.append(later[0] - a)
        return out

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)) or b"vae_class_layer" not in payload:
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        from ui.component_data import unpack

        now = time.time()
        fm = ForwardMsg.FromString(bytes(payload))
        el = fm.delta.new_element if fm.WhichOneof("type") == "delta" else None
        if el is None or el.WhichOneof("type") != "bidi_component" or not el.bidi_component.component_name.endswith(
                "vae_class_layer"):
            return
        comp = el.bidi_component
        data = unpack(comp.bytes)[0] if comp.bytes else json.loads(comp.json or "{}")
        self.fragment, self.messages = fm.delta.fragment_id, self.messages + [now]
        for point in data.get("points", []):
            self.first_seen.setdefault(int(point["id"]), now)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


async def run(base: str, home: Path, pids: list[int], students: int, duration: float, phones: int) -> dict:
    from playwright.async_api import async_playwright

    from services.room import open_store
    from services.room.held import held_room
    from services.room.model import SUBMITTED

    rng = random.Random(1)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ctx = await browser.new_context(viewport={"width": 1440, "height": 1000})
        presenter = await ctx.new_page()
        layer_frames = LayerFrames(presenter)
        await presenter.goto(base + "/?deck=intro-lecture&scene=14&presenter=1", wait_until="domcontentloaded")
        strip = presenter.locator(".st-key-class_strip_projector")
        await strip.wait_for(timeout=240_000)
        code = re.search(r"Class ([A-Z2-9]{3}-[A-Z2-9]{3})", await strip.inner_text()).group(1).replace("-", "")
        await presenter.wait_for_function("() => (window.__vaeMaps||{}).latent_map_chart", timeout=240_000)
        keys = held_room(next((home / "class" / "lecturers").glob("*.json")).stem, home)
        os.environ["VAE_EXPLORER_HOME"] = str(home)
        store = open_store()
        phase = {"kind": "draw"}
        pupils = [Student(i) for i in range(students)]
        clicks: list[float] = []
        start = time.time()
        until = start + duration
        cpu0, clients0, load0 = cpu_seconds(pids), client_cpu(set(pids)), os.getloadavg()[0]

        async def switch_to_poll():
            await asyncio.sleep(duration * 2 / 3)
            store.open_activity(keys.code, keys.secret, "poll", {"question": "beta from 1 to 4: the KL?",
                                                                "choices": ["Up", "Down"]})
            phase["kind"] = "poll"

        tasks = [ws_student(base, code, s, phase, until, random.Random(s.index)) for s in pupils[phones:]]
        tasks += [phone_student(browser, base, code, s, phase, until, random.Random(s.index)) for s in pupils[:phones]]
        # the draw phase's drawings are read off the map before the poll replaces them
        drawn_draw: dict = {}

        async def watch_drawn():
            while time.time() < until + 5:
                drawn_draw.update(await presenter.evaluate("() => Object.assign({}, window.__vaeClassDrawn || {})"))
                await asyncio.sleep(0.25)

        await asyncio.gather(*tasks, switch_to_poll(), presenter_clicks(presenter, start + duration * 2 / 3, clicks),
                             watch_drawn())
        cpu, elapsed = cpu_seconds(pids) - cpu0, time.time() - start
        clients = {k: (v - clients0[k]) / elapsed for k, v in client_cpu(set(pids)).items()}
        events, _ = store.events_since(keys.code, 0, 10_000)
        stored = {e.data["id"] for e in events if e.kind == SUBMITTED}
        await browser.close()
    sent = [x for s in pupils for x in s.sent]
    draws = sorted({sid: t0 for sid, t0, kind in sent if kind == "draw"}.items())  # one per submission id
    latency = [(drawn_draw[str(sid)] / 1000 - t0) * 1000 for sid, t0 in draws if str(sid) in drawn_draw]
    seen = layer_frames.first_seen
    acked = {sid: t for s in pupils for sid, t in s.acked_at.items()}
    to_message = [(seen[sid] - t0) * 1000 for sid, t0 in draws if sid in seen]
    # the server's part, split: acknowledged -> in the presenter's layer message (the layer's next run after it:
    # its 0.5 s period, and that run's way through the server), and that way alone, for every layer run
    ack_to_ask = [(seen[sid] - acked[sid]) * 1000 for sid, _ in draws if sid in seen and sid in acked]
    ask_to_message = [1000 * t for t in layer_frames.answer_times()]
    gaps = [1000 * t for t in layer_frames.ask_intervals()]
    message_to_drawn = [(drawn_draw[str(sid)] / 1000 - seen[sid]) * 1000 for sid, _ in draws
                        if sid in seen and str(sid) in drawn_draw]
    acks = [ms for s in pupils for ms in s.ack_ms]
    return {
        "students": students, "phones": phones, "duration_s": duration,
        "acknowledged": len(sent), "drawings": len(draws), "votes": len(sent) - len(draws),
        "drawings_in_store": sum(1 for sid, _ in draws if sid in stored),
        "drawings_on_map": len(latency),
        "send_to_drawn_ms": {"p50": percentile(latency, 0.5), "p95": percentile(latency, 0.95), "max": max(latency, default=0)},
        "send_to_ack_ms": {"p50": percentile(acks, 0.5), "p95": percentile(acks, 0.95)},
        "send_to_presenter_message_ms": {"n": len(to_message), "p50": percentile(to_message, 0.5),
                                         "p95": percentile(to_message, 0.95)},
        "presenter_message_to_drawn_ms": {"n": len(message_to_drawn), "p50": percentile(message_to_drawn, 0.5),
                                          "p95": percentile(message_to_drawn, 0.95)},
        "ack_to_presenter_message_ms": {"n": len(ack_to_ask), "p50": percentile(ack_to_ask, 0.5),
                                    "p95": percentile(ack_to_ask, 0.95)},
        "presenter_ask_to_message_ms": {"n": len(ask_to_message), "p50": percentile(ask_to_message, 0.5),
                                        "p95": percentile(ask_to_message, 0.95)},
        "presenter_ask_interval_ms": {"n": len(gaps), "p50": percentile(gaps, 0.5), "p95": percentile(gaps, 0.95)},
        "presenter_pick_ms": {"n": len(clicks), "p50": percentile(clicks, 0.5), "p95": percentile(clicks, 0.95)},
        "server_cpu_s": round(cpu, 1), "cpu_ms_per_submission": round(1000 * cpu / max(1, len(sent)), 1),
        "server_cores": round(cpu / elapsed, 2), "client_cores": {k: round(v, 2) for k, v in clients.items()},
        "load_average": [round(load0, 1), round(os.getloadavg()[0], 1)],
        "refused": sum(len(s.refused) for s in pupils), "refusals": sorted({r for s in pupils for r in s.refused})[:5],
        "failures": [f for s in pupils for f in s.failures][:10], "failed": sum(len(s.failures) for s in pupils),
    }


def run_store(store: str, args) -> dict:
    import contextlib

    from redis_support import redis_server

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        if store == "redis":
            os.environ["VAE_CLASS_STORE"] = stack.enter_context(redis_server(tmp))
        else:
            os.environ.pop("VAE_CLASS_STORE", None)
        server = ProxiedServer(tmp / "home", args.processes, app_dir=args.app_dir.resolve())
        try:
            report = asyncio.run(run(server.url, tmp / "home", server.pids(), args.students, args.duration, args.phones))
        finally:
            server.stop()
            os.environ.pop("VAE_CLASS_STORE", None)
    report["store"] = store
    return report


def print_report(r: dict) -> None:
    d, a, p = r["send_to_drawn_ms"], r["send_to_ack_ms"], r["presenter_pick_ms"]
    print(f"[{r['store']}] {r['students']} students ({r['phones']} Chromium phones), {r['duration_s']:.0f} s: "
          f"{r['acknowledged']} acknowledged ({r['drawings']} drawings, {r['votes']} votes); drawings in the store "
          f"{r['drawings_in_store']}/{r['drawings']}, on the map {r['drawings_on_map']}/{r['drawings']}")
    print(f"  send -> drawn on the projector: p50 {d['p50']:.0f} ms, p95 {d['p95']:.0f} ms, max {d['max']:.0f} ms; "
          f"send -> acknowledged: p50 {a['p50']:.0f} ms, p95 {a['p95']:.0f} ms")
    m, b = r["send_to_presenter_message_ms"], r["presenter_message_to_drawn_ms"]
    print(f"  of which: send -> in the presenter's layer message (server) p50 {m['p50']:.0f} ms, p95 {m['p95']:.0f} ms; "
          f"message -> drawn (the presenter's browser) p50 {b['p50']:.0f} ms, p95 {b['p95']:.0f} ms")
    k, q, g = r["ack_to_presenter_message_ms"], r["presenter_ask_to_message_ms"], r["presenter_ask_interval_ms"]
    print(f"  the server's part: acknowledged -> in the presenter's layer message p50 {k['p50']:.0f} ms, p95 "
          f"{k['p95']:.0f} ms; the presenter's browser asked for a layer run every {g['p50']:.0f} ms (p95 "
          f"{g['p95']:.0f}), and a run's message came {q['p50']:.0f} ms (p95 {q['p95']:.0f}) after its ask")
    print(f"  presenter click on a star -> its drawing shown: n={p['n']}, p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms")
    print(f"  cores used: the server {r['server_cores']}, the clients " + ", ".join(
        f"{k} {v}" for k, v in r["client_cores"].items()) + f"; load average {r['load_average'][0]} -> "
        f"{r['load_average'][1]}")
    print(f"  server CPU {r['server_cpu_s']} s: {r['cpu_ms_per_submission']} ms per acknowledged submission "
          f"(the followers' reads included); refused {r['refused']} {r['refusals']}; failures {r['failed']} "
          f"{r['failures'][:3]}")


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--phones", type=int, default=2, help="of the students, Chromium pages emulating a phone")
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--stores", default="sqlite,redis")
    ap.add_argument("--json", default=None)
    ap.add_argument("--app-dir", type=Path, default=REPO, help="the checkout whose app is served (e.g. an earlier one)")
    args = ap.parse_args(argv)
    reports = []
    for store in args.stores.split(","):
        r = run_store(store, args)
        print_report(r)
        reports.append(r)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))
    return reports


if __name__ == "__main__":
    main()
