"""``python -m serve``: app processes behind real HAProxy, with cookie affinity; an app process that dies is
started again; SIGTERM stops every child. Each process started here is stopped by its PID."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_support import load_bench_module
from serve import haproxy
from serve.cluster import free_port

REPO = Path(__file__).resolve().parents[1]
DEADLINE = 240  # seconds for processes to start on a busy machine


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(url: str, cookie: str | None = None) -> tuple[int, str | None]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        set_cookie = [h for h in r.headers.get_all("Set-Cookie") or [] if h.startswith(haproxy.COOKIE + "=")]
        return r.status, set_cookie[0].split(";", 1)[0].split("=", 1)[1] if set_cookie else None


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.time() + deadline
    while True:
        value = condition()
        if value:
            return value
        assert time.time() < end, f"{what} did not happen within {deadline} s"
        time.sleep(0.5)


def test_the_proxy_ties_browsers_to_processes_restarts_a_dead_one_and_stops_all(tmp_path):
    if not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is missing: apt-get install -y haproxy (CI's .ci/run does)")
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "serve", "--processes", "2", "--address", "127.0.0.1", "--port",
                             str(port), "--home", str(tmp_path / "home"), "--run-dir", str(tmp_path / "run")],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        def started():
            log.seek(0)
            m = re.search(r"app process PIDs \[(\d+), (\d+)\], HAProxy PID (\d+)", log.read())
            assert proc.poll() is None, log.read()
            return m
        m = wait_for(started, "python -m serve starting")
        apps, proxy = [int(m.group(1)), int(m.group(2))], int(m.group(3))
        children = [*apps, proxy]
        url = f"http://127.0.0.1:{port}"
        # new browsers are dealt out in turn; a browser with the cookie is not given another
        firsts = {get(url + "/_stcore/health")[1] for _ in range(4)}
        assert firsts == {"p0", "p1"}
        assert get(url + "/", cookie=f"{haproxy.COOKIE}=p1") == (200, None)
        cfg = (tmp_path / "run" / "haproxy.cfg").read_text()
        assert f"cookie {haproxy.COOKIE} insert indirect" in cfg and cfg.count("server p") == 2

        os.kill(apps[0], signal.SIGKILL)  # an app process dies: it is started again
        wait_for(lambda: "restart 1" in (tmp_path / "serve.log").read_text(), "the restart")
        log.seek(0)
        wait_for(lambda: get(url + "/", cookie=f"{haproxy.COOKIE}=p0")[0] == 200, "the proxy answering")
        restarted = wait_for(lambda: _pids_listening(tmp_path / "run"), "the new process")
        children += restarted
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            code = None
        for pid in children:  # whatever happened above, nothing started here keeps running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert not [pid for pid in children if alive(pid)], "a child outlived python -m serve"


def _pids_listening(run_dir: Path) -> list[int]:
    """The PIDs of streamlit processes started for this run (their command line names the run's ports)."""
    ports = re.findall(r"127\.0\.0\.1:(\d+)", (run_dir / "haproxy.cfg").read_text())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and any(f"{p}".encode() in cmd for p in ports[1:]):
            found.append(int(entry.name))
    return found


def _proxy_status(cluster, server: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.stats_port}/;csv", timeout=10) as r:
        rows = r.read().decode().splitlines()
    header = rows[0].lstrip("# ").split(",")
    row = next(r.split(",") for r in rows[1:] if r.split(",")[:2] == ["streamlit", server])
    return row[header.index("status")]


def test_a_process_too_busy_for_its_health_checks_keeps_its_browsers(tmp_path):
    """A class keeps a process busy, and its health checks answer late or not at all. The browsers on it must
    stay on it: a request sent while HAProxy counts it down waits for it instead of going to another process,
    whose cookie would move the browser there while its session (and websocket) stayed behind. Its next upload
    then reached a process that did not know its session (HTTP 400), and the page waited for the upload's
    message for ever (a load test's Chromium session, s00, stuck for 4 minutes with two processes)."""
    import asyncio

    from serve.cluster import Cluster
    from vae_core.store.checkpoints import export_zip

    if not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is missing: apt-get install -y haproxy (CI's .ci/run does)")
    bench = load_bench_module()
    upload = tmp_path / "upload-busy.zip"
    upload.write_bytes(export_zip(REPO / "checkpoints" / "digits-2d"))

    async def scenario(cluster) -> None:
        c = bench.WsClient(cluster.url)
        await c.open()
        await c.rerun(query="model=digits-2d")
        mine = c.process
        pid = cluster.apps[int(mine[1:])].pid
        os.kill(pid, signal.SIGSTOP)  # busier than any class: it answers nothing until it is let go
        try:
            await asyncio.to_thread(wait_for, lambda: _proxy_status(cluster, mine).startswith("DOWN"),
                                    f"HAProxy counting {mine} down")
            # the browser asks its process for something meanwhile (an image, a component's file, an upload)
            pending = asyncio.create_task(asyncio.to_thread(get, cluster.url + "/_stcore/health",
                                                            "; ".join(f"{k}={v}" for k, v in c.cookies.items())))
            await asyncio.sleep(2)
        finally:
            os.kill(pid, signal.SIGCONT)
        status, moved_to = await pending
        assert status == 200
        assert moved_to in (None, mine), f"the proxy moved the browser from {mine} to {moved_to}"
        view = await c.upload("ckpt_upload", upload)  # its session is still where its requests go
        assert any(m.startswith("Loaded upload-busy") for m in view.successes), (view.successes, view.errors)
        await c.close()

    with Cluster(processes=2, port=free_port(), home=tmp_path / "home", run_dir=tmp_path / "run") as cluster:
        asyncio.run(scenario(cluster))
