"""How it works, section by section: one image's path through the loaded model (q(z|x), the reparameterization
trick, p(x|z), the loss, the prior, the training), each a ``*_ui`` function the page calls in order."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from vae_core.analysis.explain import explain_image
from vae_core.analysis.latent import decode_batch
from vae_core.model.priors import prior_z
from vae_core.render.images import to_uint8, upscale

from .common import end_page, friendly_errors
from .frozen_figure import FrozenFigure
from .generate_ui import class_name, image_tensor, pick_image_ui, pick_random_image
from . import how_codes_ui as codes_ui
from .images import Picture, decoded_alt, scale_for, show_grid
from .latent_words import dim_label, has_levels, levels
from .loaded_model import LoadedModel
from .state import how_it_works as state

SHOWN_DIMS = 10  # the reparameterization table lists at most this many dimensions
PRIOR_ROW = 8
ACCENT, SAMPLE = "#4f46e5", "#dc2626"


@dataclass
class Lesson:
    """The loaded model and the one image every section follows."""

    loaded: LoadedModel
    index: int  # the image, in the stored test images
    x: object  # (1, C, H, W) torch tensor
    y: int | None  # its class, for a conditional model
    ex: dict  # vae_core.analysis.explain.explain_image's numbers
    eps_seed: int | None  # the eps draw (None: the kind draws none)

    def view(self, name: str) -> tuple:
        """The key of a value built for this image and draw (LoadedModel.recent)."""
        return ("how: " + name, self.index, self.eps_seed)

    @property
    def ckpt(self):
        return self.loaded.checkpoint

    @property
    def kind(self):
        return self.ckpt.config.variant

    @property
    def ae(self) -> bool:
        """A plain autoencoder: z = mu, no KL term and no prior."""
        return not self.kind.has_prior

    @property
    def dims(self) -> int:
        return len(self.ex["mu"])

    @property
    def discrete(self) -> bool:
        """z is a grid of codes (ui.how_codes_ui tells this model's path)."""
        return self.kind.discrete_latent

    def name(self, d: int) -> str:
        """Dimension d's name: "z3", or by level ("z1[3]") for a model with several."""
        return dim_label(self.ckpt.config, d)


def fig_style(fig: go.Figure, height: int = 360) -> go.Figure:
    fig.update_layout(height=height, font=dict(size=16), margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=1.12))
    return fig


def intro(loaded: LoadedModel | None, continuous: str) -> str:
    """The page's paragraph: ``continuous`` for a VAE-like model, the discrete path's for a grid of codes."""
    return codes_ui.INTRO if loaded is not None and loaded.variant.discrete_latent else continuous


# ---------------------------------------------------------------- 0. the image

def image_ui(loaded: LoadedModel) -> Lesson:
    """Section 0: the image x, chosen by class and number, and the path it takes; returns the lesson."""
    ckpt = loaded.checkpoint
    cfg, kind = ckpt.config, ckpt.config.variant
    state.start(ckpt)
    st.subheader("0. One image x")
    pick, story = st.columns([2, 3])
    with pick:
        index = pick_image_ui(ckpt, state.IMAGE, "Image", size=200)
        st.button("Random image", on_click=pick_random_image, args=(ckpt, state.IMAGE), key=state.PAGE + "random",
                  icon=":material/shuffle:")
    with story:
        st.markdown(f"The model **{ckpt.name}** sees an image x of {cfg.num_pixels} pixel values in [0, 1]"
                    + (" together with its class y" if kind.conditional else "") + ".")
        if kind.discrete_latent:
            codes_ui.story_ui(ckpt)
        elif not kind.has_prior:
            st.latex(r"x \;\xrightarrow{\text{encoder}}\; z \;\xrightarrow{\text{decoder}}\; \hat x")
            st.markdown("This is a **plain autoencoder**: the encoder gives one code z, the decoder turns it back "
                        "into an image, and the loss is the reconstruction error alone.")
        else:
            st.latex(r"x \;\xrightarrow{\text{encoder}}\; (\mu, \sigma) \;"
                     r"\xrightarrow{\;z = \mu + \sigma\odot\varepsilon\;}"
                     r"\; z \;\xrightarrow{\text{decoder}}\; p(x \mid z)")
            st.markdown("The encoder describes a whole **distribution** over codes, q(z|x); one z is drawn from "
                        "it with the reparameterization trick and decoded; the loss adds how well x is "
                        f"reconstructed and how far q(z|x) is from the prior {ckpt.prior.name}.")
    state.write_url(index)
    x = image_tensor(ckpt, index)
    y = int(ckpt.sample.labels[index]) if kind.conditional else None
    eps_seed = state.eps_seed() if kind.has_prior else None
    try:  # the same image and draw give the same numbers: computed once (LoadedModel.recent)
        ex = loaded.recent(("how: explain", index, eps_seed), lambda: _explained(ckpt, x, y, eps_seed))
    except (ValueError, RuntimeError) as e:
        st.error(f"The model could not process this image: {e}. Pick another image or another model.")
        end_page()
    return Lesson(loaded, index, x, y, ex, eps_seed)


