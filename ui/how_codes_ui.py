"""How it works for a model whose latent is discrete (a VQ-VAE): the same six sections as a VAE's
(ui.how_it_works_ui), each telling this model's path: z_e -> the nearest codes -> the decoder, its loss terms
(reconstruction and the kind's ``aux_terms``, e.g. commitment), its formulas (the variant's), the uniform codes
that stand in for a prior, and its codebook's usage over training.

Asked of the model: ``discrete_latent``, ``aux_terms``, ``kl_formula`` / ``kl_caption`` / ``prior_formula``, the
stored images' codes (ui.loaded_model.codes) and the training's ``history.series``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from vae_core.analysis.latent import decode_batch

from .code_grid import code_grid
from .images import show_grid, show_image
from .latent_words import code_grid as grid_shape
from .latent_words import codebook_size
from .state import how_it_works as state

PRIOR_ROW = 8
INTRO = ("A VQ-VAE, step by step, with the loaded model's own numbers: the encoder's map z_e, the nearest codes z_q, "
         "the straight-through gradient, the decoder p(x|z_q), the loss (reconstruction + commitment, no KL term) "
         "and the uniform codes that stand in for a prior.")


def _codes_of_image(lesson) -> np.ndarray:
    """(h, w) the chosen image's code indices."""
    return lesson.loaded.codes()[lesson.index]


def story_ui(lesson_ckpt) -> None:
    """Section 0's path of an image through the model."""
    st.latex(r"x \;\xrightarrow{\text{encoder}}\; z_e \;\xrightarrow{\;k = \arg\min_j \lVert z_e - e_j \rVert\;}"
             r"\; z_q = e_k \;\xrightarrow{\text{decoder}}\; p(x \mid z_q)")
    h, w = grid_shape(lesson_ckpt.config)
    st.markdown(f"The encoder gives a **{h}x{w} map of vectors z_e**, each of {lesson_ckpt.config.latent_dim} numbers; "
                f"at every position the vector is replaced by the **nearest of {codebook_size(lesson_ckpt.config)} "
                "codebook vectors** e_k, and the decoder sees that map of codes z_q. The latent is **discrete**: an "
                "image is its grid of code indices. There is no sampling and no KL term in the loss.")


def encoder_ui(lesson) -> None:
    """Section 1: z_e, the nearest codes, and this image's grid of them."""
    ckpt, ex = lesson.ckpt, lesson.ex
    cfg = ckpt.config
    h, w = grid_shape(cfg)
    k = codebook_size(cfg)
    st.divider()
    st.subheader("1. The encoder and the codebook")
    st.latex(r"z_q(i, j) = e_{k_{ij}}, \qquad k_{ij} = \arg\min_{j'} \left\lVert z_e(i, j) - e_{j'} \right\rVert "
             r"\qquad \text{at every position } (i, j)")
    codes = _codes_of_image(lesson)
    left, right = st.columns([3, 2], gap="large")
    with left:
        code_grid("how_codes_grid", lesson.x.numpy(), codes, size=360, still=True,
                  alt=f"the image x with its {h}x{w} grid of code indices")
        st.caption(f"x with its {h}x{w} grid of code indices: each cell is the codebook vector (of {k}) nearest to "
                   "the encoder's vector there. The Latent sliders page changes them by a click.")
    with right:
        used = len(np.unique(codes))
        commitment = {name: ex["terms"][name] for name in lesson.kind.aux_terms if name in ex["terms"]}
        st.metric("Positions", f"{h}x{w} = {h * w}")
        st.metric("Different codes in this image", f"{used} of {k}")
        for name, value in commitment.items():
            st.metric(f"{name} term", f"{value:.2f}", help="beta times the squared distance from each z_e to its "
                      "code, summed over positions: how far the encoder's vectors are from the codes they snap to")
    counts = np.bincount(lesson.loaded.codes().ravel(), minlength=k)
    top = np.argsort(-counts, kind="stable")[:8]
    st.caption("Over the stored images, the most used codes are " + ", ".join(
        f"{int(c)} ({counts[c] / counts.sum():.1%})" for c in top) + " of all positions.")


