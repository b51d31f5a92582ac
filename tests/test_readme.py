"""README's two commands stay true: CI runs the test command README gives, and the app command
names files that exist."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_opens_with_the_app_and_test_commands():
    blocks = _bash_blocks((REPO / "README.md").read_text())
    app_cmd, test_cmd = blocks[0], blocks[1]
    assert "streamlit run app.py" in app_cmd and "requirements.txt" in app_cmd
    assert "pytest" in test_cmd and "requirements-test.txt" in test_cmd
    for req in re.findall(r"-r (\S+)", app_cmd + " " + test_cmd):
        assert (REPO / req).is_file(), f"README names {req}, which does not exist"
    assert (REPO / "app.py").is_file()


def test_ci_runs_the_readme_test_command():
    test_cmd = _bash_blocks((REPO / "README.md").read_text())[1]
    ci_lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()]
    assert test_cmd in ci_lines, f".ci/run must run README's test command: {test_cmd!r}"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    lines = (REPO / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in [ln.strip() for ln in lines]