def _explained(ckpt, x, y, eps_seed: int | None) -> dict:
    """explain_image's numbers for an image and an eps draw, its arrays read-only (sessions share them)."""
    eps = None if eps_seed is None else prior_z(1, ckpt.config.latent_dim, 1.0, seed=eps_seed)[0].numpy()
    ex = explain_image(ckpt.model, x, y, eps=eps)
    for v in ex.values():
        if isinstance(v, np.ndarray):
            v.setflags(write=False)
    return ex


def _arrow(frame: pd.DataFrame):
    """The Arrow table Streamlit would make of ``frame`` (pyarrow.Table.from_pandas), made once with the frame
    and kept with it: st.dataframe and st.table then only write it out."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame)


# ---------------------------------------------------------------- 1. the encoder

def _posterior_figure(lesson: Lesson) -> go.Figure:
    """The stored codes, this image's q(z|x) as a 2-sigma ellipse, mu and the drawn z."""
    all_mu, _ = lesson.loaded.encodings()
    ex, mu = lesson.ex, lesson.ex["mu"]
    i, j = lesson.loaded.default_axes()
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=all_mu[:, i], y=all_mu[:, j], mode="markers", name="mu of the stored images",
                               marker=dict(size=5, color="rgba(120,120,120,0.35)")))
    if not lesson.ae:
        s = ex["sigma"]
        fig.add_shape(type="circle", x0=mu[i] - 2 * s[i], x1=mu[i] + 2 * s[i], y0=mu[j] - 2 * s[j],
                      y1=mu[j] + 2 * s[j], line=dict(color=ACCENT, width=2), fillcolor="rgba(79,70,229,0.15)")
    fig.add_trace(go.Scatter(x=[mu[i]], y=[mu[j]], mode="markers", name="mu(x)",
                             marker=dict(size=9, color=ACCENT, symbol="x")))
    if not lesson.ae:
        fig.add_trace(go.Scatter(x=[ex["z"][i]], y=[ex["z"][j]], mode="markers", name="z = mu + sigma·eps",
                                 marker=dict(size=9, color=SAMPLE)))
    fig.update_layout(xaxis_title=lesson.name(i), yaxis_title=lesson.name(j), yaxis_scaleanchor="x")
    return fig_style(fig, 420)


def _posterior_picture(lesson: Lesson) -> None:
    """For D >= 2: the stored codes, this image's q(z|x) as a 2-sigma ellipse, mu and the drawn z."""
    i, j = lesson.loaded.default_axes()
    st.markdown("**This image in latent space**" + ("" if lesson.ae else ": q(z|x) as its 2-sigma ellipse"))
    st.plotly_chart(lesson.loaded.recent(lesson.view("posterior"), lambda: FrozenFigure(_posterior_figure(lesson))),
                    key=state.PAGE + "latent_chart")
    if lesson.dims > 2:
        st.caption(f"Dimensions {lesson.name(i)} and {lesson.name(j)}, the two the model uses most (largest "
                   f"{lesson.kind.activity_label}).")


def _encoder_table(lesson: Lesson) -> pd.DataFrame:
    """mu (and sigma, log sigma², the KL) per latent dimension."""
    ex, mu, D = lesson.ex, lesson.ex["mu"], lesson.dims
    if lesson.ae:
        return pd.DataFrame({"dim": [lesson.name(d) for d in range(D)], "z = mu": mu})
    enc = pd.DataFrame({"dim": [lesson.name(d) for d in range(D)], "mu": mu, "sigma": ex["sigma"],
                        "log sigma²": ex["logvar"]})
    if ex["kl_per_dim"] is not None:  # None: against this prior the KL does not split by dimension
        enc["KL (nats)"] = ex["kl_per_dim"]
    return enc


