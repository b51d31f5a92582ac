"""What app.py's one speed-bound Streamlit internal buys: Streamlit's REPL check, skipped by app.py.

Before the first element in a process, Streamlit asks ``env_util.is_repl()``, which reads the source of every
frame on the stack. This times that call in a fresh process, in a script run (AppTest's script thread, a stack
like a real server's), against the reference of the same invocation: the app's whole first-screen script run
(app.py through AppTest, which skips the check). Prints both and their ratio.

Run: python bench/streamlit_internals.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

PROBE = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from streamlit.testing.v1 import AppTest

check = AppTest.from_string("""
import time
import streamlit as st
from streamlit import env_util
t0 = time.perf_counter()
env_util.is_repl()
st.session_state["ms"] = (time.perf_counter() - t0) * 1000
""", default_timeout=120)
check.run()
t0 = time.perf_counter()
app = AppTest.from_file(sys.argv[1] + "/app.py", default_timeout=120)
app.run()
first_screen = (time.perf_counter() - t0) * 1000
print(json.dumps({"repl_check_ms": check.session_state["ms"], "first_screen_ms": first_screen,
                  "exceptions": [e.value for e in app.exception]}))
'''


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="fresh processes to time")
    args = ap.parse_args(argv)
    checks, screens = [], []
    with tempfile.TemporaryDirectory() as home:
        for _ in range(args.repeats):
            out = subprocess.run([sys.executable, "-c", PROBE, str(REPO)], capture_output=True, text=True,
                                 env={"VAE_EXPLORER_HOME": home, "PATH": "/usr/bin:/bin", "HOME": home}, timeout=600)
            got = json.loads(out.stdout.strip().splitlines()[-1])
            if got["exceptions"]:
                raise SystemExit(f"the app failed: {got['exceptions']}")
            checks.append(got["repl_check_ms"])
            screens.append(got["first_screen_ms"])
    result = {"repl_check_ms": float(np.median(checks)), "first_screen_ms": float(np.median(screens)),
              "ratio": float(np.median(checks) / np.median(screens)), "repeats": args.repeats}
    print(f"Streamlit's REPL check (median of {args.repeats} fresh processes): {result['repl_check_ms']:.0f} ms "
          f"(min {min(checks):.0f}, max {max(checks):.0f})")
    print(f"the app's first-screen script run, the reference: {result['first_screen_ms']:.0f} ms")
    print(f"ratio: {result['ratio']:.3f} (the share of the first screen app.py saves by marking the check done)")
    return result


if __name__ == "__main__":
    main()