def reparameterization_ui(lesson) -> None:
    """Section 2: no sampling; the lookup's gradient passes straight through."""
    st.divider()
    st.subheader("2. No sampling: the nearest code, and the straight-through gradient")
    st.markdown("q(k|x) puts all its mass on the nearest code: there is no noise eps to draw, and the same image "
                "always gets the same codes. The lookup (an argmin) has no gradient, so the decoder's gradient at "
                "z_q is handed to z_e as it is (the **straight-through estimator**):")
    st.latex(r"z = z_e + \mathrm{sg}\!\left(z_q - z_e\right) \quad\Rightarrow\quad z = z_q \text{ forward}, \qquad "
             r"\frac{\partial \mathcal{L}}{\partial z_e} := \frac{\partial \mathcal{L}}{\partial z_q} \text{ backward}")
    st.caption("sg is the stop-gradient. The codebook itself is not trained by gradients here: each code follows "
               "the mean of the vectors that chose it, by moving averages, and a code nobody chooses restarts at an "
               "encoder vector.")


def decoder_ui(lesson) -> None:
    """Section 3: x and the decoded grid of codes."""
    ex = lesson.ex
    st.divider()
    st.subheader("3. The decoder p(x|z_q)")
    lik = "Bernoulli" if lesson.ckpt.config.likelihood == "bernoulli" else "Gaussian"
    st.markdown(f"The decoder maps the map of codes z_q to a **{lik}** distribution over every pixel; the images "
                "show its mean.")
    cols = st.columns(2)
    with cols[0]:
        show_image(lesson.x.numpy(), caption="x, the input", target=300,
                   alt=f"the input x: stored test image #{lesson.index} of {lesson.ckpt.name}")
    with cols[1]:
        show_image(ex["decoded_z"], caption=f"decoded z_q, the image's codes; -log p(x|z_q) = {ex['recon']:.2f}",
                   target=300, alt=f"the image {lesson.ckpt.name} decodes from the input's grid of codes z_q")


def loss_ui(lesson, likelihood_ui) -> None:
    """Section 4: reconstruction + the kind's own terms, with the variant's formula."""
    ex, kind = lesson.ex, lesson.kind
    aux = [name for name in kind.aux_terms if name in ex["terms"]]
    st.divider()
    st.subheader("4. The loss: reconstruction + " + " + ".join(aux) if aux else "4. The loss: reconstruction")
    cols = st.columns(2 + len(aux))
    cols[0].metric("Reconstruction −log p(x|z_q)", f"{ex['recon']:.2f}", help="nats, summed over pixels")
    for col, name in zip(cols[1:], aux):
        col.metric(name.capitalize(), f"{ex['terms'][name]:.2f}")
    total = ex["recon"] + sum(ex["terms"][name] for name in aux)
    cols[-1].metric("Loss trained on", f"{total:.2f}", help="reconstruction + " + " + ".join(aux) if aux else None)
    st.latex(kind.kl_formula)
    st.caption(kind.kl_caption)
    likelihood_ui(lesson.ckpt.config)
    metrics = lesson.ckpt.meta.get("metrics") or {}
    rows = [("This image", ex["recon"], *[ex["terms"][n] for n in aux])]
    if "test_recon" in metrics:
        rows.append((f"Test set at the end of training ({lesson.ckpt.meta.get('n_test') or '?'} images, recorded in "
                     "meta.json)", metrics["test_recon"], *[metrics.get(f"test_{n}", float("nan")) for n in aux]))
    table = pd.DataFrame(rows, columns=["Source", "Reconstruction", *aux]).set_index("Source")
    st.markdown("**Where the numbers come from** (nats per image)")
    st.table(table.astype(float).map(lambda v: f"{v:.2f}"))
    st.caption("No KL term and no ELBO: against a uniform prior over codes the KL is the same constant for every "
               "image, so the reconstruction is no bound on -log p(x).")


