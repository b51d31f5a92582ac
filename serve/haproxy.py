"""The HAProxy configuration in front of the app processes.

HAProxy (Debian's package, ``apt-get install haproxy``) is started in the foreground with a file
written here; nothing is installed as a service."""
from __future__ import annotations

import shutil
from pathlib import Path

COOKIE = "vae_process"  # names the app process of a browser; an outer balancer uses another name
BACKEND_CHECK = "/_stcore/health"


def haproxy_binary() -> str:
    """The haproxy executable, or a clear error that says how to install it."""
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")
                                             if Path(p).is_file()), None)
    if found is None:
        raise FileNotFoundError("haproxy is not installed: apt-get install -y haproxy (Debian's package)")
    return found


def max_connections() -> int:
    """Connections HAProxy may hold: each takes two file descriptors (browser and app process), and
    HAProxy refuses to start when it cannot raise its descriptor limit that far."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = hard if hard != resource.RLIM_INFINITY else 1 << 20
    return max(100, min(8000, (limit - 200) // 2))


def config(address: str, port: int, backends: list[int], cookie: str = COOKIE, stats_port: int | None = None,
           maxconn: int | None = None) -> str:
    """A configuration that deals new browsers out over ``backends`` (ports on 127.0.0.1) in turn and
    keeps each browser on its process with an inserted cookie.

    - ``cookie ... insert indirect nocache``: the first response to a browser sets ``cookie`` to the
      process's name; later requests carrying it go to that process (HAProxy strips it before
      forwarding). A process that refuses connections (it died) is skipped (``option redispatch``): the
      browser reconnects and Streamlit opens a new session on another process.
    - A process that is alive but slow to answer its health check (busy with a class: trainings, maps,
      thirty sessions) keeps its browsers: ``option persist`` sends a browser's requests to its process
      even while the checks count it down, and ``timeout check`` gives an answer 10 s. Without them a
      process marked down for a few seconds lost its browsers' next requests to another process, and the
      cookie that came back moved the browser there while its session (and its websocket) stayed behind:
      its upload then went to a process that did not know its session, and the page waited for ever
      (tests/test_serve.py; docs/serving.md).
    - Websockets: HAProxy passes the Upgrade through; ``timeout tunnel`` bounds an idle socket
      (Streamlit pings every few seconds, so an open tab stays connected).
    """
    lines = [
        "global",
        f"    maxconn {maxconn or max_connections()}",
        "",
        "defaults",
        "    mode http",
        "    option redispatch",
        "    option persist",
        "    retries 3",
        "    timeout connect 5s",
        "    timeout client 120s",
        "    timeout server 300s",
        "    timeout tunnel 1h",
        "    timeout http-request 60s",
        "    timeout check 10s",
        "",
        "frontend app",
        f"    bind {address}:{port}",
        "    option forwardfor",
        "    default_backend streamlit",
        "",
        "backend streamlit",
        "    balance roundrobin",  # a class arrives at once: in turn spreads a burst evenly
        f"    cookie {cookie} insert indirect nocache httponly attr SameSite=Lax",
        f"    option httpchk GET {BACKEND_CHECK}",
        "    http-check expect status 200",
        "    default-server inter 2s fall 3 rise 1",
    ]
    lines += [f"    server p{i} 127.0.0.1:{p} check cookie p{i}" for i, p in enumerate(backends)]
    if stats_port is not None:
        lines += ["", "listen stats", f"    bind 127.0.0.1:{stats_port}", "    stats enable", "    stats uri /"]
    return "\n".join(lines) + "\n"