def _encoder_figure(lesson: Lesson) -> go.Figure:
    ex, mu = lesson.ex, lesson.ex["mu"]
    fig = go.Figure(go.Bar(x=[lesson.name(d) for d in range(lesson.dims)], y=mu, name="mu", marker_color=ACCENT,
                           error_y=None if lesson.ae else dict(type="data", array=ex["sigma"], visible=True,
                                                               thickness=2)))
    fig.update_layout(yaxis_title="z", showlegend=False)
    return fig_style(fig, 420)


def encoder_ui(lesson: Lesson) -> None:
    """Section 1: q(z|x) = N(mu, sigma^2) per dimension (or the autoencoder's single code)."""
    if lesson.discrete:
        return codes_ui.encoder_ui(lesson)
    ex, D = lesson.ex, lesson.dims
    st.divider()
    st.subheader("1. The encoder" if lesson.ae else "1. The encoder q(z|x)")
    if lesson.ae:
        st.info("An autoencoder has **no q(z|x) distribution**: the encoder outputs a single point z = mu(x). "
                "There is no sigma, no sampling and no KL term.")
    else:
        st.latex(r"q_\phi(z \mid x) = \mathcal{N}\!\left(z;\ \mu_\phi(x),\ \operatorname{diag}\sigma^2_\phi(x)\right)")
        st.markdown("The encoder network outputs two vectors of length "
                    f"{D}: the mean **mu(x)** and **log sigma²(x)** of a Gaussian over z, one pair per latent "
                    "dimension.")
    c_chart, c_map = st.columns(2)
    with c_chart:
        st.markdown("**mu(x)**" + ("" if lesson.ae else " with ± **sigma(x)** bars, per latent dimension"))
        st.plotly_chart(lesson.loaded.recent(lesson.view("encoder chart"), lambda: FrozenFigure(_encoder_figure(lesson))),
                        key=state.PAGE + "enc_chart")
    with c_map:
        if D >= 2:
            _posterior_picture(lesson)
    table = lesson.loaded.recent(lesson.view("encoder table"), lambda: _arrow(_encoder_table(lesson).round(3)))
    st.dataframe(table, hide_index=True, key=state.PAGE + "enc_table", height="auto" if D <= 10 else 400)
    if ex["kl_per_dim"] is not None:
        st.caption("KL per dimension: how far this image's q(z_i|x) is from the prior N(0, 1). Dimensions the "
                   "model does not use have mu near 0, sigma near 1 and KL near 0.")


# ---------------------------------------------------------------- 2. the reparameterization trick

def reparameterization_ui(lesson: Lesson) -> None:
    """Section 2: z = mu + sigma * eps, with a button for a new eps."""
    if lesson.discrete:
        return codes_ui.reparameterization_ui(lesson)
    st.divider()
    st.subheader("2. The reparameterization trick" + (": not in an autoencoder" if lesson.ae else ""))
    if lesson.ae:
        st.info("No sampling in an autoencoder: z = mu(x), the same code every time.")
        return
    ex, D = lesson.ex, lesson.dims
    left, right = st.columns([2, 3])
    with left:
        st.latex(r"z = \mu + \sigma \odot \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I)")
        st.markdown("Drawing z ~ q(z|x) directly is a random step that backpropagation cannot pass through. "
                    "Writing the sample as a **deterministic function of mu, sigma and an independent noise eps** "
                    "moves the randomness into eps, so the gradients of the loss flow to mu and sigma, and on to "
                    "the encoder's weights:")
        st.latex(r"\frac{\partial z}{\partial \mu} = 1, \qquad \frac{\partial z}{\partial \sigma} = \varepsilon")
        st.button("Draw a new eps", on_click=state.new_eps, key=state.PAGE + "new_eps", icon=":material/casino:",
                  type="primary")
    with right:
        shown = min(D, SHOWN_DIMS)

        def table():
            return _arrow(pd.DataFrame({
                "dim": [lesson.name(d) for d in range(shown)], "eps": ex["eps"][:shown], "sigma": ex["sigma"][:shown],
                "sigma·eps": ex["sigma_eps"][:shown], "mu": ex["mu"][:shown],
                "z = mu + sigma·eps": ex["z"][:shown]}).round(3))
        st.dataframe(lesson.loaded.recent(lesson.view("reparameterization table"), table), hide_index=True,
                     key=state.PAGE + "rep_table")
        if D > SHOWN_DIMS:
            st.caption(f"The first {SHOWN_DIMS} of {D} dimensions; the others follow the same rule.")
        st.caption(f"eps draw #{state.eps_seed()} (seeded, so a lecture can repeat it).")
        if has_levels(lesson.ckpt.config):
            (low, _, _), (top, _, _) = levels(lesson.ckpt.config)[0], levels(lesson.ckpt.config)[-1]
            st.caption(f"With levels the draw runs top-down: {top} = mu + sigma * eps first, then mu and sigma of "
                       f"q({low}|x, {top}) at that {top}, and {low} from them with its own eps.")


