"""The first screen (the latent map of the bundled default model) is drawn without importing torch or
pandas in the script's thread (together about 2 s of a cold start); torch is then imported in the
background, and the model is built there, so the first click that needs it does not wait.

Run in a fresh interpreter: this test process has imported torch long ago."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys, threading, time

importers = {}


class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in ("torch", "pandas") and name not in importers:
            importers[name] = threading.current_thread().name
        return None


sys.meta_path.insert(0, Watch())
from streamlit.testing.v1 import AppTest

at = AppTest.from_file(sys.argv[1], default_timeout=90)
at.run()
after_run = dict(importers)
texts = [m.value for m in at.markdown] + [h.value for h in at.title]
components = [e.proto.component_name for e in at._tree.get("bidi_component")]
deadline = time.time() + 60
while "torch" not in importers and time.time() < deadline:
    time.sleep(0.05)
warm = [t for t in threading.enumerate() if t.name == "vae-warm-up"]
for t in warm:
    t.join(60)
from ui.loaded_model import loaded_model
ckpt = loaded_model(at.session_state["model_path"]).checkpoint
print(json.dumps({"after_run": after_run, "later": importers, "exceptions": [e.value for e in at.exception],
                  "texts": texts, "components": components, "built": ckpt.model_built,
                  "model": at.session_state["model_path"]}))
"""


def test_first_screen_draws_without_torch_then_imports_it_in_the_background(tmp_path):
    env = {"VAE_EXPLORER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(REPO / "app.py")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["exceptions"] == []
    assert "Latent map" in got["texts"]
    assert "Under the pointer" in " ".join(got["texts"])  # the browser decoder's panel is on this screen
    assert any(c.endswith("vae_pointer_decoder") for c in got["components"]), got["components"]
    assert got["model"].endswith("mnist5k-2d")
    assert got["after_run"] == {}, f"imported while the first screen was drawn: {got['after_run']}"
    assert got["later"].get("torch") == "vae-warm-up", got["later"]
    assert got["built"], "the background warm-up did not build the model"


def test_pages_end_early_with_end_page_not_st_stop():
    """After st.stop() Streamlit draws nothing more in the run, so the sidebar, drawn after the page,
    would vanish from a page that stopped early (ui/sidebar.py)."""
    import ast

    offenders = []
    for f in sorted([*(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py"), REPO / "app.py"]):
        for node in ast.walk(ast.parse(f.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "stop"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "st"):
                offenders.append(f"{f.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], f"use ui.common.end_page() instead of st.stop() at {offenders}"
