"""Why a load test's session failed: what its browser saw (HTTP errors, its websocket closing, the proxy's
cookie moving it to another process, what the page showed when it gave up) and what HAProxy saw (a process
marked down by its health check). bench/load_test.py records these and names a cause with every failure.
"""
from __future__ import annotations

import time
import urllib.request
from dataclasses import dataclass, field

# What a Streamlit page shows when it stops: the running indicator, stale elements, an error or an exception box.
PAGE_STATE_JS = """() => ({
  running: !!document.querySelector('[data-testid=stStatusWidget]'),
  status: (document.querySelector('[data-testid=stStatusWidget]') || {}).innerText || '',
  stale: document.querySelectorAll('[data-stale="true"]').length,
  errors: [...document.querySelectorAll('[data-testid=stAlertContentError], [data-testid=stException]')]
    .map((e) => e.innerText.trim().slice(0, 120)),
  chips: [...document.querySelectorAll('[data-testid=stFileChip]')].map((e) => e.innerText.trim().slice(0, 120)),
  title: ((document.querySelector('[data-testid=stMain] h1') || {}).innerText || '').trim(),
})"""


@dataclass
class BrowserLog:
    """What one browser session's page saw of the network, from Playwright's events."""

    t0: float = field(default_factory=time.time)
    http_errors: list[str] = field(default_factory=list)  # "+12.3 s PUT /_stcore/upload_file/... 400"
    ws_closed: list[float] = field(default_factory=list)  # seconds after t0 the page's websocket closed
    stage: str = "arrival"  # what the session was doing (set by the session as it goes)

    def watch(self, page) -> None:
        page.on("response", self._response)
        page.on("requestfailed", self._failed)
        page.on("websocket", lambda ws: ws.on("close", lambda *_: self.ws_closed.append(time.time() - self.t0)))

    def _note(self, text: str) -> None:
        if len(self.http_errors) < 50:
            self.http_errors.append(f"+{time.time() - self.t0:.1f} s {text}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self._note(f"{response.request.method} {_path(response.url)} {response.status}")

    def _failed(self, request) -> None:
        self._note(f"{request.method} {_path(request.url)} failed: {request.failure}")


def _path(url: str) -> str:
    path = "/" + url.split("/", 3)[-1] if url.count("/") >= 3 else url
    return path[:70]


async def page_state(page) -> dict:
    try:
        return await page.evaluate(PAGE_STATE_JS)
    except Exception as e:  # noqa: BLE001 - a closed or crashed page says so
        return {"unreadable": f"{type(e).__name__}: {str(e)[:80]}"}


def proxy_stats(stats_port: int) -> dict[str, dict]:
    """HAProxy's view of each app process (its CSV statistics): status, failed checks, times marked down, seconds
    down, the last check's result."""
    with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/;csv", timeout=10) as r:
        rows = r.read().decode().splitlines()
    header = rows[0].lstrip("# ").split(",")
    col = {name: header.index(name) for name in ("pxname", "svname", "status", "chkfail", "chkdown", "downtime",
                                                 "check_status", "check_duration", "lastchg")}
    out = {}
    for row in rows[1:]:
        cells = row.split(",")
        if len(cells) < len(header) or cells[col["pxname"]] != "streamlit" or cells[col["svname"]] in (
                "FRONTEND", "BACKEND"):
            continue
        out[cells[col["svname"]]] = {k: cells[col[k]] for k in ("status", "chkfail", "chkdown", "downtime",
                                                                 "check_status", "check_duration")}
    return out


def proxy_summary(stats: dict[str, dict]) -> str:
    parts = []
    for name, s in sorted(stats.items()):
        down = int(s.get("chkdown") or 0)
        parts.append(f"{name} {s.get('status')}, {s.get('chkfail') or 0} failed health checks"
                     + (f", marked down {down} time(s) for {s.get('downtime') or 0} s" if down else ""))
    return "; ".join(parts)


def cause(stage: str, state: dict | None, log: BrowserLog | None, process_then: str, process_now: str,
          stats: dict[str, dict] | None) -> str:
    """One sentence: why a session stopped where it did, from everything it and the proxy saw."""
    said = [f"while {stage}"]
    if process_then and process_now and process_now != process_then:
        said.append(f"the proxy's cookie moved this browser from {process_then} to {process_now} while its session "
                    f"lived on {process_then}")
    if stats and process_then in stats and int(stats[process_then].get("chkdown") or 0):
        s = stats[process_then]
        said.append(f"HAProxy marked {process_then} down {s['chkdown']} time(s) ({s.get('downtime')} s) by its health "
                    "check")
    if log is not None:
        if log.http_errors:
            said.append(f"HTTP errors: {'; '.join(log.http_errors[-3:])}")
        if log.ws_closed:
            said.append(f"its websocket closed at +{', +'.join(f'{t:.0f}' for t in log.ws_closed[:3])} s")
    if state:
        if "unreadable" in state:
            said.append(f"the page could not be read ({state['unreadable']})")
        else:
            shown = []
            if state.get("running"):
                shown.append(f"the running indicator ({state.get('status', '').strip()[:40] or 'running'})")
            if state.get("stale"):
                shown.append(f"{state['stale']} stale elements")
            if state.get("errors"):
                shown.append(f"errors {state['errors'][:2]}")
            if state.get("chips"):
                shown.append(f"file chips {state['chips'][:2]}")
            said.append("the page showed " + (", ".join(shown) if shown else f"'{state.get('title', '')}', idle"))
    return "; ".join(said)