# ---------------------------------------------------------------- 3. the decoder

def decoder_ui(lesson: Lesson) -> None:
    """Section 3: the mean of p(x|z) for the drawn z and for z = mu."""
    if lesson.discrete:
        return codes_ui.decoder_ui(lesson)
    cfg, ex = lesson.ckpt.config, lesson.ex
    st.divider()
    st.subheader("3. The decoder p(x|z)")
    lik = "Bernoulli" if cfg.likelihood == "bernoulli" else "Gaussian"
    st.markdown(f"The decoder maps z to the parameters of a **{lik}** distribution over every pixel; "
                "the images show its mean.")
    cols = st.columns(2 if lesson.ae else 3)
    x, z, at_mu = lesson.loaded.recent(lesson.view("decoder pictures"), lambda: _decoder_pictures(lesson))
    name = lesson.ckpt.name
    with cols[0]:
        x.show("x, the input", alt=f"the input x: stored test image #{lesson.index} of {name}")
    if lesson.ae:
        with cols[1]:
            at_mu.show(f"decoded z = mu(x); -log p(x|z) = {ex['recon_at_mu']:.2f}",
                       alt=decoded_alt(name, ex["mu"]) + " (z = mu(x))")
        return
    with cols[1]:
        z.show(f"mean of p(x|z) for this z; -log p(x|z) = {ex['recon']:.2f}",
               alt=decoded_alt(name, ex["z"]) + " (a draw from q(z|x))")
    with cols[2]:
        at_mu.show(f"mean of p(x|z = mu); -log p(x|mu) = {ex['recon_at_mu']:.2f}",
                   alt=decoded_alt(name, ex["mu"]) + " (z = mu(x))")
    st.caption(_decoded_at_mu_note(lesson.ckpt.config))


def _decoded_at_mu_note(cfg) -> str:
    """What changes with a new eps. With one level, decode(mu) does not; with levels, the lower level's mean is
    q(z1|x, z2)'s at the z2 drawn with eps, so decode(mu) moves too."""
    if not has_levels(cfg):
        return ("Draw a new eps above: z moves inside q(z|x) and the middle image changes; the right one, decoded "
                "at mu, does not.")
    (low, _, _), (top, _, _) = levels(cfg)[0], levels(cfg)[-1]
    return (f"Draw a new eps above: z moves inside q(z|x) and the middle image changes. The right one is decoded "
            f"at q's means, but in a model with levels the mean of the lower level depends on the upper one drawn: "
            f"mu of q({low}|x, {top}) is taken at the {top} drawn with this eps, so the right image can change with "
            "eps too (less than the middle one).")


def _decoder_pictures(lesson: Lesson) -> tuple[Picture, Picture | None, Picture]:
    """x, the mean of p(x|z) and the mean of p(x|z = mu), each about 300 px tall (as show_image draws them)."""
    def picture(image) -> Picture:
        arr = to_uint8(image)[0]
        return Picture(upscale(arr, scale_for(arr.shape[0], 300)))
    ex = lesson.ex
    return (picture(lesson.x.numpy()), None if lesson.ae else picture(ex["decoded_z"]), picture(ex["decoded_mu"]))


# ---------------------------------------------------------------- 4. the loss

