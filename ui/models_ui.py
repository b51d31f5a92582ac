"""The Models page's pieces: a row of metrics per checkpoint, zip downloads, two models on the same images."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vae_core.store.checkpoints import Checkpoint, CheckpointError, export_zip
from vae_core.model.config import ConfigError, ModelConfig
from vae_core.analysis.latent import decode_batch
from vae_core.render.images import to_uint8
from vae_core.analysis.evaluate import evaluate_neg_elbo
from vae_core.model.variants import Variant

from .common import end_page, friendly_errors
from .identity import expiry_note
from .images import Picture, grid_image
from .latent_words import a_kind, code_grid, codebook_size, latent_size, levels, scored_by_elbo
from .loaded_model import LoadedModel, loaded_model
from .model_choices import ModelChoice, model_choices, stamp
from .state import models as state

# Pairs that each show one idea: beta trades reconstruction for KL; an autoencoder has no KL; more latent
# dimensions reconstruct better. Only the pairs whose checkpoints exist are offered.
PRESETS = (("digits-2d", "digits-2d-beta4"), ("digits-2d", "digits-2d-beta2"), ("digits-2d", "digits-2d-autoencoder"),
           ("digits-2d", "digits-8d"), ("fashion-mnist-2d", "fashion-mnist-20d"))
N_PRIOR = 16
PRIOR_SEED = 0


def _kind(cfg: dict) -> Variant | None:
    """The variant a config.json names (by kind, or by the flags of older ones); None if it names none."""
    try:
        return ModelConfig.from_dict(cfg).variant
    except (ConfigError, TypeError, ValueError):
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


@st.cache_data(max_entries=512, show_spinner=False)
def _row(path: str, folder_stamp: str) -> dict:
    """The table's row of a checkpoint folder as it is now: the stamp is part of the key (a rewritten folder is
    read again), so it has no leading underscore."""
    folder = Path(path)
    cfg = _read_json(folder / "config.json").get("model") or {}
    meta = _read_json(folder / "meta.json")
    metrics = meta.get("metrics") or {}
    tc = meta.get("train_config") or {}
    shape = cfg.get("image_shape") or [None, None, None]
    hidden = "-".join(map(str, cfg.get("hidden") or []))
    kind = _kind(cfg)
    try:
        model_cfg = ModelConfig.from_dict(cfg)
    except (ConfigError, TypeError, ValueError):
        model_cfg = None
    elbo = kind is None or scored_by_elbo(kind)  # else no prior: no ELBO, the reconstruction is the score
    return {
        "dataset": meta.get("dataset"),
        "image": f"{shape[1]}x{shape[2]}" + ("" if shape[0] in (1, None) else f"x{shape[0]}"),
        "kind": kind.title if kind else "?",
        "arch": f"{cfg.get('arch', '?')} {hidden}".strip(),
        "latent_dim": latent_size(model_cfg) if model_cfg else cfg.get("latent_dim"),
        "z_shape": _latent_words(model_cfg),
        "beta": "-" if (kind and not kind.has_prior) or tc.get("beta") is None else f"{tc['beta']:g}",
        "likelihood": cfg.get("likelihood"),
        "epochs": meta.get("epochs"),
        "test_neg_elbo": metrics.get("test_neg_elbo") if elbo else None,
        "test_recon": metrics.get("test_recon"),
        "test_kl": metrics.get("test_kl") if elbo else None,
        "created": (meta.get("created") or "")[:16].replace("T", " "),
    }


def _latent_words(cfg: ModelConfig | None) -> str:
    """z's shape in a few words for the table: "7x7 codes of 8 (K 64)", "z1 8 + z2 2", or "" for a plain vector."""
    if cfg is None:
        return ""
    if cfg.variant.discrete_latent:
        h, w = code_grid(cfg)
        return f"{h}x{w} codes of {cfg.latent_dim} (K {codebook_size(cfg)})"
    found = levels(cfg)
    return " + ".join(f"{name} {last - first}" for name, first, last in found) if len(found) > 1 else ""


