"""Start, watch and stop the app processes and HAProxy in front of them."""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import haproxy

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180.0  # seconds for every process to answer (a loaded machine starts Python slowly)


def default_processes() -> int:
    """One app process per CPU core this process may use: the cores it may run on, or fewer when a
    container's CPU quota (cgroup v2 ``cpu.max``, set by docker --cpus or a Kubernetes limit) allows fewer."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 5) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    url: str | None = None  # its health check, for app processes
    proc: subprocess.Popen | None = None
    restarts: int = 0

    def start(self, cwd: Path) -> None:
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.args, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            log.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Cluster:
    """``processes`` app processes on 127.0.0.1 and HAProxy on ``address:port``, sharing ``home``.

    Use as a context manager, or call start() and stop(); stop() ends every child it started, by PID.
    """

    processes: int = field(default_factory=default_processes)
    port: int = 8501
    address: str = "127.0.0.1"
    home: Path | None = None  # VAE_EXPLORER_HOME of every process (default: the environment's, else the app's)
    app_dir: Path = REPO  # the checkout whose app.py runs
    run_dir: Path | None = None  # logs and the HAProxy config (default: a new temporary folder)
    env: dict[str, str] = field(default_factory=dict)  # more environment for the app processes
    streamlit_args: list[str] = field(default_factory=list)
    apps: list[Child] = field(default_factory=list)
    proxy: Child | None = None
    stats_port: int = 0  # HAProxy's statistics page on 127.0.0.1 (its view of the processes)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "::", "") else self.address
        return f"http://{host}:{self.port}"

    def app_pids(self) -> list[int]:
        return [c.pid for c in self.apps if c.pid is not None]

    def __enter__(self) -> "Cluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        if self.processes < 1:
            raise ValueError(f"processes={self.processes}: give at least 1")
        binary = haproxy.haproxy_binary()
        self.run_dir = Path(self.run_dir or tempfile.mkdtemp(prefix="vae-serve-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **self.env)
        if self.home is not None:
            env["VAE_EXPLORER_HOME"] = str(self.home)
        try:
            ports = []
            for i in range(self.processes):
                port = free_port()
                ports.append(port)
                child = Child(f"app{i}", self._streamlit(port), env, self.run_dir / f"app{i}.log",
                              url=f"http://127.0.0.1:{port}")
                child.start(self.app_dir)
                self.apps.append(child)
            cfg = self.run_dir / "haproxy.cfg"
            self.stats_port = free_port()
            cfg.write_text(haproxy.config(self.address, self.port, ports, stats_port=self.stats_port))
            self.proxy = Child("haproxy", [binary, "-f", str(cfg), "-db"], dict(os.environ),
                               self.run_dir / "haproxy.log")
            self.proxy.start(self.run_dir)
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _streamlit(self, port: int) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", *self.streamlit_args]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.time() + timeout
        waiting = [*self.apps, self.proxy]
        while waiting:
            for child in list(waiting):
                if not child.running():
                    raise RuntimeError(f"{child.name} exited while starting:\n{child.log_tail()}")
                if healthy(child.url or self.url, timeout=2):
                    waiting.remove(child)
            if waiting and time.time() > deadline:
                raise TimeoutError(f"{', '.join(c.name for c in waiting)} did not answer within {timeout:.0f} s")
            if waiting:
                time.sleep(0.3)
        while (down := self.proxy_servers_down()):  # HAProxy's own checks: new browsers go to every process
            if time.time() > deadline:
                raise TimeoutError(f"HAProxy still sees {', '.join(down)} down after {timeout:.0f} s")
            time.sleep(0.3)

    def proxy_servers_down(self) -> list[str]:
        """The app processes HAProxy does not (yet) send browsers to, from its statistics (CSV)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.stats_port}/;csv", timeout=5) as r:
                rows = r.read().decode().splitlines()
        except OSError:
            return ["haproxy"]
        header = rows[0].lstrip("# ").split(",")
        status = header.index("status")
        down = []
        for row in rows[1:]:
            cells = row.split(",")
            if cells[0] == "streamlit" and cells[1] not in ("FRONTEND", "BACKEND") and cells[status] != "UP":
                down.append(cells[1])
        return down

    def watch(self, say: Callable[[str], None] = print, stop_when: Callable[[], bool] = lambda: False,
              poll: float = 1.0) -> None:
        """Keep the processes up until ``stop_when()``: an app process that exits is started again
        (its sessions reconnect to another process); HAProxy exiting ends the watch with an error."""
        while not stop_when():
            if self.proxy is not None and not self.proxy.running():
                raise RuntimeError(f"haproxy exited:\n{self.proxy.log_tail()}")
            for child in self.apps:
                if not child.running():
                    child.restarts += 1
                    say(f"{child.name} (pid {child.pid}) exited with status {child.proc.returncode}; starting it "
                        f"again (restart {child.restarts}); its log: {child.log_path}")
                    child.start(self.app_dir)
            time.sleep(poll)

    def stop(self) -> None:
        """Stop HAProxy first (no new requests), then every app process; each by its PID."""
        for child in [c for c in (self.proxy, *self.apps) if c is not None]:
            try:
                child.stop()
            except OSError:
                pass
