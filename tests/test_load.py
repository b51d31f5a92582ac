"""A small run of bench/load_test.py: 5 browser sessions against one server for 20 seconds.

It checks what must hold at any scale (the full 30-session figures are in docs/reliability.md):
every session sees its own upload and nobody else's uploads or trained models, the per-server
training cap refuses a second training with a clear message, no page shows an exception, the
interactions complete, and the server is still up at the end."""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import load_bench_module

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser


def test_five_sessions_stay_isolated_and_the_server_survives(tmp_path):
    bench = load_bench_module()
    if not Path(bench.CHROMIUM).exists():
        pytest.fail(f"{bench.CHROMIUM} is missing: apt-get install chromium (CI's .ci/run does)")
    r = bench.main(["--sessions", "5", "--duration", "20", "--ramp", "2", "--presses", "3",
                    "--json", str(tmp_path / "load.json"), "--shots", str(REPO / "test-artifacts")])
    assert r["server_alive_at_end"]
    assert r["uploads_done"] == 5
    assert r["isolation_problems"] == []
    assert r["cap_message"] and "1 trainings are already running" in r["cap_message"]
    assert r["trained_model_published"] and len(r["trained_models_on_disk"]) == 1
    assert r["upload_folders_on_disk"] == 5
    assert r["exceptions_shown"] == 0
    assert r["failed_interactions"] == 0, r["failures"]
    done = {kind: sum(n for name, n in r["interactions"].items() if name.startswith(kind)) for kind in ("slider", "page")}
    assert done["slider"] >= 3 and done["page"] >= 5, r["interactions"]


def test_five_sessions_through_the_proxy_with_two_processes(tmp_path):
    """The same load through HAProxy (python -m serve's configuration) in front of two app processes sharing
    one home: both processes serve sessions, isolation holds across them, the training cap counts across
    them, and after a reload (F5) each browser still lists its own upload and session 0 its trained model."""
    bench = load_bench_module()
    r = bench.main(["--sessions", "5", "--duration", "20", "--ramp", "2", "--presses", "3", "--processes", "2",
                    "--json", str(tmp_path / "load.json"), "--shots", str(REPO / "test-artifacts")])
    assert r["through_proxy"] and r["processes"] == 2
    served = {p: n for p, n in r["sessions_per_process"].items() if p != "-"}
    assert sorted(served) == ["p0", "p1"] and sum(served.values()) == 5, r["sessions_per_process"]
    assert r["server_alive_at_end"]
    assert r["uploads_done"] == 5 and r["upload_folders_on_disk"] == 5
    assert r["isolation_problems"] == []
    assert r["reloads_checked"] == 5  # every (Chromium) session reloaded and still listed its models
    assert r["cap_message"] and "1 trainings are already running" in r["cap_message"]
    assert r["trained_model_published"] and len(r["trained_models_on_disk"]) == 1
    assert r["exceptions_shown"] == 0
    assert r["failed_interactions"] == 0, r["failures"]
