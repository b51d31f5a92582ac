"""Server CPU per interaction, page by page: what one click costs the server, before and after a change.

One websocket client (bench/load_test.py's, which speaks Streamlit's protocol as a browser does) drives
one server per checkout, alternating between them so that the machine's noise hits both alike. For each
page it asks for ``--repeats`` runs of the page (what a page switch costs), and on the Latent sliders
page, with Live off, slider moves (a fragment run, as the browser asks) and the Live toggle (a full run).
The figure is the server process's CPU time (user + system, from /proc) per interaction, the median of
``--rounds`` rounds.

    python bench/rerun_cost.py --before /tmp/base-checkout          # that checkout against this one
    python bench/rerun_cost.py                                       # this checkout only
"""
from __future__ import annotations

import argparse
import asyncio
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


def cpu_seconds(pid: int) -> float:
    return lt.proc_stats(pid)[1]


async def measure(client, pid: int, action, n: int) -> float:
    """Server CPU milliseconds per call of ``action`` (a coroutine factory), over ``n`` calls."""
    await action()  # warm: caches filled, code paths imported
    c0 = cpu_seconds(pid)
    for _ in range(n):
        await action()
    await asyncio.sleep(0.2)  # messages still being sent belong to these runs
    return (cpu_seconds(pid) - c0) * 1000 / n


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
        for name, server in servers.items():
            c = clients[name]
            out.setdefault(f"page: {PAGES[page]}", {})[name] = await measure(
                c, server.pids()[0], lambda c=c, page=page: c.rerun(page=page), repeats)
    for name, server in servers.items():
        move, toggle = await slider_actions(clients[name])
        out.setdefault("slider (fragment)", {})[name] = await measure(clients[name], server.pids()[0], move, repeats)
        out.setdefault("Live toggle (two full runs) / 2", {})[name] = await measure(
            clients[name], server.pids()[0], toggle, max(repeats // 2, 1)) / 2
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
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=10, help="interactions per measurement")
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
