"""README's first command, run as a new user would: in a terminal (a pseudo-terminal), with an empty HOME
(no ~/.streamlit/credentials.toml), no flags added. It must answer on its health endpoint with no
question asked, and still open a browser where the desktop has one (an ``xdg-open`` on PATH, here one that
writes down the address it was given)."""
from __future__ import annotations

import os
import pty
import re
import select
import shutil
import socket
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WAIT_S = 180  # a cold start of torch + Streamlit on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _readme_app_command() -> str:
    block = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)[0].strip()
    # The part after the install: what a user types to start the app.
    return block.split("&&")[-1].strip()


def test_the_first_command_answers_without_a_question_and_opens_the_browser(tmp_path):
    command = _readme_app_command()
    assert command == "streamlit run app.py", command
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    (bin_dir / "xdg-open").write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    (bin_dir / "xdg-open").chmod(0o755)
    streamlit = Path(sys.executable).parent / "streamlit"
    assert streamlit.exists(), f"{streamlit} is missing: pip install -r requirements.txt"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    # The port is the one thing set from outside (a test must not take 8501 from a running app).
    env.update(HOME=str(home), PATH=f"{bin_dir}:{streamlit.parent}:{env.get('PATH', '')}",
               STREAMLIT_SERVER_PORT=str(port), STREAMLIT_SERVER_ADDRESS="127.0.0.1",
               VAE_EXPLORER_HOME=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal user typing the command
        os.chdir(REPO)
        os.execvpe("sh", ["sh", "-c", "exec " + command], env)
    output = b""
    answered = False
    try:
        deadline = time.time() + WAIT_S
        while time.time() < deadline and not answered:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:  # the child closed the terminal: it exited
                    break
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                answered = True
            except OSError:
                pass
        text = output.decode(errors="replace")
        assert "Email" not in text, f"the command asked a question:\n{text[-2000:]}"
        assert answered, f"no answer on the health endpoint within {WAIT_S} s:\n{text[-2000:]}"
        deadline = time.time() + 60
        while time.time() < deadline and not opened.exists():
            time.sleep(0.2)
        assert opened.exists(), "the command did not open a browser (xdg-open was on PATH)"
        assert f":{port}" in opened.read_text()
    finally:
        os.kill(pid, 15)
        deadline = time.time() + 15
        while time.time() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
        shutil.rmtree(home, ignore_errors=True)
