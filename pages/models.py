"""Models: every checkpoint with its metrics, downloads, and two models side by side on the same images."""
from __future__ import annotations

import streamlit as st

from ui.common import current_model, end_page, friendly_errors, page_header
from ui.identity import expiry_note
from ui.models_ui import PRESETS, image_shape, model_rows, on_images, pick_images, prior_samples, zip_bytes
from ui.images import show_grid
from ui.loaded_model import loaded_model
from ui.model_choices import model_choices
from vae_core.store.checkpoints import CheckpointError

page_header(
    "Models",
    "Every model this app can load: the bundled ones, the ones trained on the Train page, and the ones "
    "you uploaded. The score is the test negative ELBO = reconstruction + KL, in nats per image: "
    "lower is better, but only models of the same dataset can be compared by it.",
)
loaded = current_model()
if loaded is None:
    end_page()
ckpt = loaded.checkpoint

choices = model_choices()
labels = {c.path: c.label for c in choices}
by_name = {c.label: c.path for c in choices}
paths = [c.path for c in choices]

# ---------------------------------------------------------------- the table

st.subheader("All models")
st.dataframe(
    model_rows(choices), hide_index=True, width="stretch",
    # the scores first, after the name: they are what the table is read for, and stay in view on a laptop
    column_order=["model", "test_neg_elbo", "test_recon", "test_kl", "dataset", "kind", "latent_dim", "beta", "arch",
                  "image", "likelihood", "epochs", "origin", "created"],
    column_config={
        "model": st.column_config.TextColumn("Model", pinned=True),
        "origin": st.column_config.TextColumn("Origin", help="bundled with the app, saved by the Train page, "
                                                             "or uploaded in this browser session"),
        "dataset": "Dataset", "image": "Image", "arch": "Architecture",
        "latent_dim": st.column_config.NumberColumn("Latent dim"),
        "beta": st.column_config.TextColumn("beta"),
        "kind": st.column_config.TextColumn("Kind", width="medium"),
        "likelihood": "p(x|z)",
        "epochs": st.column_config.NumberColumn("Epochs"),
        "test_neg_elbo": st.column_config.NumberColumn("Test -ELBO", format="%.2f"),
        "test_recon": st.column_config.NumberColumn("Recon", format="%.2f"),
        "test_kl": st.column_config.NumberColumn("KL", format="%.2f"),
        "created": "Created (UTC)",
    },
)

c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
with c1:
    if st.session_state.get("models_download") not in paths:
        st.session_state.models_download = str(ckpt.path) if str(ckpt.path) in paths else paths[0]
    down = st.selectbox("Download a model", paths, key="models_download", format_func=labels.get)
with c2:
    name = labels[down].split(" (")[0]
    st.download_button(f"Download {name}.zip", zip_bytes(down), file_name=f"{name}.zip", mime="application/zip",
                       icon=":material/download:", key="models_zip")
st.caption("The .zip holds the weights (safetensors), the config and metrics (JSON) and the stored test images. "
           "To add a model, use **Upload a checkpoint** in the sidebar: only your browser sees it.")
st.caption(expiry_note())

# ---------------------------------------------------------------- two models side by side

st.subheader("Compare two models on the same images")


def _data(p: str) -> tuple:
    """(image shape, dataset) of a model, or (None, None) when it cannot be loaded."""
    try:
        m = loaded_model(p).checkpoint
    except CheckpointError:
        return (None, None)
    return image_shape(m), m.meta.get("dataset")


def partner(a: str) -> str | None:
    """B for A: a preset partner if there is one, else another model of the same data, else None."""
    name = labels[a].split(" (")[0]
    for x, y in PRESETS:
        other = y if x == name else x if y == name else None
        if other in by_name:
            return by_name[other]
    return next((p for p in paths if p != a and _data(p) == _data(a)), None)


def default_pair(a: str) -> tuple[str, str | None]:
    """The comparison opens on two models of the same data: the loaded one and its partner; when it has none,
    the first preset pair there is (a model of other data would encode images it never saw)."""
    b = partner(a)
    if b is not None:
        return a, b
    for x, y in PRESETS:
        if x in by_name and y in by_name:
            return by_name[x], by_name[y]
    return a, next((p for p in paths if p != a and _data(p)[0] == _data(a)[0]), None)


if st.session_state.get("models_for") != str(ckpt.path) or st.session_state.get("models_a") not in paths:
    st.session_state.models_for = str(ckpt.path)
    st.session_state.models_a, st.session_state.models_b = default_pair(
        str(ckpt.path) if str(ckpt.path) in paths else paths[0])
