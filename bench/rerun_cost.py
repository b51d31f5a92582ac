"""Server CPU per interaction, page by page: what one click costs the server, before and after a change.

One websocket client (bench/load_test.py's, which speaks Streamlit's protocol as a browser does) drives
one server per checkout, the servers taking turns interaction by interaction so that the machine's
noise hits both alike. For each
page it asks for ``--repeats`` runs of the page (what a page switch costs), and on the Latent sliders
page, with Live off, slider moves (a fragment run, as the browser asks) and the Live toggle (a full run).
The figure is the server process's CPU time (all its threads, read from its POSIX CPU-time clock)
per interaction, the median of ``--rounds`` rounds.

    python bench/rerun_cost.py --before /tmp/base-checkout          # that checkout against this one
    python bench/rerun_cost.py                                       # this checkout only
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import importlib.util
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
PAGES = {"": "Latent map", "sliders": "Latent sliders", "generate": "Generate", "how_it_works": "How it works",
         "models": "Models", "train": "Train a VAE"}


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


async def measure_pair(clients: dict, servers: dict, actions: dict, n: int) -> dict[str, float]:
    """Server CPU milliseconds per call of each server's ``action``, the servers taking turns call by call
    (the machine's noise then falls on both alike); ``n`` calls each."""
    for name in servers:
        await actions[name]()  # warm: caches filled, code paths imported
    spent = dict.fromkeys(servers, 0.0)
    for _ in range(n):
        for name, server in servers.items():
            pid = server.pids()[0]
            c0 = cpu_seconds(pid)
            await actions[name]()
            await asyncio.sleep(0.05)  # messages still being sent belong to this run
            spent[name] += cpu_seconds(pid) - c0
    return {name: ms * 1000 / n for name, ms in spent.items()}


async def slider_actions(client):
    """A slider move on the sliders page with Live off: a fragment run, as the browser asks for one."""
    view = await client.rerun(page="sliders")
    if "sliders_live" in view.widgets and view.widgets["sliders_live"].default:
        await client.rerun(widgets=[lt.widget_state(view.widgets["sliders_live"], bool_value=False)])
    keys = sorted(k for k in client.view.widgets if k.startswith("sliders_z"))
    state = {"v": 0.0}

    async def move():
        state["v"] = 0.5 if state["v"] != 0.5 else -0.5
        key = keys[0]
        await client.rerun(widgets=[lt.widget_state(client.view.widgets[key], double_array_value=[state["v"]])],
                           fragment=client.view.fragments.get(key, ""))

    async def toggle():
        live = client.view.widgets["sliders_live"]
        await client.rerun(widgets=[lt.widget_state(live, bool_value=True)])
        await client.rerun(widgets=[lt.widget_state(client.view.widgets["sliders_live"], bool_value=False)])
    return move, toggle


async def one_round(servers: dict, clients: dict, repeats: int) -> dict:
    out: dict[str, dict[str, float]] = {}
    for page in PAGES:
        actions = {name: (lambda c=clients[name], page=page: c.rerun(page=page)) for name in servers}
        out[f"page: {PAGES[page]}"] = await measure_pair(clients, servers, actions, repeats)
    moves, toggles = {}, {}
    for name in servers:
        moves[name], toggles[name] = await slider_actions(clients[name])
    out["slider (fragment)"] = await measure_pair(clients, servers, moves, repeats)
    per_two = await measure_pair(clients, servers, toggles, max(repeats // 2, 1))
    out["Live toggle (two full runs) / 2"] = {name: ms / 2 for name, ms in per_two.items()}
    return out


async def run(servers: dict, rounds: int, repeats: int) -> dict:
    clients = {}
    for name, server in servers.items():
        c = lt.WsClient(server.url)
        await c.open()
        await c.rerun(query=f"model={lt.UPLOADED_MODEL.name}")
        clients[name] = c
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for _ in range(rounds):
            for kind, by_server in (await one_round(servers, clients, repeats)).items():
                for name, ms in by_server.items():
                    results.setdefault(kind, {}).setdefault(name, []).append(ms)
    finally:
        for c in clients.values():
            await c.close()
    return {k: {n: statistics.median(v) for n, v in by.items()} for k, by in results.items()}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, default=None, help="another checkout (e.g. git worktree of main)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20, help="interactions per measurement")
    args = ap.parse_args(argv)
    checkouts = ({"before": args.before.resolve()} if args.before else {}) | {"after": REPO}
    servers = {}
    try:
        for name, path in checkouts.items():
            home = Path(tempfile.mkdtemp(prefix=f"vae-cost-{name}-"))
            servers[name] = lt.Server(home, app_dir=path)
        time.sleep(2)
        table = asyncio.run(run(servers, args.rounds, args.repeats))
    finally:
        for s in servers.values():
            s.stop()
    names = list(checkouts)
    print(f"\nServer CPU per interaction, ms (median of {args.rounds} rounds of {args.repeats}; load average "
          f"{__import__('os').getloadavg()[0]:.1f})")
    print(f"{'interaction':<36}" + "".join(f"{n:>10}" for n in names) + ("     ratio" if len(names) > 1 else ""))
    for kind, by in table.items():
        row = f"{kind:<36}" + "".join(f"{by[n]:>10.1f}" for n in names)
        if len(names) > 1:
            row += f"{by['after'] / by['before']:>10.2f}"
        print(row)
    return table


if __name__ == "__main__":
    main()
