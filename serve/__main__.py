"""``python -m serve``: the app for a whole class on one machine.

    python -m serve                          # one app process per core, HAProxy on 0.0.0.0:8501
    python -m serve --processes 4 --port 80 --home /srv/vae-explorer

Ctrl-C (or SIGTERM, as ``docker stop`` sends) stops HAProxy and every app process."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .cluster import Cluster, default_processes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m serve", description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=default_processes(),
                    help=f"app processes (default: one per CPU core, here {default_processes()})")
    ap.add_argument("--address", default="0.0.0.0", help="where HAProxy listens (default: every interface)")
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--home", type=Path, default=None,
                    help="VAE_EXPLORER_HOME shared by the processes (default: $VAE_EXPLORER_HOME, else "
                         "~/.local/share/vae-latent-explorer)")
    ap.add_argument("--run-dir", type=Path, default=None, help="folder for the logs and haproxy.cfg (default: a "
                                                                "new temporary folder)")
    args = ap.parse_args(argv)
    if not 1 <= args.processes <= 256:
        ap.error(f"--processes {args.processes}: give a number between 1 and 256")
    if not 1 <= args.port <= 65535:
        ap.error(f"--port {args.port}: give a port between 1 and 65535")

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    cluster = Cluster(processes=args.processes, port=args.port, address=args.address, home=args.home,
                      run_dir=args.run_dir)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say(f"starting {args.processes} app processes and HAProxy...")
    try:
        cluster.start()
        say(f"serving on {cluster.url} (HAProxy on {args.address}:{args.port}); app process PIDs "
            f"{cluster.app_pids()}, HAProxy PID {cluster.proxy.pid}; logs in {cluster.run_dir}. Ctrl-C stops all.")
        cluster.watch(say, stop_when=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    except (RuntimeError, TimeoutError, FileNotFoundError) as e:
        say(f"error: {e}")
        return 1
    finally:
        say("stopping...")
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
