"""2-D projections of encoded Fashion-MNIST: seconds, peak memory and quality of PCA, t-SNE
(scikit-learn's and openTSNE's) and UMAP, each fitted by its class in vae_core.projection.

The bundled fashion-mnist-20d model encodes the 10,000 test images and all 70,000 images (train + test)
to their means mu(x) (20-d). Every (size, method) fit runs in a fresh Python process, so its peak
memory (the child's own high-water mark) and UMAP's numba compilation (paid once per process, also in the
app) are counted honestly. Quality is measured the same way for every method, on a seeded subsample:

- class agreement: the share of each point's 10 nearest neighbours on the map that have its class;
- latent 10-NN recall: the share of each point's 10 nearest neighbours in the 20-d latent space
  that are also among its 10 nearest neighbours on the map;
- trustworthiness (scikit-learn, k = 10) on 2,000 points.

"Correct" means: class agreement and 10-NN recall at least those of the reference (scikit-learn's
t-SNE) minus 0.02. The reference for the ratios is scikit-learn's t-SNE at the same size; the project's
figure is tsne-opentsne, the app's default t-SNE. 2,000 points (a seeded subset of the test set) is the
size of the maps the app draws.

Run: python bench/projections.py [--sizes 2000,10000,70000] [--skip-slow] [--timeout 2400] [--json out.json]
(--skip-slow leaves out, above 10,000 points, the variants the app does not use and scikit-learn's
t-SNE, which takes the better part of an hour on 70,000 points on 2 cores.)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL = REPO / "checkpoints" / "fashion-mnist-20d"
# name -> Projection arguments. tsne-opentsne is the app's default (vae_core.projection.tsne.TSNE_SCHEDULES "fast":
# 125 + 250 iterations, FFT interpolation, exact neighbours up to 20,000 points); tsne-opentsne-full is the
# app's t-SNE before (openTSNE's defaults: 250 + 500 iterations, Barnes-Hut below 10,000 points, FFT above).
# tsne-opentsne-spin: the app's, with OpenMP's default wait policy (idle threads spin) instead of the passive
# one vae_core.projection.tsne.opentsne_module() sets.
METHODS = {
    "pca": {"method": "pca"},
    "tsne-sklearn": {"method": "tsne", "tsne_backend": "sklearn"},
    "tsne-opentsne": {"method": "tsne", "tsne_backend": "opentsne", "n_jobs": 2},
    "tsne-opentsne-full": {"method": "tsne", "tsne_backend": "opentsne", "n_jobs": 2, "tsne_schedule": "full"},
    "tsne-opentsne-spin": {"method": "tsne", "tsne_backend": "opentsne", "n_jobs": 2},
    "tsne-opentsne-1": {"method": "tsne", "tsne_backend": "opentsne", "n_jobs": 1},
    "umap": {"method": "umap"},
}
SLOW = ("tsne-sklearn", "tsne-opentsne-spin", "tsne-opentsne-1", "tsne-opentsne-full")  # left out above 10,000 points by --skip-slow


def import_backend(name: str) -> None:
    """Import the library a method uses (timed apart from the fit), the way the app imports it."""
    import importlib

    from vae_core.projection.tsne import opentsne_module

    if name == "tsne-opentsne-spin":
        os.environ.pop("OMP_WAIT_POLICY", None)
        importlib.import_module("openTSNE")  # its OpenMP runtime starts with the default policy
    elif name.startswith("tsne-opentsne"):
        opentsne_module()
    else:
        importlib.import_module({"pca": "sklearn.decomposition", "tsne-sklearn": "sklearn.manifold",
                                 "umap": "umap"}[name])
REFERENCE = "tsne-sklearn"
PROJECT = "tsne-opentsne"
BEFORE = "tsne-opentsne-full"
QUALITY_POINTS = 5000  # points whose neighbours are checked (all points are candidate neighbours)
TRUST_POINTS = 2000
K = 10
TOLERANCE = 0.02  # "correct": quality no more than this below the reference's


# ---------------------------------------------------------------------------- child process

def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux keeps ru_maxrss across fork + exec (a child started by a
    big parent reports the parent's peak), so the kernel's per-address-space high-water mark VmHWM is read."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes elsewhere than macOS


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(name: str, mu_path: str, out_path: str) -> None:
    """Fit one projection and print one JSON line: seconds, CPU seconds, peak and baseline memory."""
    from vae_core.projection import make_projection

    start = time.perf_counter()
    import_backend(name)
    import_seconds = time.perf_counter() - start
    mu = np.load(mu_path)
    baseline = peak_rss_mb()
    start, cpu = time.perf_counter(), cpu_seconds()
    spec = dict(METHODS[name])
    proj = make_projection(spec.pop("method"), **spec).fit(mu)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    np.save(out_path, proj.embedding_)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "import_seconds": import_seconds,
                      "peak_mb": peak_rss_mb(), "baseline_mb": baseline, "backend": proj.backend_}))


def run_child(name: str, mu_path: Path, out_path: Path, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, str(mu_path), str(out_path)]
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    load = (load + os.getloadavg()[0]) / 2  # the machine's 1-minute load average, before and after
    if done.returncode != 0:
        return {"status": "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(status="ok", wall=wall, load=load)
    return result


# ---------------------------------------------------------------------------- data and quality

def encode_fashion_mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    import torch

    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.data.datasets import load_dataset
    from vae_core.analysis.evaluate import encode_dataset

    torch.set_grad_enabled(False)
    ckpt = load_checkpoint(MODEL, "cpu")
    split = load_dataset("fashion-mnist", download=False)
    test_mu, _ = encode_dataset(ckpt.model, split.test.images, split.test.labels)
    train_mu, _ = encode_dataset(ckpt.model, split.train.images, split.train.labels)
    test_y = split.test.labels.numpy()
    return {
        "test": (test_mu, test_y),
        "all": (np.concatenate([train_mu, test_mu]), np.concatenate([split.train.labels.numpy(), test_y])),
    }


def neighbours(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest points to each query point (queries are rows of points; self excluded)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + 1).fit(points)
    idx = nn.kneighbors(points[queries], return_distance=False)
    return np.array([[j for j in row if j != q][:k] for q, row in zip(queries, idx)])


def quality(mu: np.ndarray, labels: np.ndarray, emb: np.ndarray, latent_nn: np.ndarray,
            queries: np.ndarray, trust_idx: np.ndarray) -> dict:
    from sklearn.manifold import trustworthiness

    map_nn = neighbours(emb, queries, K)
    agree = float((labels[map_nn] == labels[queries, None]).mean())
    recall = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(map_nn, latent_nn)]))
    trust = float(trustworthiness(mu[trust_idx], emb[trust_idx], n_neighbors=K))
    return {"class_agreement": agree, "latent_recall": recall, "trustworthiness": trust}


# ---------------------------------------------------------------------------- report

def fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def print_table(rows: list[dict]) -> None:
    head = (f"{'points':>7} {'method':<18} {'seconds':>8} {'x ref':>6} {'CPU s':>7} {'x ref':>6} {'peak MB':>8} "
            f"{'+MB':>6} {'x ref':>6} {'class':>6} {'recall':>6} {'trust':>6} {'load':>5}  verdict")
    print(head)
    print("-" * len(head))
    for r in rows:
        q = r.get("quality") or {}
        print(f"{r['n']:>7,} {r['name']:<18} {fmt(r.get('seconds'), '8.1f'):>8} {fmt(r.get('time_ratio'), '6.2f'):>6} "
              f"{fmt(r.get('cpu_seconds'), '7.1f'):>7} {fmt(r.get('cpu_ratio'), '6.2f'):>6} "
              f"{fmt(r.get('peak_mb'), '8.0f'):>8} {fmt(r.get('extra_mb'), '6.0f'):>6} "
              f"{fmt(r.get('mem_ratio'), '6.2f'):>6} {fmt(q.get('class_agreement'), '6.3f'):>6} "
              f"{fmt(q.get('latent_recall'), '6.3f'):>6} {fmt(q.get('trustworthiness'), '6.3f'):>6} "
              f"{fmt(r.get('load'), '5.1f'):>5}  {r['verdict']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000,10000,70000",
                    help="comma-separated point counts: 10000 is the test set, 70000 all images, "
                         "smaller ones a seeded subset of the test set (the app's maps use 2,000)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--skip-slow", action="store_true",
                    help=f"above 10,000 points, run only the app's choices and PCA (skip {', '.join(SLOW)})")
    ap.add_argument("--timeout", type=float, default=2400, help="seconds allowed for one fit")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [m for m in args.methods.split(",") if m]

    import sklearn
    import torch
    versions = {"python": platform.python_version(), "torch": torch.__version__, "scikit-learn": sklearn.__version__}
    for mod in ("openTSNE", "umap", "numba"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = "not installed"
    print(f"machine: {os.cpu_count()} cores, {platform.machine()}; " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"model: {MODEL.name}; encoding Fashion-MNIST ...", flush=True)
    data = encode_fashion_mnist()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            if n == len(data["all"][0]):
                mu, labels = data["all"]
            elif n <= len(data["test"][0]):
                mu, labels = data["test"]
                pick = np.sort(np.random.default_rng(0).choice(len(mu), n, replace=False))
                mu, labels = mu[pick], labels[pick]
            else:
                raise SystemExit(f"--sizes: {n} is neither at most 10,000 nor 70,000")
            mu = np.ascontiguousarray(mu, dtype=np.float32)
            mu_path = Path(tmp) / f"mu-{n}.npy"
            np.save(mu_path, mu)
            rng = np.random.default_rng(1)
            queries = np.sort(rng.choice(n, min(QUALITY_POINTS, n), replace=False))
            trust_idx = np.sort(rng.choice(n, min(TRUST_POINTS, n), replace=False))
            latent_nn = neighbours(mu, queries, K)
            base = {"quality": quality(mu, labels, mu, latent_nn, queries, trust_idx)}
            print(f"\n{n:,} points x {mu.shape[1]} dims; the 20-d latent itself: class agreement "
                  f"{base['quality']['class_agreement']:.3f}", flush=True)
            for name in names:
                row = {"n": n, "name": name}
                if args.skip_slow and name in SLOW and n > 10_000:
                    row.update(status="skipped (--skip-slow)")
                else:
                    out = Path(tmp) / f"emb-{name}-{n}.npy"
                    row.update(run_child(name, mu_path, out, args.timeout))
                    if row["status"] == "ok":
                        row["extra_mb"] = row["peak_mb"] - row["baseline_mb"]
                        row["quality"] = quality(mu, labels, np.load(out), latent_nn, queries, trust_idx)
                print(f"  {name:<18} {row['status']:<10} {fmt(row.get('seconds'), '.1f')} s "
                      f"(CPU {fmt(row.get('cpu_seconds'), '.1f')} s, import {fmt(row.get('import_seconds'), '.1f')} s),"
                      f" peak {fmt(row.get('peak_mb'), '.0f')} MB", flush=True)
                rows.append(row)
    for n in sizes:
        ref = next((r for r in rows if r["n"] == n and r["name"] == REFERENCE and r.get("quality")), None)
        for r in (r for r in rows if r["n"] == n):
            if r["status"] != "ok":
                r["verdict"] = r["status"]
                continue
            if ref is None:
                r["verdict"] = "no reference at this size"
                continue
            r["time_ratio"] = r["seconds"] / ref["seconds"]
            r["cpu_ratio"] = r["cpu_seconds"] / ref["cpu_seconds"]
            r["mem_ratio"] = r["peak_mb"] / ref["peak_mb"]
            q, rq = r["quality"], ref["quality"]
            ok = (q["class_agreement"] >= rq["class_agreement"] - TOLERANCE
                  and q["latent_recall"] >= rq["latent_recall"] - TOLERANCE)
            r["correct"] = ok
            r["verdict"] = "reference" if r is ref else ("correct" if ok else "below the reference's quality")
        correct = [r for r in rows if r["n"] == n and r.get("correct")]
        if correct:
            best = min(correct, key=lambda r: r["seconds"])
            best["verdict"] += ", fastest correct"
    print(f"\nseconds: wall time of the fit alone, in a fresh process (UMAP's includes numba compilation); "
          f"CPU s: its user + system CPU time; x ref: ratio to {REFERENCE} at the same size")
    print("peak MB: the child's peak resident memory (VmHWM); +MB: above its peak after imports and loading mu")
    print("load: the machine's load average during the fit (2 cores: above 2, other work competed for them)")
    print(f"class: 10-NN class agreement; recall: latent 10-NN recall (up to {QUALITY_POINTS:,} points); "
          f"trust: trustworthiness (up to {TRUST_POINTS:,} points)\n")
    print_table(rows)
    for n in sizes:
        app = next((r for r in rows if r["n"] == n and r["name"] == PROJECT and r.get("time_ratio")), None)
        if app is not None:
            print(f"{n:,} points: the app's t-SNE ({PROJECT}) takes {app['time_ratio']:.2f}x the time "
                  f"({app['cpu_ratio']:.2f}x the CPU time) and {app['mem_ratio']:.2f}x the peak memory of {REFERENCE}")
        before = next((r for r in rows if r["n"] == n and r["name"] == BEFORE and r.get("seconds")), None)
        now = next((r for r in rows if r["n"] == n and r["name"] == PROJECT and r.get("seconds")), None)
        if before is not None and now is not None:
            print(f"{n:,} points: the app's t-SNE {now['seconds']:.1f} s against {before['seconds']:.1f} s for its "
                  f"previous settings ({BEFORE}): ratio {now['seconds'] / before['seconds']:.2f}, CPU time ratio "
                  f"{now['cpu_seconds'] / before['cpu_seconds']:.2f} (goal at 10,000 points: at most 15 s)")
    cache = second_start()
    print(f"\nsecond start ({MODEL.name}'s stored test images, {cache['n']:,}, the app's map): t-SNE fitted in "
          f"{cache['fit_seconds']:.1f} s; loaded from the disk cache in {cache['load_ms']:.1f} ms (median of 20; "
          f"{cache['fit_seconds'] * 1000 / cache['load_ms']:.0f}x faster), file {cache['file_kb']:.0f} KB; the map "
          f"that ships with the bundled model loaded in {cache['shipped_ms']:.1f} ms ({cache['shipped_backend']})")
    if args.json:
        Path(args.json).write_text(json.dumps({"versions": versions, "rows": rows, "second_start": cache},
                                              indent=1, default=float))


def second_start() -> dict:
    """The app's first and second start for one t-SNE map of the model's stored test images: fitted and stored,
    then loaded from vae_core.projection.cache; and the map that ships with the bundled model
    (vae_core.projection.shipped), loaded without fitting anything."""
    import shutil

    import torch

    from vae_core.store.checkpoints import load_checkpoint
    from vae_core.store.files import MAPS_FILE
    from vae_core.analysis.evaluate import encode_dataset

    ckpt = load_checkpoint(MODEL, "cpu")
    with torch.inference_mode():
        mu, _ = encode_dataset(ckpt.model, ckpt.sample.as_tensor())
    with tempfile.TemporaryDirectory() as home:
        os.environ["VAE_EXPLORER_HOME"] = home  # this process ends right after: nothing else reads it
        from vae_core.projection import cache as projection_cache
        from vae_core.projection import fitted as fitted_maps
        from vae_core.projection import shipped as shipped_maps
        shipped = []
        for _ in range(20):
            start = time.perf_counter()
            proj = fitted_maps.load_or_fit(MODEL, mu, "tsne")
            shipped.append(time.perf_counter() - start)
        assert projection_cache.fits["tsne"] == 0 and "tsne" in shipped_maps.shipped(MODEL), "no t-SNE map ships"
        user_model = Path(home) / "runs" / MODEL.name  # the same model as a user's: no maps ship with it
        shutil.copytree(MODEL, user_model)
        (user_model / MAPS_FILE).unlink()
        start = time.perf_counter()
        fitted_maps.load_or_fit(user_model, mu, "tsne")
        fit_seconds = time.perf_counter() - start
        loads = []
        for _ in range(20):
            start = time.perf_counter()
            fitted_maps.load_or_fit(user_model, mu, "tsne")
            loads.append(time.perf_counter() - start)
        assert projection_cache.fits["tsne"] == 1, "the second start fitted again"
        size = next(projection_cache.projections_dir().glob("*/*.npz")).stat().st_size
    return {"n": len(mu), "fit_seconds": fit_seconds, "load_ms": float(np.median(loads)) * 1000, "file_kb": size / 1024,
            "shipped_ms": float(np.median(shipped)) * 1000, "shipped_backend": proj.backend_}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:])
    else:
        main()