def model_rows(choices: list[ModelChoice]) -> list[dict]:
    """One row per checkpoint for the table, read from its JSON files only (no weights are loaded)."""
    return [{"model": c.label.removesuffix(f" ({c.origin})"), "origin": c.origin, **_row(c.path, stamp(c.path))}
            for c in choices]


def image_shape(ckpt: Checkpoint) -> tuple[int, int, int]:
    return tuple(ckpt.config.image_shape)


def _class_name(ckpt: Checkpoint, c: int) -> str:
    names = ckpt.class_names or ()
    return names[c] if c < len(names) else str(c)


def pick_images(ckpt: Checkpoint, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n of the checkpoint's stored test images (N, C, H, W) in [0, 1] and their labels, chosen with a seed."""
    total = len(ckpt.sample.labels)
    idx = np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
    x = ckpt.sample.as_tensor()[torch.from_numpy(idx)]
    return x, torch.from_numpy(ckpt.sample.labels[idx])


@dataclass(frozen=True)
class OnImages:
    recon: np.ndarray  # uint8 (N, H, W[, C]): decode(mu(x)), the mean of p(x|z) at the mean of q(z|x)
    neg_elbo: float  # mean per image, nats: recon + kl, one seeded z sample per image
    recon_nll: float
    kl: float


@torch.inference_mode()
def on_images(ckpt: Checkpoint, x: torch.Tensor, y: torch.Tensor) -> OnImages:
    """What one model does with the given images; ValueError if its labels do not fit a conditional model."""
    model = ckpt.model
    y_in = y if model.variant.conditional else None
    if y_in is not None and int(y_in.max()) >= model.cfg.num_classes:
        raise ValueError(f"{ckpt.name} is conditional on {model.cfg.num_classes} classes, "
                         f"but these images have label {int(y_in.max())}")
    mu, _ = model.encode(x.to(model.device), None if y_in is None else y_in.to(model.device))
    recon = to_uint8(decode_batch(model, mu.cpu(), y_in))
    neg_elbo, recon_nll, kl = evaluate_neg_elbo(model, x, y, seed=0)
    return OnImages(recon, neg_elbo, recon_nll, kl)


def prior_samples(ckpt: Checkpoint, n: int = N_PRIOR, seed: int = PRIOR_SEED) -> np.ndarray | None:
    """n images decoded from z drawn from the prior (the same z for N(0, I) models of equal latent_dim); None for
    a model without a prior."""
    cfg = ckpt.config
    if not cfg.variant.has_prior:
        return None
    y = torch.arange(n) % cfg.num_classes  # labels 0, 1, 2, ... for a conditional decoder; others ignore them
    return to_uint8(decode_batch(ckpt.model, ckpt.prior.sample(n, seed=seed), y))


# ---------------------------------------------------------------- the page's parts

# the scores first, after the name: they are what the table is read for, and stay in view on a laptop; the
# others on demand, so that the table fits a laptop's window with the sidebar open
MAIN_COLUMNS = ["model", "test_neg_elbo", "test_recon", "test_kl", "dataset", "kind", "latent_dim", "z_shape", "beta",
                "epochs"]
MORE_COLUMNS = ["arch", "image", "likelihood", "origin", "created"]
COLUMN_CONFIG = {
    "model": st.column_config.TextColumn("Model", pinned=True),
    "origin": st.column_config.TextColumn("Origin", help="bundled with the app, saved by the Train page, "
                                                         "or uploaded in this browser session"),
    "dataset": "Dataset", "image": "Image", "arch": "Architecture",
    "latent_dim": st.column_config.NumberColumn("Latent size", help="how many numbers one image's z holds"),
    "z_shape": st.column_config.TextColumn("z is", help="a grid of codes (a VQ-VAE), or its levels (a hierarchical "
                                                      "VAE); empty: one vector"),
    "beta": st.column_config.TextColumn("beta"),
    "kind": st.column_config.TextColumn("Kind"),
    "likelihood": "p(x|z)",
    "epochs": st.column_config.NumberColumn("Epochs"),
    "test_neg_elbo": st.column_config.NumberColumn("Test -ELBO", format="%.2f",
                                                   help="empty for a model without a prior: it has no ELBO"),
    "test_recon": st.column_config.NumberColumn("Recon", format="%.2f"),
    "test_kl": st.column_config.NumberColumn("KL", format="%.2f"),
    "created": "Created (UTC)",
}


class Catalogue:
    """Every model the app can load now, by path and by name."""

    def __init__(self):
        self.choices = model_choices()
        self.labels = {c.path: c.label for c in self.choices}
        self.by_name = {c.label: c.path for c in self.choices}
        self.paths = [c.path for c in self.choices]

    def name(self, path: str) -> str:
        return self.labels[path].split(" (")[0]

    def data(self, path: str) -> tuple:
        """(image shape, dataset) of a model, or (None, None) when it cannot be loaded."""
        try:
            m = loaded_model(path).checkpoint
        except CheckpointError:
            return (None, None)
        return image_shape(m), m.meta.get("dataset")

    def partner(self, a: str) -> str | None:
        """B for A: a preset partner if there is one, else another model of the same data, else None."""
        name = self.name(a)
        for x, y in PRESETS:
            other = y if x == name else x if y == name else None
            if other in self.by_name:
                return self.by_name[other]
        return next((p for p in self.paths if p != a and self.data(p) == self.data(a)), None)

    def default_pair(self, a: str) -> tuple[str, str | None]:
        """The comparison opens on two models of the same data: the loaded one and its partner; when it has
        none, the first preset pair there is (a model of other data would encode images it never saw)."""
        b = self.partner(a)
        if b is not None:
            return a, b
        for x, y in PRESETS:
            if x in self.by_name and y in self.by_name:
                return self.by_name[x], self.by_name[y]
        return a, next((p for p in self.paths if p != a and self.data(p)[0] == self.data(a)[0]), None)


_TABLES: OrderedDict[tuple, object] = OrderedDict()  # the models' table by what it lists (their stamps included)
_TABLES_KEPT = 16
_TABLES_LOCK = threading.Lock()


def models_table(choices: list[ModelChoice]):
    """model_rows(choices) as the Arrow table Streamlit would make of them (a DataFrame of the rows, then
    pyarrow.Table.from_pandas), made once per list of models as they are on disk (each one's stamp is part of
    the key) and shared by the sessions: a page run only writes it out."""
    key = tuple((c.path, c.label, c.origin, stamp(c.path)) for c in choices)
    with _TABLES_LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _TABLES[key]
    import pandas as pd
    import pyarrow as pa

    table = pa.Table.from_pandas(pd.DataFrame(model_rows(choices)))
    with _TABLES_LOCK:
        _TABLES[key] = table
        while len(_TABLES) > _TABLES_KEPT:
            _TABLES.popitem(last=False)
    return table


def table_ui(cat: Catalogue) -> None:
    """Every model with its scores; more columns on demand."""
    st.subheader("All models")
    more = st.toggle("Every column (architecture, image size, p(x|z), origin, date)", key=state.ALL_COLUMNS)
    st.dataframe(models_table(cat.choices), hide_index=True, width="stretch",
                 column_order=MAIN_COLUMNS + (MORE_COLUMNS if more else []), column_config=COLUMN_CONFIG)


def download_ui(cat: Catalogue) -> None:
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    with c1:
        down = st.selectbox("Download a model", cat.paths, key=state.DOWNLOAD, format_func=cat.labels.get)
    with c2:
        name = cat.name(down)
        # the folder as a .zip the sidebar's uploader accepts (import_zip), packed when the button is pressed: the
        # page's runs no longer copy and hash a megabyte each
        st.download_button(f"Download {name}.zip", lambda: export_zip(down), file_name=f"{name}.zip",
                           mime="application/zip", icon=":material/download:", key="models_zip")
    st.caption("The .zip holds the weights (safetensors), the config and metrics (JSON) and the stored test images. "
               "To add a model, use **Upload a checkpoint** in the sidebar: only your browser sees it.")
    st.caption(expiry_note())


def pair_ui(cat: Catalogue) -> tuple[Checkpoint, Checkpoint, int]:
    """The presets, models A and B and the number of images; ends the page when they cannot be compared."""
    st.subheader("Compare two models on the same images")
    if len(cat.paths) < 2:
        st.info("There is only one model. Train another on the Train page, or upload one in the sidebar.")
        end_page()
    presets = [(a, b) for a, b in PRESETS if a in cat.by_name and b in cat.by_name]
    if presets:
        row = st.container(horizontal=True, vertical_alignment="center")
        row.markdown("**Try:**")
        for a, b in presets:
            row.button(f"{a} vs {b}", key=f"models_preset_{a}_{b}", on_click=state.use_pair,
                       args=(cat.by_name[a], cat.by_name[b]))
    ca, cb, cn = st.columns([2, 2, 1], vertical_alignment="bottom")
    path_a = ca.selectbox("Model A", cat.paths, key=state.A, format_func=cat.labels.get)
    path_b = cb.selectbox("Model B", cat.paths, key=state.B, format_func=cat.labels.get)
    n_images = cn.slider("Images", 4, 32, 8, step=4, key=state.N)
    try:
        model_a, model_b = loaded_model(path_a).checkpoint, loaded_model(path_b).checkpoint
    except CheckpointError as e:
        st.error(f"That checkpoint cannot be used: {e}. Pick another model.")
        end_page()
    if image_shape(model_a) != image_shape(model_b):
        (c, h, w), (c2, h2, w2) = image_shape(model_a), image_shape(model_b)
        st.warning(f"Model A works on {h}x{w} images ({c} channel{'s' if c > 1 else ''}), model B on {h2}x{w2} "
                   f"({c2} channel{'s' if c2 > 1 else ''}): they cannot encode the same images. "
                   "Pick two models trained on images of the same size, e.g. with a preset above.")
        end_page()
    return model_a, model_b, int(n_images)


def _scores_ui(res_a: OnImages, res_b: OnImages, model_a: Checkpoint, model_b: Checkpoint, n: int) -> None:
    st.markdown(f"**Scores on these {n} images** (nats per image, one z sample per image)")
    ma, mb = st.columns(2)
    elbo_a = scored_by_elbo(model_a.config.variant)
    for col, label, res, other, m in ((ma, "A", res_a, None, model_a), (mb, "B", res_b, res_a, model_b)):
        elbo = scored_by_elbo(m.config.variant)  # else no prior: no ELBO and no KL term, the reconstruction scores
        with col:
            st.markdown(f"**{label}: {m.name}**")
            k = st.columns(3)
            same = other is not None and elbo == elbo_a  # a delta only between scores of the same kind
            k[0].metric("-ELBO" if elbo else "Loss", f"{res.neg_elbo:.2f}",
                        delta=f"{res.neg_elbo - other.neg_elbo:+.2f} vs A" if same else None, delta_color="inverse",
                        help=None if elbo else "the reconstruction: without a prior there is no ELBO")
            k[1].metric("Reconstruction", f"{res.recon_nll:.2f}",
                        delta=None if other is None else f"{res.recon_nll - other.recon_nll:+.2f} vs A",
                        delta_color="inverse")
            k[2].metric("KL", f"{res.kl:.2f}" if elbo else "none",
                        delta=f"{res.kl - other.kl:+.2f} vs A" if same and elbo else None, delta_color="inverse",
                        help=None if elbo else "no prior, no KL term")
            if not elbo:
                st.caption(f"{a_kind(m.config.variant)[:1].upper()}{a_kind(m.config.variant)[1:]} has no prior: no KL term and no ELBO; its loss "
                           "is the reconstruction, which is no bound on -log p(x).")
    st.caption("Negative ELBO = reconstruction -log p(x|z) + KL(q(z|x) || N(0, I)). A larger beta buys a "
               "smaller KL (a posterior closer to the prior) with a worse reconstruction.")


def _prior_picture(m: Checkpoint) -> Picture | None:
    """The model's 16 prior samples as shown (None for a model without a prior)."""
    samples = prior_samples(m)
    return None if samples is None else Picture(grid_image(samples, ncols=8, cell=90))


def _prior_samples_ui(loaded_a: LoadedModel, loaded_b: LoadedModel) -> None:
    st.markdown("**Samples from the prior**: decode z ~ N(0, I)")
    for col, loaded in zip(st.columns(2), (loaded_a, loaded_b)):
        m = loaded.checkpoint
        with col:  # the model's own: decoded once (LoadedModel.recent)
            picture = loaded.recent(("models: prior samples", N_PRIOR, PRIOR_SEED), lambda m=m: _prior_picture(m))
            if picture is None:
                st.info(f"{m.name} is {a_kind(m.config.variant)}: it has no prior to sample from, and decoding "
                        "random z gives images it was never trained to make.")
            else:
                picture.show(f"{m.name}: 16 samples"
                             + (" (labels 0, 1, 2, ... given to the decoder)" if m.config.variant.conditional else ""),
                             alt=f"{N_PRIOR} images {m.name} decodes from z drawn from its prior, in rows of 8")


@dataclass(frozen=True)
class Comparison:
    """The same images through models A and B, as the page shows them."""

    n: int  # images
    classes: str  # the images' classes in order, for the text alternatives
    images: Picture
    res_a: OnImages
    res_b: OnImages
    recon_a: Picture
    recon_b: Picture


def _compare(model_a: Checkpoint, model_b: Checkpoint, source: Checkpoint, n_images: int, seed: int) -> Comparison:
    x, y = pick_images(source, n_images, seed)
    res_a, res_b = on_images(model_a, x, y), on_images(model_b, x, y)
    ncols = min(len(x), 16)
    cell = 150 if len(x) <= 8 else 100 if len(x) <= 16 else 90
    def picture(images) -> Picture:
        return Picture(grid_image(images, ncols=ncols, cell=cell))
    classes = ", ".join(_class_name(source, int(c)) for c in y)
    return Comparison(len(x), classes, picture(x.numpy()), res_a, res_b, picture(res_a.recon), picture(res_b.recon))


def comparison_ui(model_a: Checkpoint, model_b: Checkpoint, n_images: int) -> None:
    """The same images reconstructed by A and B, their scores on them, and samples from each prior."""
    source = model_a if model_a.sample is not None and len(model_a.sample.labels) else model_b
    if source.sample is None or len(source.sample.labels) == 0:
        st.warning("Neither model stores test images to compare them on. Pick models trained in this app.")
        end_page()
    if model_a.meta.get("dataset") != model_b.meta.get("dataset"):
        st.caption(f"The two models were trained on different data ({model_a.meta.get('dataset')} and "
                   f"{model_b.meta.get('dataset')}); the images come from {source.name}'s test sample.")
    seed = state.seed()
    loaded_a, loaded_b = loaded_model(model_a.path), loaded_model(model_b.path)
    with friendly_errors("Encoding the images"):
        # computed once per pair of models, images and draw (LoadedModel.recent: B's stamp in the key, A's object
        # is its own stamp's)
        view = ("models: comparison", loaded_b.path, loaded_b.stamp, source is model_a, n_images, seed)
        comp = loaded_a.recent(view, lambda: _compare(model_a, model_b, source, n_images, seed))
        st.button("Other images", icon=":material/shuffle:", key="models_shuffle", on_click=state.other_images)
        comp.images.show(f"{comp.n} test images x from {source.name}'s stored sample",
                         alt=f"{comp.n} test images from {source.name}'s stored sample, of the classes {comp.classes}")
        for tag, m, recon in (("A", model_a, comp.recon_a), ("B", model_b, comp.recon_b)):
            recon.show(f"{tag}, {m.name}: reconstructions decode(mu(x))",
                       alt=f"the same {comp.n} test images as {m.name} reconstructs them, decode(mu(x)), in order")
        _scores_ui(comp.res_a, comp.res_b, model_a, model_b, comp.n)
        _prior_samples_ui(loaded_a, loaded_b)


def start(loaded: LoadedModel) -> Catalogue:
    cat = Catalogue()
    state.start(str(loaded.checkpoint.path), cat.paths, cat.default_pair, cat.partner)
    return cat
