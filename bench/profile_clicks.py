"""Where a click's server time goes: py-spy samples a Streamlit server while the websocket client
(bench/load_test.py's) repeats one interaction, and the samples are summed by function.

    pip install py-spy==0.4.3
    python bench/profile_clicks.py --page how_it_works              # the app: switches to How it works
    python bench/profile_clicks.py --page sliders --slider          # the app: slider moves, Live off
    python bench/profile_clicks.py --floor --page one               # the floor (bench/floor_app.py)
    python bench/profile_clicks.py --page models --top 40 --folded /tmp/models.txt

Every thread is sampled (``--gil``: only the one holding the GIL), idle ones left out. The report lists
the functions with the largest share of the samples, inclusive (the function and what it calls) and own,
and the share of a few groups (Streamlit's own run, Plotly, pandas, torch, the app's code). ``--folded``
keeps the stacks (flame graph input: one stack per line and its count).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rerun_cost as rc  # noqa: E402

lt = rc.lt
GROUPS = {  # a sample's group: the first of these found in its stack, innermost first (py-spy names a frame
    "torch": ("(torch/",),  # "function (module/path.py:line)")
    "plotly": ("(plotly/", "(_plotly_utils/"),
    "pandas / pyarrow": ("(pandas/", "(pyarrow/"),
    "numpy": ("(numpy/",),
    "protobuf": ("(google/protobuf/",),
    "the app's code": ("(ui/", "(vae_core/", "(services/", "(pages/", "(app.py", "floor_app.py"),
    "streamlit": ("(streamlit/",),
    "server (uvicorn, websockets, asyncio)": ("(uvicorn/", "(websockets/", "(asyncio/", "(starlette/", "(tornado/"),
}


ROLES = (  # which part of the server a sample belongs to: the first marker found in its stack, outermost first
    ("the page's own code, elements included", "exec_func_with_error_handling"),
    ("the run's start and end (ScriptRunner)", "ScriptRunner._run_script_thread"),
    ("file polling (config.toml, the script)", "PollingPathWatcher"),
    ("thread pool (to_thread: sends, media)", "_worker (concurrent/futures"),
    ("event loop: messages out, websocket, HTTP", "run_forever"),
)


def role_of(frames: list[str]) -> str:
    for name, marker in ROLES:
        if any(marker in f for f in frames):
            return name
    return "other"


def group_of(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        for name, marks in GROUPS.items():
            if any(m in frame for m in marks):
                return name
    return "other"


async def drive(server, args) -> None:
    c = lt.WsClient(server.url)
    await c.open()
    await c.rerun(query="" if args.floor else f"model={lt.UPLOADED_MODEL.name}")
    d = rc.WsDriver(server.url, args.floor)
    d.c = c
    if args.slider or args.toggle:
        await c.rerun(page=args.page)
        await d.to_sliders()
    for _ in range(3):  # warm
        await (d.slider() if args.slider else d.toggle() if args.toggle else c.rerun(page=args.page))
    await asyncio.sleep(5)  # the app's warm-up thread (torch's import, 1 s after the first run) is done
    spy = subprocess.Popen(["py-spy", "record", "--pid", str(server.pids()[0]), "--format", "raw", "--rate",
                            str(args.rate), "--output", args.raw, "--nonblocking", *(["--gil"] if args.gil else []),
                            "--duration", "600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    await asyncio.sleep(2)
    t0 = time.monotonic()
    for _ in range(args.clicks):
        if args.slider:
            await d.slider()
        elif args.toggle:
            await d.toggle()
        else:
            await c.rerun(page=args.page)  # a run of the page, as a switch to it makes
    print(f"{args.clicks} interactions in {time.monotonic() - t0:.1f} s")
    spy.send_signal(2)
    spy.wait(60)
    await c.close()


def report(raw: str, top: int, folded: str | None) -> None:
    inclusive, own, groups = collections.Counter(), collections.Counter(), collections.Counter()
    roles = collections.Counter()
    total = 0
    lines = Path(raw).read_text().splitlines()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
        groups[group_of(frames)] += n
        roles[role_of(frames)] += n
    if folded:
        shutil.copy(raw, folded)
    print(f"{total} samples")
    print("by part of the server:")
    for name, n in roles.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("by group (innermost library in the stack):")
    for name, n in groups.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print(f"inclusive (top {top}):")
    for f, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {f}")
    print(f"own (top {top // 2}):")
    for f, n in own.most_common(top // 2):
        print(f"  {100 * n / total:5.1f}%  {f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", default="how_it_works", help="url path of the page ('' the latent map)")
    ap.add_argument("--slider", action="store_true", help="slider moves on Latent sliders (Live off)")
    ap.add_argument("--toggle", action="store_true", help="the Live toggle (or the floor's toggle)")
    ap.add_argument("--floor", action="store_true", help="the floor app instead of the app")
    ap.add_argument("--clicks", type=int, default=60)
    ap.add_argument("--rate", type=int, default=500, help="samples per second")
    ap.add_argument("--gil", action="store_true", help="only the thread holding the GIL")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--folded", default=None, help="keep the stacks here")
    args = ap.parse_args()
    if shutil.which("py-spy") is None:
        raise SystemExit("py-spy is missing: pip install py-spy==0.4.3")
    home = Path(tempfile.mkdtemp(prefix="vae-profile-"))
    args.raw = str(home / "stacks.txt")
    server = lt.Server(home, app_dir=rc.REPO, script="bench/floor_app.py" if args.floor else "app.py")
    try:
        time.sleep(2)
        asyncio.run(drive(server, args))
    finally:
        server.stop()
    report(args.raw, args.top, args.folded)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