def prior_ui(lesson) -> None:
    """Section 5: the uniform codes that stand in for a prior, decoded."""
    ckpt, prior = lesson.ckpt, lesson.ckpt.prior
    st.divider()
    st.subheader(f"5. The prior: {prior.name}")
    st.latex(lesson.kind.prior_formula)
    z = prior.sample(PRIOR_ROW, 1.0, seed=state.prior_seed())
    show_grid(decode_batch(ckpt.model, z), ncols=PRIOR_ROW, cell=110,
              caption=f"{PRIOR_ROW} grids of uniformly random codes, decoded",
              alt=f"{PRIOR_ROW} images {ckpt.name} decodes from grids of codes drawn uniformly at random, in a row")
    st.button("New random codes", on_click=state.new_prior_samples, key=state.PAGE + "new_prior",
              icon=":material/casino:")
    st.caption("Codes drawn uniformly and independently at every position look like noise: the images' codes are "
               "far from uniform and far from independent of their neighbours. The VQ-VAE's paper fits an "
               "autoregressive prior (a PixelCNN) over the grids afterwards; none is learned here. To make new "
               "images by hand, change an image's codes on the Latent sliders page.")


def training_ui(lesson) -> None:
    """Section 6: the recorded reconstruction and the codebook's usage over training."""
    ckpt = lesson.ckpt
    st.divider()
    st.subheader("6. Training")
    history = [h for h in ckpt.meta.get("history") or [] if h.get("test_recon") is not None]
    if history:
        fig = go.Figure()
        epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
        fig.add_trace(go.Scatter(x=epochs, y=[h["test_recon"] for h in history], mode="lines",
                                 name="test reconstruction"))
        for name in lesson.kind.aux_terms:
            fig.add_trace(go.Scatter(x=epochs, y=[(h.get("test_terms") or {}).get(name) for h in history],
                                     mode="lines", name=f"test {name}"))
        fig.update_layout(xaxis_title="epoch", yaxis_title="nats per image", height=340,
                          margin=dict(l=10, r=10, t=30, b=10), font=dict(size=16), legend=dict(orientation="h", y=1.15))
        st.plotly_chart(fig, key=state.PAGE + "codes_history_chart")
    usage_over_training_ui(ckpt, key=state.PAGE + "codes_usage_chart")


def usage_over_training_ui(ckpt, key: str) -> None:
    """The codebook's perplexity and dead codes at each of the training's snapshots (its history's series)."""
    recorded = ckpt.history
    series = getattr(recorded, "series", None) or {}
    if "perplexity" not in series:
        st.info("This checkpoint records no codebook usage over its training.")
        return
    k = codebook_size(ckpt.config)
    fig = go.Figure()
    steps = np.asarray(recorded.step) + 1  # a log axis: step 0 (before training) is drawn at 1
    fig.add_trace(go.Scatter(x=steps, y=series["perplexity"], mode="lines+markers", name="perplexity"))
    if "dead_codes" in series:
        fig.add_trace(go.Scatter(x=steps, y=series["dead_codes"], mode="lines+markers", name="dead codes",
                                 line=dict(dash="dash"), marker=dict(symbol="x")))
    fig.update_layout(xaxis_title="training step + 1 (log scale)", xaxis_type="log", yaxis_title=f"codes (of {k})",
                      height=340, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=16),
                      legend=dict(orientation="h", y=1.15))
    st.plotly_chart(fig, key=key)
    st.caption(f"At each snapshot of the training, over the stored test images: the codebook's **perplexity** "
               f"(exp of the entropy of the codes' frequencies: {k} if all {k} codes were used equally, 1 if one code "
               f"were used everywhere; {float(series['perplexity'][-1]):.1f} at the end) and its **dead codes** "
               "(used at no position). Step 0 is before training, when every code starts at the same place.")
