"""Several app processes share one VAE_EXPLORER_HOME: two processes write the same run folder, the same
projection-cache file and uploads of the same name at once, while this process reads; nothing is lost or
half-written, and the training cap counts across processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from vae_core.projection import cache as projection_cache
from vae_core.store.checkpoints import CheckpointError, list_checkpoints, load_checkpoint
from vae_core.store.locks import take_slot

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 25
PARAMS = {"method": "tsne", "random_state": 0, "perplexity": 30.0, "backend": "openTSNE"}
FINGERPRINT = "f" * 64
MU = np.linspace(-2, 2, 200, dtype=np.float32).reshape(100, 2)

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from vae_core.projection import cache as projection_cache
    from vae_core.store.checkpoints import export_zip, import_zip, save_checkpoint
    from vae_core.model.config import ModelConfig
    from vae_core.model.torch_model import VAE
    from vae_core.store.paths import reserve_child
    from vae_core.projection import projection_method

    who, rounds, run, uploads, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
    model = VAE(ModelConfig(image_shape=(1, 8, 8), latent_dim=2, hidden=(16,)))
    archive = export_zip(Path(sys.argv[6]))
    mu = np.linspace(-2, 2, 200, dtype=np.float32).reshape(100, 2)
    params = {"method": "tsne", "random_state": 0, "perplexity": 30.0, "backend": "openTSNE"}
    while not go.exists():  # both writers start on the same signal
        time.sleep(0.001)
    for i in range(rounds):
        save_checkpoint(run, model, {"writer": who, "round": i})
        proj = projection_method("tsne").from_stored(mu, mu[:, ::-1] * (1 + i), backend="tsne-opentsne")
        projection_cache.save("f" * 64, params, proj)
        import_zip(archive, reserve_child(uploads, "same-name"))
    print("done", who)
""")


def test_two_processes_writing_the_same_folders_lose_nothing(tmp_path):
    home = tmp_path / "home"
    run, uploads, go = home / "runs" / "shared-run", home / "uploads" / ("0" * 32), tmp_path / "go"
    env = dict(os.environ, VAE_EXPLORER_HOME=str(home), OMP_NUM_THREADS="1")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, who, str(ROUNDS), str(run), str(uploads), str(go),
                                 str(REPO / "checkpoints" / "digits-2d")],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for who in ("a", "b")]
    try:
        go.touch()
        reads = cache_reads = 0
        os.environ["VAE_EXPLORER_HOME"] = str(home)  # projection_cache reads the home from the environment
        try:
            while any(w.poll() is None for w in writers):
                if run.exists():
                    ckpt = load_checkpoint(run)  # never a half-written folder
                    assert ckpt.meta["writer"] in ("a", "b")
                    reads += 1
                if projection_cache.cache_path(FINGERPRINT, PARAMS).exists():
                    assert projection_cache.load(FINGERPRINT, MU, PARAMS) is not None  # never a damaged file
                    cache_reads += 1
            final_map = projection_cache.load(FINGERPRINT, MU, PARAMS)
        finally:
            os.environ.pop("VAE_EXPLORER_HOME", None)
        outputs = [w.communicate(timeout=300) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (out, err) in zip(writers, outputs):
        assert w.returncode == 0, err[-3000:]
    assert reads > 0 and cache_reads > 0
    last = load_checkpoint(run)
    assert last.meta["round"] == ROUNDS - 1 and last.meta["writer"] in ("a", "b")
    assert final_map is not None and final_map.embedding_.shape == (100, 2)
    scale = final_map.embedding_[:, 0] / MU[:, 1]
    assert np.allclose(scale, ROUNDS)  # the last round's map, whole
    uploaded = list_checkpoints(uploads)
    assert len(uploaded) == 2 * ROUNDS  # every upload kept, each in its own folder
    assert {p.name for p in uploaded} == {"same-name"} | {f"same-name-{i}" for i in range(2, 2 * ROUNDS + 1)}
    for p in uploaded:
        load_checkpoint(p)
    leftovers = [p for p in (*run.parent.iterdir(), *uploads.iterdir(), *run.parent.parent.rglob(".*.tmp*"))
                 if p.name.startswith(".")]
    assert leftovers == []


def test_the_training_cap_counts_across_processes(tmp_path):
    code = ("import sys, time; from vae_core.store.locks import take_slot; s = take_slot(sys.argv[1], 1); "
            "print('took' if s else 'full', flush=True); time.sleep(600 if s else 0)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "took"
        assert take_slot(tmp_path, 1) is None  # held by the other process
        second = take_slot(tmp_path, 2)
        assert second is not None and second.index == 1
        second.release()
    finally:
        holder.kill()
        holder.wait()
    deadline = time.time() + 60
    slot = take_slot(tmp_path, 1)  # the kernel released the dead holder's lock
    while slot is None and time.time() < deadline:
        slot = take_slot(tmp_path, 1)
    assert slot is not None and slot.index == 0
    slot.release()


def test_a_checkpoint_load_error_is_not_a_race(tmp_path):
    """A missing folder is still an error (the lock is only taken when a save was interrupted)."""
    try:
        load_checkpoint(tmp_path / "nothing")
    except CheckpointError as e:
        assert "no checkpoint folder" in str(e)
    else:
        raise AssertionError("a missing checkpoint loaded")
    assert list(tmp_path.iterdir()) == []