def _level_terms(lesson: Lesson) -> list[tuple[str, str, int]]:
    """(level, its KL term, its size) for a model with one KL term per latent level, top level last."""
    found, names = levels(lesson.ckpt.config), [n for n in lesson.kind.kl_terms if n in lesson.ex["terms"]]
    if len(found) < 2 or len(found) != len(names):
        return []
    return [(level, term, last - first) for (level, first, last), term in zip(found, names)]


def _kl_per_level_ui(lesson: Lesson) -> None:
    """The KL of each latent level: this image's, and the test set's at the end of training."""
    pairs = _level_terms(lesson)
    if not pairs:
        return
    history = lesson.ckpt.meta.get("history") or []
    test = (history[-1].get("test_terms") or {}) if history else {}
    rows = [(f"{level} ({size} numbers)", term, lesson.ex["terms"][term], test.get(term, float("nan")))
            for level, term, size in reversed(pairs)]
    table = pd.DataFrame(rows, columns=["Level", "Term", "This image, this eps", "Test set, end of training"])
    st.markdown("**The KL of each level** (nats; their sum is the KL above)")
    st.table(table.set_index("Level").style.format({"This image, this eps": "{:.2f}",
                                                    "Test set, end of training": "{:.2f}"}))


def _likelihood_ui(cfg) -> None:
    if cfg.likelihood == "bernoulli":
        st.markdown("**Likelihood in use: Bernoulli**, the binary cross-entropy summed over pixels, with "
                    "p = decoder(z) the mean image:")
        st.latex(r"-\log p(x \mid z) = -\sum_{j}\left[x_j \log p_j + (1 - x_j)\log(1 - p_j)\right]")
        return
    how = "learned per pixel" if cfg.gaussian_variance == "learned" else f"fixed at {cfg.gaussian_sigma:g}"
    st.markdown(f"**Likelihood in use: Gaussian**, with mean m = decoder(z) and sigma {how}:")
    st.latex(r"-\log p(x \mid z) = \sum_{j}\left[\frac{(x_j - m_j)^2}{2\sigma_j^2} + \log\sigma_j + "
             r"\tfrac12\log 2\pi\right]")


def _sources_frame(lesson: Lesson) -> pd.DataFrame:
    """This image's loss beside its mean over the stored images and the recorded test metrics, as shown."""
    ckpt, ex = lesson.ckpt, lesson.ex
    avg = lesson.loaded.sample_loss()
    metrics = ckpt.meta.get("metrics") or {}
    rows = [("This image" if lesson.ae else "This image, this eps", ex["recon"], ex["kl"], ex["neg_elbo"]),
            (f"Mean over the {avg['n']} stored test images (one z each, seed {avg['seed']})",
             avg["recon"], avg["kl"], avg["neg_elbo"])]
    if "test_neg_elbo" in metrics:
        n_test = ckpt.meta.get("n_test")
        rows.append((f"Test set at the end of training ({n_test or '?'} images, recorded in meta.json)",
                     metrics.get("test_recon"), metrics.get("test_kl"), metrics["test_neg_elbo"]))
    table = pd.DataFrame(rows, columns=["Source", "Reconstruction", "KL", "Negative ELBO"])
    if lesson.ae:
        table = table.drop(columns=["KL"]).rename(columns={"Negative ELBO": "Loss"})
    return table.set_index("Source").astype(float).map(lambda v: f"{v:.2f}")


def _sources_table(lesson: Lesson) -> None:
    """The loss of this image beside its mean over the stored images and the recorded test metrics."""
    with friendly_errors("Averaging the loss over the stored images"):
        table = lesson.loaded.recent(lesson.view("sources table"), lambda: _arrow(_sources_frame(lesson)))
        st.markdown("**Where the numbers come from** (nats per image)")
        st.table(table, hide_index=False)  # the index (the source) shown, as for the frame it was made of
        if "test_neg_elbo" not in (lesson.ckpt.meta.get("metrics") or {}):
            st.caption("This checkpoint records no test metrics.")


