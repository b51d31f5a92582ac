"""How it works: the VAE's equations, computed live on the loaded model for one image."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from ui import url_state
from ui.common import current_model, end_page, friendly_errors, page_header, require_sample
from ui.generate_ui import (class_name, image_tensor, pick_image_ui, pick_random_image, reset_on_model_change,
                            take_image)
from ui.images import show_grid, show_image
from vae_core.analysis.explain import explain_image
from vae_core.analysis.latent import decode_batch
from vae_core.model.priors import prior_z

P = "how_"
M = "how_m_"  # state that belongs to the loaded model
SHOWN_DIMS = 8  # the reparameterization table lists at most this many dimensions
MAX_SEED = 2**31 - 1
PRIOR_ROW = 8

page_header("How it works", "A VAE, step by step, with the loaded model's own numbers: the encoder q(z|x), "
            "the reparameterization trick, the decoder p(x|z), the loss (negative ELBO = reconstruction + KL) "
            "and the prior N(0, I).")
loaded = current_model()
if loaded is None:
    end_page()
ckpt = loaded.checkpoint
reset_on_model_change(M, str(ckpt.path))
if not require_sample(ckpt):
    end_page()
cfg, model, prior = ckpt.config, ckpt.model, ckpt.prior
kind = cfg.variant
D, AE = cfg.latent_dim, not kind.has_prior  # AE: a plain autoencoder, z = mu, no KL term and no prior
beta = float((ckpt.meta.get("train_config") or {}).get("beta", 1.0))


def dim_name(d: int) -> str:
    return f"z{d + 1}"


def bump(key: str) -> None:
    st.session_state[key] = int(st.session_state.get(key, 0)) + 1


def fig_style(fig: go.Figure, height: int = 360) -> go.Figure:
    fig.update_layout(height=height, font=dict(size=16), margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=1.12))
    return fig


def current_eps() -> np.ndarray:
    if M + "eps_seed" not in st.session_state:
        st.session_state[M + "eps_seed"] = 0
    return prior_z(1, D, 1.0, seed=int(st.session_state[M + "eps_seed"]))[0].numpy()  # eps ~ N(0, I)


def posterior_picture(ex: dict) -> None:
    """For D >= 2: the stored codes, this image's q(z|x) as a 2-sigma ellipse, mu and the drawn z."""
    all_mu, _ = loaded.encodings()
    mu = ex["mu"]
    i, j = loaded.default_axes()
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=all_mu[:, i], y=all_mu[:, j], mode="markers", name="mu of the stored images",
                               marker=dict(size=5, color="rgba(120,120,120,0.35)")))
    if not AE:
        s = ex["sigma"]
        fig.add_shape(type="circle", x0=mu[i] - 2 * s[i], x1=mu[i] + 2 * s[i], y0=mu[j] - 2 * s[j],
                      y1=mu[j] + 2 * s[j], line=dict(color="#4f46e5", width=2), fillcolor="rgba(79,70,229,0.15)")
    fig.add_trace(go.Scatter(x=[mu[i]], y=[mu[j]], mode="markers", name="mu(x)",
                             marker=dict(size=9, color="#4f46e5", symbol="x")))
    if not AE:
        fig.add_trace(go.Scatter(x=[ex["z"][i]], y=[ex["z"][j]], mode="markers", name="z = mu + sigma·eps",
                                 marker=dict(size=9, color="#dc2626")))
    st.markdown("**This image in latent space**" + ("" if AE else ": q(z|x) as its 2-sigma ellipse"))
    fig.update_layout(xaxis_title=dim_name(i), yaxis_title=dim_name(j), yaxis_scaleanchor="x")
    st.plotly_chart(fig_style(fig, 420), key=P + "latent_chart")
    if D > 2:
        st.caption(f"Dimensions {dim_name(i)} and {dim_name(j)}, the two the model uses most (largest "
                   f"{kind.activity_label}).")


# ---------------------------------------------------------------- 0. the image
st.subheader("0. One image x")
pick, story = st.columns([2, 3])
# the view in the address bar: the image (point=), its eps draw (eps=) and the prior samples' draw (prior=)
take_image("point", M + "img", ckpt, "the image")
url_state.take_number("eps", M + "eps_seed", 0, MAX_SEED, "eps draw", integer=True)
url_state.take_number("prior", P + "prior_seed", 0, MAX_SEED, "prior samples' draw", integer=True)
with pick:
    index = pick_image_ui(ckpt, M + "img", "Image", size=200)
    url_state.write("point", index)
    st.button("Random image", on_click=pick_random_image, args=(ckpt, M + "img"), key=P + "random",
              icon=":material/shuffle:")