if st.session_state.get("models_b") not in paths:
    st.session_state.models_b = partner(st.session_state.models_a) or next(
        (p for p in paths if p != st.session_state.models_a), None)
if "models_seed" not in st.session_state:
    st.session_state.models_seed = 0

if len(paths) < 2:
    st.info("There is only one model. Train another on the Train page, or upload one in the sidebar.")
    end_page()


def use_preset(a: str, b: str) -> None:
    st.session_state.models_a, st.session_state.models_b = by_name[a], by_name[b]


presets = [(a, b) for a, b in PRESETS if a in by_name and b in by_name]
if presets:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown("**Try:**")
    for a, b in presets:
        row.button(f"{a} vs {b}", key=f"models_preset_{a}_{b}", on_click=use_preset, args=(a, b))

ca, cb, cn = st.columns([2, 2, 1], vertical_alignment="bottom")
path_a = ca.selectbox("Model A", paths, key="models_a", format_func=labels.get)
path_b = cb.selectbox("Model B", paths, key="models_b", format_func=labels.get)
n_images = cn.slider("Images", 4, 32, 8, step=4, key="models_n")

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

source = model_a if model_a.sample is not None and len(model_a.sample.labels) else model_b
if source.sample is None or len(source.sample.labels) == 0:
    st.warning("Neither model stores test images to compare them on. Pick models trained in this app.")
    end_page()
if model_a.meta.get("dataset") != model_b.meta.get("dataset"):
    st.caption(f"The two models were trained on different data ({model_a.meta.get('dataset')} and "
               f"{model_b.meta.get('dataset')}); the images come from {source.name}'s test sample.")

x, y = pick_images(source, n_images, st.session_state.models_seed)
name_a, name_b = model_a.name, model_b.name
with friendly_errors("Encoding the images"):
    res_a, res_b = on_images(model_a, x, y), on_images(model_b, x, y)
    ncols = min(len(x), 16)
    cell = 150 if len(x) <= 8 else 100 if len(x) <= 16 else 90
    st.button("Other images", icon=":material/shuffle:", key="models_shuffle",
              on_click=lambda: st.session_state.update(models_seed=st.session_state.models_seed + 1))
    show_grid(x.numpy(), ncols=ncols, caption=f"{len(x)} test images x from {source.name}'s stored sample", cell=cell)
    show_grid(res_a.recon, ncols=ncols, caption=f"A, {name_a}: reconstructions decode(mu(x))", cell=cell)
    show_grid(res_b.recon, ncols=ncols, caption=f"B, {name_b}: reconstructions decode(mu(x))", cell=cell)

    st.markdown(f"**Scores on these {len(x)} images** (nats per image, one z sample per image)")
    ma, mb = st.columns(2)
    for col, label, res, other, m in ((ma, "A", res_a, None, model_a), (mb, "B", res_b, res_a, model_b)):
        with col:
            st.markdown(f"**{label}: {m.name}**")
            k = st.columns(3)
            for kc, title, value, ref in ((k[0], "-ELBO", res.neg_elbo, other and other.neg_elbo),
                                          (k[1], "Reconstruction", res.recon_nll, other and other.recon_nll),
                                          (k[2], "KL", res.kl, other and other.kl)):
                kc.metric(title, f"{value:.2f}", delta=None if ref is None else f"{value - ref:+.2f} vs A",
                          delta_color="inverse")
            if not m.config.variant.has_prior:
                st.caption("An autoencoder has no KL term: its -ELBO is only the reconstruction "
                           "and is not a bound on -log p(x).")
    st.caption("Negative ELBO = reconstruction -log p(x|z) + KL(q(z|x) || N(0, I)). A larger beta buys a "
               "smaller KL (a posterior closer to the prior) with a worse reconstruction.")

    st.markdown("**Samples from the prior**: decode z ~ N(0, I)")
    pa, pb = st.columns(2)
    for col, m in ((pa, model_a), (pb, model_b)):
        with col:
            samples = prior_samples(m)
            if samples is None:
                st.info(f"{m.name} is an autoencoder: it has no prior to sample from, and decoding random z "
                        "gives images it was never trained to make.")
            else:
                show_grid(samples, ncols=8, cell=90, caption=f"{m.name}: 16 samples"
                          + (" (labels 0, 1, 2, ... given to the decoder)" if m.config.variant.conditional else ""))
