"""The class room's store under a class: students submitting drawings and followers reading events.

For each backend (SQLite in a fresh home, then Redis on a redis-server this script starts on a free
port and stops by its PID), in one invocation:

- ``--students`` (60) members join, then each sends a drawing (28 x 28 uint8 plus a 2-D mu and logvar,
  as the draw activity does) every ``--interval`` s (2 s: the fastest the store's pace allows), each
  student at its own random phase;
- ``--followers`` (61: 60 phones and the projector) each call ``events_since`` once a second;
- for ``--duration`` s (30), all of them spread over ``--processes`` (2) processes, each process one
  store object shared by its threads, as the app's processes (python -m serve) would.

Printed per backend: submissions acknowledged per second, the latency of a submission (call ->
acknowledgement, p50/p95), of "submitted -> seen by a follower" (the submission's time in the store ->
the moment a follower's events_since returned it; bounded below by the once-a-second polling, so about
0.5 s on average), and of one events_since call; then the ratio Redis / SQLite of each. Every
acknowledged submission must have been seen by every follower and be in the final snapshot.

    python bench/room_store.py
    python bench/room_store.py --students 120 --interval 2 --duration 30 --processes 2
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from redis_support import redis_server  # noqa: E402  (tests/redis_support.py: the same server as the tests')
from services.room import RoomError, open_store  # noqa: E402
from services.room.model import SUBMITTED  # noqa: E402


def drawing(rng: random.Random) -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    x = rng.randint(6, 20)
    img[5:23, x:x + 3] = 255
    return img


def _students(store, code: str, members: list[str], t0: float, args, out: dict) -> None:
    def one(member_id: str, phase: float) -> None:
        rng, k, last = random.Random(member_id), 0, 0.0
        while True:  # every `interval` s from its phase, never sooner than `interval` after its last one
            due = max(t0 + phase + k * args.interval, last + args.interval + 0.005)
            if due > t0 + args.duration:
                return
            time.sleep(max(0.0, due - time.time()))
            start = time.time()
            try:
                sub = store.submit_drawing(code, member_id, drawing(rng), [rng.gauss(0, 1), rng.gauss(0, 1)],
                                           [-2.0, -2.0])
                out["submit"].append(time.time() - start)
                out["acked"].append(sub.seq)
                last = sub.at
            except RoomError as e:
                out["errors"].append(e.code)
            k += 1

    threads = [threading.Thread(target=one, args=(m, random.uniform(0, args.interval))) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _followers(store, code: str, n: int, t0: float, args, out: dict, students_done) -> None:
    def one() -> None:
        cursor, seen = store.snapshot(code).cursor, set()
        due = t0 + random.uniform(0, 1.0)
        last_round = False
        while not last_round:  # until every student of every process is done, and then once more
            time.sleep(max(0.0, due - time.time()))
            last_round = students_done.value == args.processes
            start = time.time()
            events, cursor = store.events_since(code, cursor)
            now = time.time()
            out["poll"].append(now - start)
            for e in events:
                if e.kind == SUBMITTED:
                    out["seen"].append(now - e.at)
                    seen.add(e.seq)
            due += 1.0
        out["seen_sets"].append(seen)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def worker(url: str | None, home: str, code: str, members: list[str], n_followers: int, t0: float, args,
           queue, students_done) -> None:
    os.environ["VAE_EXPLORER_HOME"] = home
    store = open_store(url or "sqlite")
    out = {"submit": [], "acked": [], "errors": [], "poll": [], "seen": [], "seen_sets": []}
    followers = threading.Thread(target=_followers, args=(store, code, n_followers, t0, args, out, students_done))
    followers.start()
    _students(store, code, members, t0, args, out)
    with students_done.get_lock():
        students_done.value += 1
    followers.join()
    store.close()
    queue.put(out)


def run(url: str | None, home: str, args) -> dict:
    os.environ["VAE_EXPLORER_HOME"] = home
    store = open_store(url or "sqlite")
    keys = store.create_room("bench")
    store.open_activity(keys.code, keys.secret, "draw", {"latent_dim": 2, "prompt": "Draw a 3"})
    members = [store.join(keys.code, f"student-{i}").member_id for i in range(args.students)]
    ctx = mp.get_context("spawn")
    queue, students_done = ctx.Queue(), ctx.Value("i", 0)
    t0 = time.time() + 5.0  # every process starts its clock together
    procs = [ctx.Process(target=worker, args=(url, home, keys.code, members[p::args.processes],
                                              len(range(p, args.followers, args.processes)), t0, args, queue,
                                              students_done))
             for p in range(args.processes)]
    for p in procs:
        p.start()
    outs = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    merged = {k: [v for o in outs for v in o[k]] for k in outs[0]}
    snap = store.snapshot(keys.code)
    acked = set(merged["acked"])
    unseen = sum(len(acked - s) for s in merged["seen_sets"])
    store.close()
    return {"rate": len(merged["acked"]) / args.duration, "submit": merged["submit"], "seen": merged["seen"],
            "poll": merged["poll"], "errors": merged["errors"], "unseen": unseen, "acked": len(acked),
            "live": len(snap.submissions), "members": args.students}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--followers", type=int, default=61)
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a student's submissions (>= 2)")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    print(f"{args.students} students (one drawing every {args.interval:g} s each), {args.followers} followers "
          f"(events_since once a second), {args.duration:g} s, {args.processes} processes; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(None, str(Path(tmp) / "home-sqlite"), args)
        with redis_server(Path(tmp)) as url:
            results["redis"] = run(url, str(Path(tmp) / "home-redis"), args)
    rows = [("submissions/s", lambda r: r["rate"], "{:.1f}"),
            ("submit p50 (ms)", lambda r: pct(r["submit"], 50), "{:.1f}"),
            ("submit p95 (ms)", lambda r: pct(r["submit"], 95), "{:.1f}"),
            ("submitted -> seen p50 (ms)", lambda r: pct(r["seen"], 50), "{:.0f}"),
            ("submitted -> seen p95 (ms)", lambda r: pct(r["seen"], 95), "{:.0f}"),
            ("events_since p50 (ms)", lambda r: pct(r["poll"], 50), "{:.2f}"),
            ("events_since p95 (ms)", lambda r: pct(r["poll"], 95), "{:.2f}")]
    print(f"{'':28s} {'SQLite':>10s} {'Redis':>10s} {'Redis/SQLite':>13s}")
    for name, get, fmt in rows:
        a, b = get(results["sqlite"]), get(results["redis"])
        print(f"{name:28s} {fmt.format(a):>10s} {fmt.format(b):>10s} {b / a:>13.2f}")
    for name, r in results.items():
        print(f"{name}: {r['acked']} acknowledged, {r['live']} live at the end (one per member), "
              f"{len(r['errors'])} refused {sorted(set(r['errors']))}, {r['unseen']} (follower, submission) pairs unseen")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    ok = all(r["unseen"] == 0 and r["live"] == r["members"] and not r["errors"] for r in results.values())
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