with story:
    st.markdown(f"The model **{ckpt.name}** sees an image x of {cfg.num_pixels} pixel values in [0, 1]"
                + (" together with its class y" if kind.conditional else "") + ".")
    if AE:
        st.latex(r"x \;\xrightarrow{\text{encoder}}\; z \;\xrightarrow{\text{decoder}}\; \hat x")
        st.markdown("This is a **plain autoencoder**: the encoder gives one code z, the decoder turns it back "
                    "into an image, and the loss is the reconstruction error alone.")
    else:
        st.latex(r"x \;\xrightarrow{\text{encoder}}\; (\mu, \sigma) \;"
                 r"\xrightarrow{\;z = \mu + \sigma\odot\varepsilon\;}"
                 r"\; z \;\xrightarrow{\text{decoder}}\; p(x \mid z)")
        st.markdown("The encoder describes a whole **distribution** over codes, q(z|x); one z is drawn from it "
                    "with the reparameterization trick and decoded; the loss adds how well x is reconstructed "
                    f"and how far q(z|x) is from the prior {prior.name}.")

x = image_tensor(ckpt, index)
url_state.write("eps", int(st.session_state.get(M + "eps_seed", 0)) or None)
y = int(ckpt.sample.labels[index]) if kind.conditional else None
try:
    ex = explain_image(model, x, y, eps=None if AE else current_eps())
except (ValueError, RuntimeError) as e:
    st.error(f"The model could not process this image: {e}. Pick another image or another model.")
    end_page()
mu = ex["mu"]

# ---------------------------------------------------------------- 1. encoder
st.divider()
st.subheader("1. The encoder" if AE else "1. The encoder q(z|x)")
if AE:
    st.info("An autoencoder has **no q(z|x) distribution**: the encoder outputs a single point z = mu(x). "
            "There is no sigma, no sampling and no KL term.")
    enc = pd.DataFrame({"dim": [dim_name(d) for d in range(D)], "z = mu": mu})
else:
    st.latex(r"q_\phi(z \mid x) = \mathcal{N}\!\left(z;\ \mu_\phi(x),\ \operatorname{diag}\sigma^2_\phi(x)\right)")
    st.markdown("The encoder network outputs two vectors of length "
                f"{D}: the mean **mu(x)** and **log sigma²(x)** of a Gaussian over z, one pair per latent dimension.")
    enc = pd.DataFrame({"dim": [dim_name(d) for d in range(D)], "mu": mu, "sigma": ex["sigma"],
                        "log sigma²": ex["logvar"]})
    if ex["kl_per_dim"] is not None:  # None: against this prior the KL does not split by dimension
        enc["KL (nats)"] = ex["kl_per_dim"]
c_chart, c_map = st.columns(2)
with c_chart:
    st.markdown("**mu(x)**" + ("" if AE else " with ± **sigma(x)** bars, per latent dimension"))
    fig = go.Figure(go.Bar(x=enc["dim"], y=mu, name="mu", marker_color="#4f46e5",
                           error_y=None if AE else dict(type="data", array=ex["sigma"], visible=True, thickness=2)))
    fig.update_layout(yaxis_title="z", showlegend=False)
    st.plotly_chart(fig_style(fig, 420), key=P + "enc_chart")
with c_map:
    if D >= 2:
        posterior_picture(ex)
st.dataframe(enc.round(3), hide_index=True, key=P + "enc_table", height="auto" if D <= 10 else 400)
if ex["kl_per_dim"] is not None:
    st.caption("KL per dimension: how far this image's q(z_i|x) is from the prior N(0, 1). Dimensions the "
               "model does not use have mu near 0, sigma near 1 and KL near 0.")

# ---------------------------------------------------------------- 2. reparameterization
st.divider()
st.subheader("2. The reparameterization trick" + (": not in an autoencoder" if AE else ""))
if AE:
    st.info("No sampling in an autoencoder: z = mu(x), the same code every time.")
