"""What one class submission costs the server, in-process: a drawing (the phone's PNG read, framed like the
dataset, encoded once by the lecture's model, stored with its reconstruction), a vote (stored), and a follower's
read when nothing happened (the projector's and each phone's per-tick cost), against the reference of one
plain store read (state) in the same invocation.

    python bench/class_cost.py               # mnist5k-2d, SQLite in a temporary home, 200 of each
    python bench/class_cost.py --n 500 --store redis
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default="mnist5k-2d")
    ap.add_argument("--store", choices=["sqlite", "redis"], default="sqlite")
    args = ap.parse_args(argv)
    import torch
    from PIL import Image

    torch.set_num_threads(1)
    from redis_support import redis_server
    from services.room import open_store
    from services.room.follower import RoomFollower
    from test_preprocess import stroke_drawing
    from vae_core.data.preprocess import DatasetStyle, decode_data_url, prepare, read_picture
    from vae_core.render.images import to_uint8
    from vae_core.store.checkpoints import load_checkpoint

    ckpt = load_checkpoint(REPO / "checkpoints" / args.model)
    buf = io.BytesIO()
    Image.fromarray((stroke_drawing(7) * 255).astype("uint8")).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    style = DatasetStyle.mnist(*ckpt.config.image_shape[1:])
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        os.environ["VAE_EXPLORER_HOME"] = tmp
        store = open_store(stack.enter_context(redis_server(Path(tmp))) if args.store == "redis" else None)
        keys = store.create_room()
        members = [store.join(keys.code, f"m{i}") for i in range(2 * args.n)]  # a vote by another member: the pace

        def timed(fn, items) -> list[float]:
            out = []
            for item in items:
                t0 = time.perf_counter()
                fn(item)
                out.append((time.perf_counter() - t0) * 1000)
            return out

        def drawing(m):
            x = prepare(read_picture(decode_data_url(url)), style, ckpt.config.image_shape[0])
            with torch.inference_mode():
                mu, logvar = ckpt.model.encode(torch.from_numpy(x[None]), None)
                rec = ckpt.model.decode(mu, None)
            store.submit_drawing(keys.code, m.member_id, to_uint8(x)[0], mu[0].numpy(), logvar[0].numpy(),
                                 to_uint8(rec[0].numpy())[0])

        ref = timed(lambda _: store.state(keys.code), range(args.n))
        store.open_activity(keys.code, keys.secret, "draw", {"latent_dim": ckpt.config.latent_dim})
        draw = timed(drawing, members[:args.n])
        f = RoomFollower(keys.code)
        f.poll(store)
        idle = timed(lambda _: f.poll(store), range(args.n))
        store.open_activity(keys.code, keys.secret, "poll", {"question": "?", "choices": ["Up", "Down"]})
        vote = timed(lambda m: store.submit_vote(keys.code, m.member_id, 0), members[args.n:])
    med = statistics.median
    r = med(ref)
    print(f"{args.store}, {args.model}, n={args.n} (median ms; ratio to one state read {r:.3f} ms):")
    for name, v in (("drawing: read, frame, encode, store", draw), ("vote: store", vote),
                    ("follower tick, nothing new", idle)):
        print(f"  {name:38s} {med(v):8.2f} ms  p95 {sorted(v)[int(0.95 * len(v)) - 1]:8.2f} ms  x{med(v) / r:6.1f}")


if __name__ == "__main__":
    main()
