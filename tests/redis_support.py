"""A real redis-server (Debian's) for the tests and the benchmark: started on a free port of 127.0.0.1
with no persistence, waited for until it answers PING, stopped by its PID."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(log_dir: Path, timeout: float = 60.0) -> Iterator[str]:
    """Yields the server's URL (``redis://127.0.0.1:PORT/0``) once it answers PING; stops it after."""
    exe = shutil.which("redis-server") or REDIS_SERVER
    if not Path(exe).exists():
        raise RuntimeError(f"{REDIS_SERVER} is missing: apt-get install redis-server (CI's .ci/run does)")
    port = free_port()
    log = open(Path(log_dir) / f"redis-{port}.log", "w+")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not _pong(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"redis-server on port {port} did not answer PING:\n{log.read()[-2000:]}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