else:
    left, right = st.columns([2, 3])
    with left:
        st.latex(r"z = \mu + \sigma \odot \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I)")
        st.markdown("Drawing z ~ q(z|x) directly is a random step that backpropagation cannot pass through. "
                    "Writing the sample as a **deterministic function of mu, sigma and an independent noise eps** "
                    "moves the randomness into eps, so the gradients of the loss flow to mu and sigma, and on to "
                    "the encoder's weights:")
        st.latex(r"\frac{\partial z}{\partial \mu} = 1, \qquad \frac{\partial z}{\partial \sigma} = \varepsilon")
        st.button("Draw a new eps", on_click=bump, args=(M + "eps_seed",), key=P + "new_eps",
                  icon=":material/casino:", type="primary")
    with right:
        shown = min(D, SHOWN_DIMS)
        rep = pd.DataFrame({"dim": [dim_name(d) for d in range(shown)], "eps": ex["eps"][:shown],
                            "sigma": ex["sigma"][:shown], "sigma·eps": ex["sigma_eps"][:shown],
                            "mu": mu[:shown], "z = mu + sigma·eps": ex["z"][:shown]})
        st.dataframe(rep.round(3), hide_index=True, key=P + "rep_table")
        if D > SHOWN_DIMS:
            st.caption(f"The first {SHOWN_DIMS} of {D} dimensions; the others follow the same rule.")
        st.caption(f"eps draw #{st.session_state[M + 'eps_seed']} (seeded, so a lecture can repeat it).")

# ---------------------------------------------------------------- 3. decoder
st.divider()
st.subheader("3. The decoder p(x|z)")
lik = "Bernoulli" if cfg.likelihood == "bernoulli" else "Gaussian"
st.markdown(f"The decoder maps z to the parameters of a **{lik}** distribution over every pixel; "
            "the images show its mean.")
cols = st.columns(2 if AE else 3)
with cols[0]:
    show_image(x.numpy(), caption="x, the input", target=300)
if AE:
    with cols[1]:
        show_image(ex["decoded_mu"], caption=f"decoded z = mu(x); -log p(x|z) = {ex['recon_at_mu']:.2f}", target=300)
else:
    with cols[1]:
        show_image(ex["decoded_z"], caption=f"mean of p(x|z) for this z; -log p(x|z) = {ex['recon']:.2f}", target=300)
    with cols[2]:
        show_image(ex["decoded_mu"], caption=f"mean of p(x|z = mu); -log p(x|mu) = {ex['recon_at_mu']:.2f}",
                   target=300)
    st.caption("Draw a new eps above: z moves inside q(z|x) and the middle image changes; the right one, "
               "decoded at mu, does not.")

# ---------------------------------------------------------------- 4. the loss
st.divider()
st.subheader("4. The loss: reconstruction only" if AE else "4. The loss: negative ELBO = reconstruction + KL")
m1, m2, m3 = st.columns(3)
m1.metric("Reconstruction −log p(x|z)", f"{ex['recon']:.2f}", help="nats, summed over pixels, for this z")
if AE:
    m2.metric("KL(q(z|x) ‖ p(z))", "none", help="An autoencoder has no q(z|x) and no prior: no KL term.")
    m3.metric("Autoencoder loss", f"{ex['recon']:.2f}", help="the reconstruction term alone")
    st.info("An autoencoder is trained on the reconstruction term only; without the KL term it defines no "
            "ELBO and no likelihood p(x).")
else:
    m2.metric("KL(q(z|x) ‖ p(z))", f"{ex['kl']:.2f}", help=kind.kl_help)
    m3.metric("Negative ELBO", f"{ex['neg_elbo']:.2f}", help="reconstruction + KL, nats")
if not AE:
    st.latex(r"\mathrm{ELBO}(x) = \mathbb{E}_{q(z|x)}\!\left[\log p(x \mid z)\right] - "
             r"\mathrm{KL}\!\left(q(z \mid x)\,\|\,p(z)\right) \;\le\; \log p(x)")
    st.latex(kind.kl_formula)
    st.caption(kind.kl_caption)
if cfg.likelihood == "bernoulli":
    st.markdown("**Likelihood in use: Bernoulli**, the binary cross-entropy summed over pixels, with "
                "p = decoder(z) the mean image:")
    st.latex(r"-\log p(x \mid z) = -\sum_{j}\left[x_j \log p_j + (1 - x_j)\log(1 - p_j)\right]")
else:
    how = "learned per pixel" if cfg.gaussian_variance == "learned" else f"fixed at {cfg.gaussian_sigma:g}"
    st.markdown(f"**Likelihood in use: Gaussian**, with mean m = decoder(z) and sigma {how}:")
    st.latex(r"-\log p(x \mid z) = \sum_{j}\left[\frac{(x_j - m_j)^2}{2\sigma_j^2} + \log\sigma_j + "
             r"\tfrac12\log 2\pi\right]")
if beta != 1.0:
    st.warning(f"This model was trained with β = {beta:g} (a β-VAE): it minimised reconstruction + "
               f"{beta:g} × KL. The numbers here are the plain negative ELBO (β = 1), like the recorded "
               "test metrics.")
    st.latex(rf"\mathcal{{L}}_\beta(x) = -\mathbb{{E}}_q[\log p(x \mid z)] + {beta:g}\,"
             r"\mathrm{KL}\!\left(q(z \mid x)\,\|\,p(z)\right)")