def loss_ui(lesson: Lesson) -> None:
    """Section 4: the negative ELBO = reconstruction + KL of this image, and where the numbers come from."""
    if lesson.discrete:
        return codes_ui.loss_ui(lesson, _likelihood_ui)
    ckpt, ex, kind = lesson.ckpt, lesson.ex, lesson.kind
    beta = float((ckpt.meta.get("train_config") or {}).get("beta", 1.0))
    st.divider()
    st.subheader("4. The loss: reconstruction only" if lesson.ae
                 else "4. The loss: negative ELBO = reconstruction + KL")
    m1, m2, m3 = st.columns(3)
    m1.metric("Reconstruction −log p(x|z)", f"{ex['recon']:.2f}", help="nats, summed over pixels, for this z")
    if lesson.ae:
        m2.metric("KL(q(z|x) ‖ p(z))", "none", help="An autoencoder has no q(z|x) and no prior: no KL term.")
        m3.metric("Autoencoder loss", f"{ex['recon']:.2f}", help="the reconstruction term alone")
        st.info("An autoencoder is trained on the reconstruction term only; without the KL term it defines no "
                "ELBO and no likelihood p(x).")
    else:
        m2.metric("KL(q(z|x) ‖ p(z))", f"{ex['kl']:.2f}", help=kind.kl_help)
        m3.metric("Negative ELBO", f"{ex['neg_elbo']:.2f}", help="reconstruction + KL, nats")
        st.latex(r"\begin{aligned}\mathrm{ELBO}(x) &= \mathbb{E}_{q(z|x)}\!\left[\log p(x \mid z)\right] - "
                 r"\mathrm{KL}\!\left(q(z \mid x)\,\|\,p(z)\right) \\ &\le \log p(x)\end{aligned}")
        st.latex(kind.kl_formula)
        st.caption(kind.kl_caption)
        _kl_per_level_ui(lesson)
    _likelihood_ui(ckpt.config)
    if beta != 1.0:
        st.warning(f"This model was trained with β = {beta:g} (a β-VAE): it minimised reconstruction + "
                   f"{beta:g} × KL. The numbers here are the plain negative ELBO (β = 1), like the recorded "
                   "test metrics.")
        st.latex(rf"\mathcal{{L}}_\beta(x) = -\mathbb{{E}}_q[\log p(x \mid z)] + {beta:g}\,"
                 r"\mathrm{KL}\!\left(q(z \mid x)\,\|\,p(z)\right)")
    _sources_table(lesson)


# ---------------------------------------------------------------- 5. the prior

def _spread_note(lesson: Lesson) -> None:
    """How far the stored codes are from the prior's spread (why prior samples work, or do not)."""
    all_mu, all_logvar = lesson.loaded.encodings()
    prior = lesson.ckpt.prior
    if lesson.ae:
        spread = all_mu.std(axis=0)
        st.warning("Why these look poor: an autoencoder was never asked to make its codes follow N(0, I). "
                   "Nothing pulls them toward the prior, so they sit wherever training put them, with gaps between "
                   "clusters, and prior draws land where the decoder learned nothing. The KL term of a VAE is what "
                   f"shapes the codes to the prior. Here the stored codes' standard deviation per dimension ranges "
                   f"from {spread.min():.2f} to {spread.max():.2f}, against 1 for the prior.")
        return
    # the aggregate posterior (the mixture of every q(z|x)) has variance Var(mu) + E[sigma^2] per dimension
    spread = np.sqrt(all_mu.var(axis=0) + np.exp(all_logvar).mean(axis=0))
    lo, hi = np.sort(prior.std())[[0, -1]]
    prior_says = f"{lo:g}" if hi - lo < 1e-9 else f"from {lo:.2f} to {hi:.2f}"
    st.caption("Generating needs no encoder: draw z from the prior and decode. This works because the KL term "
               f"pulled every q(z|x) toward {prior.name} during training. Over the stored images, the mixture of all "
               "q(z|x) has a standard deviation per dimension from "
               f"{spread.min():.2f} to {spread.max():.2f}; the prior's is {prior_says}.")