with friendly_errors("Averaging the loss over the stored images"):
    avg = loaded.sample_loss()
    metrics = ckpt.meta.get("metrics") or {}
    rows = [("This image" if AE else "This image, this eps", ex["recon"], ex["kl"], ex["neg_elbo"]),
            (f"Mean over the {avg['n']} stored test images (one z each, seed {avg['seed']})",
             avg["recon"], avg["kl"], avg["neg_elbo"])]
    if "test_neg_elbo" in metrics:
        n_test = ckpt.meta.get("n_test")
        rows.append((f"Test set at the end of training ({n_test or '?'} images, recorded in meta.json)",
                     metrics.get("test_recon"), metrics.get("test_kl"), metrics["test_neg_elbo"]))
    table = pd.DataFrame(rows, columns=["Source", "Reconstruction", "KL", "Negative ELBO"])
    if AE:
        table = table.drop(columns=["KL"]).rename(columns={"Negative ELBO": "Loss"})
    st.markdown("**Where the numbers come from** (nats per image)")
    st.table(table.set_index("Source").astype(float).map(lambda v: f"{v:.2f}"))
    if "test_neg_elbo" not in metrics:
        st.caption("This checkpoint records no test metrics.")

# ---------------------------------------------------------------- 5. prior
st.divider()
st.subheader(f"5. The prior p(z) = {prior.name} and new images")
st.latex(kind.prior_formula + r", \qquad z \sim p(z) \;\Rightarrow\; x \sim p(x \mid z)")
if P + "prior_seed" not in st.session_state:
    st.session_state[P + "prior_seed"] = 0
prior_codes = prior.sample(PRIOR_ROW, 1.0, seed=int(st.session_state[P + "prior_seed"]))
url_state.write("prior", int(st.session_state[P + "prior_seed"]) or None)
prior_images = decode_batch(model, prior_codes, y)
show_grid(prior_images, ncols=PRIOR_ROW, cell=110,
          caption=f"{PRIOR_ROW} draws z ~ {prior.name}, decoded"
          + (f" with class {class_name(ckpt, y)}, the chosen image's" if y is not None else ""))
st.button("New prior samples", on_click=bump, args=(P + "prior_seed",), key=P + "new_prior", icon=":material/casino:")
all_mu, all_logvar = loaded.encodings()
if AE:
    spread = all_mu.std(axis=0)
    st.warning("Why these look poor: an autoencoder was never asked to make its codes follow N(0, I). "
               "Nothing pulls them toward the prior, so they sit wherever training put them, with gaps between "
               "clusters, and prior draws land where the decoder learned nothing. The KL term of a VAE is what "
               f"shapes the codes to the prior. Here the stored codes' standard deviation per dimension ranges "
               f"from {spread.min():.2f} to {spread.max():.2f}, against 1 for the prior.")
else:
    # the aggregate posterior (the mixture of every q(z|x)) has variance Var(mu) + E[sigma^2] per dimension
    spread, (lo, hi) = np.sqrt(all_mu.var(axis=0) + np.exp(all_logvar).mean(axis=0)), np.sort(prior.std())[[0, -1]]
    prior_says = f"{lo:g}" if hi - lo < 1e-9 else f"from {lo:.2f} to {hi:.2f}"
    st.caption("Generating needs no encoder: draw z from the prior and decode. This works because the KL term "
               f"pulled every q(z|x) toward {prior.name} during training. Over the stored images, the mixture of all "
               "q(z|x) has a standard deviation per dimension from "
               f"{spread.min():.2f} to {spread.max():.2f}; the prior's is {prior_says}.")

# ---------------------------------------------------------------- 6. training history
st.divider()
st.subheader("6. Training")
history = ckpt.meta.get("history") or []
if history:
    epochs = [h.get("epoch", k + 1) for k, h in enumerate(history)]
    st.markdown("**Test loss per epoch**")
    fig = go.Figure()
    series = [("test_neg_elbo", "test negative ELBO" if not AE else "test loss"), ("test_recon", "test reconstruction")]
    if not AE:
        series.append(("test_kl", "test KL"))
    for key, name in series:
        fig.add_trace(go.Scatter(x=epochs, y=[h.get(key) for h in history], mode="lines", name=name))
    fig.update_layout(xaxis_title="epoch", yaxis_title="nats per image")
    st.plotly_chart(fig_style(fig, 380), key=P + "history_chart")
    st.caption("The recorded history of this checkpoint: the negative ELBO falls as the reconstruction improves, "
               "while the KL typically rises as the codes start to carry information about x.")
else:
    st.info("This checkpoint records no training history.")