def prior_ui(lesson: Lesson) -> None:
    """Section 5: z ~ p(z), decoded; new draws on a button."""
    if lesson.discrete:
        return codes_ui.prior_ui(lesson)
    ckpt, prior = lesson.ckpt, lesson.ckpt.prior
    st.divider()
    st.subheader(f"5. The prior p(z) = {prior.name} and new images")
    st.latex(lesson.kind.prior_formula + r", \qquad z \sim p(z) \;\Rightarrow\; x \sim p(x \mid z)")
    seed = state.prior_seed()

    def decoded():
        images = to_uint8(decode_batch(ckpt.model, prior.sample(PRIOR_ROW, 1.0, seed=seed), lesson.y))
        images.setflags(write=False)
        return images
    show_grid(lesson.loaded.recent(("how: prior samples", seed, lesson.y), decoded), ncols=PRIOR_ROW, cell=110,
              alt=f"{PRIOR_ROW} images {ckpt.name} decodes from z drawn from its prior {prior.name}, in a row",
              caption=f"{PRIOR_ROW} draws z ~ {prior.name}, decoded"
              + (f" with class {class_name(ckpt, lesson.y)}, the chosen image's" if lesson.y is not None else ""))
    st.button("New prior samples", on_click=state.new_prior_samples, key=state.PAGE + "new_prior",
              icon=":material/casino:")
    _spread_note(lesson)


# ---------------------------------------------------------------- 6. training

def _trend(first: float, last: float, scale: float) -> str:
    """'fell from a to b', 'rose from a to b' or 'stayed near a' (a change under 2% of scale is flat)."""
    if abs(last - first) < 0.02 * max(scale, 1e-9):
        return f"stayed near {last:.1f}"
    return f"{'fell' if last < first else 'rose'} from {first:.1f} to {last:.1f}"


def history_summary(history: list[dict], has_kl: bool) -> str:
    """What this model's recorded test curves did, in one sentence, from their own numbers."""
    first, last = history[0], history[-1]
    scale = max(abs(float(h.get("test_neg_elbo") or 0)) for h in history)
    elbo = _trend(first['test_neg_elbo'], last['test_neg_elbo'], scale)
    parts = [f"the test {'negative ELBO' if has_kl else 'loss'} {elbo}"]
    if first.get("test_recon") is not None and last.get("test_recon") is not None:
        parts.append(f"the reconstruction {_trend(first['test_recon'], last['test_recon'], scale)}")
    if has_kl and first.get("test_kl") is not None and last.get("test_kl") is not None:
        parts.append(f"the KL {_trend(first['test_kl'], last['test_kl'], scale)}")
    n = len(history)
    return (f"Over the {n} recorded epoch{'s' if n != 1 else ''} of this model, " + ", ".join(parts[:-1])
            + (" and " if len(parts) > 1 else "") + parts[-1] + " (nats per image).")


def _history_figure(lesson: Lesson) -> go.Figure:
    history = [h for h in lesson.ckpt.meta.get("history") or [] if h.get("test_neg_elbo") is not None]
    epochs = [h.get("epoch", k + 1) for k, h in enumerate(history)]
    fig = go.Figure()
    series = [("test_neg_elbo", "test negative ELBO" if not lesson.ae else "test loss"),
              ("test_recon", "test reconstruction")]
    if not lesson.ae:
        series.append(("test_kl", "test KL"))
    for key, name in series:
        fig.add_trace(go.Scatter(x=epochs, y=[h.get(key) for h in history], mode="lines", name=name))
    for level, term, _ in _level_terms(lesson):  # a model with levels: each level's KL too
        fig.add_trace(go.Scatter(x=epochs, y=[(h.get("test_terms") or {}).get(term) for h in history],
                                 mode="lines", line=dict(dash="dot"), name=f"test {term} ({level})"))
    fig.update_layout(xaxis_title="epoch", yaxis_title="nats per image")
    return fig_style(fig, 380)


def training_ui(lesson: Lesson) -> None:
    """Section 6: the recorded test loss per epoch, and what it did."""
    if lesson.discrete:
        return codes_ui.training_ui(lesson)
    history = [h for h in lesson.ckpt.meta.get("history") or [] if h.get("test_neg_elbo") is not None]
    st.divider()
    st.subheader("6. Training")
    if not history:
        st.info("This checkpoint records no training history.")
        return
    st.markdown("**Test loss per epoch**")
    st.plotly_chart(lesson.loaded.recent(("how: history chart",), lambda: FrozenFigure(_history_figure(lesson))),
                    key=state.PAGE + "history_chart")
    st.caption(history_summary(history, has_kl=not lesson.ae) + " The negative ELBO is the sum of the two terms: "
               "a falling reconstruction with a rising KL means the codes carry more about x.")
