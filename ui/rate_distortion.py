"""The Trade-offs page's rate-distortion view: a family of models on the plane of rate (the KL term) against
distortion (the reconstruction term), with lines of equal -ELBO; the KL each latent dimension carries for each
member; the chosen member's reconstructions and prior samples. A click on a member loads it on every page."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core.model.activity import active_units
from vae_core.store.families import Family, Member, family_of, load_families
from vae_core.store.paths import BUNDLED_DIR
from vae_core.render.images import to_uint8

from . import url_state
from .images import show_grid
from .loaded_model import loaded_model
from .map_plot import hall_style
from .model_choices import stamp
from .models_ui import on_images, pick_images, prior_samples

CHART_KEY = "tradeoffs_rd_chart"
COLOURS = {"selected": "#dc2626", "member": "#4f46e5"}


def _families_stamp() -> str:
    """Changes when families.json or any bundled checkpoint is rewritten (a rebuilt member)."""
    parts = [stamp(p) for p in sorted(BUNDLED_DIR.iterdir()) if p.is_dir()]
    try:
        parts.append(str((BUNDLED_DIR / "families.json").stat().st_mtime_ns))
    except OSError:
        parts.append("none")
    return "|".join(parts)


@st.cache_resource(max_entries=4, show_spinner="Reading the families of models...")
def _families(families_stamp: str) -> list[Family]:
    return load_families()


def families() -> list[Family]:
    return _families(_families_stamp())


def _load_member(path: str) -> None:
    st.session_state.model_path = path


def _on_click() -> None:
    state = st.session_state.get(CHART_KEY) or {}
    points = (state.get("selection") or {}).get("points") or []
    for pt in points:
        custom = pt.get("customdata")
        if isinstance(custom, (list, tuple)) and custom:
            _load_member(str(custom[0]))
            return
        if isinstance(custom, str):
            _load_member(custom)
            return


def _label_sides(rates: np.ndarray, dist: np.ndarray, span: float, x_range: tuple[float, float]) -> list[str]:
    """Where each point's label goes: above right, or below right when an earlier point is close (two collapsed
    models at rate ~0 would write their labels over each other); on the left for a point in the plot's right
    quarter, whose label would be cut off at the plot's edge on a phone."""
    sides = []
    for i in range(len(rates)):
        near = any(abs(rates[i] - rates[j]) < 0.08 * span and abs(dist[i] - dist[j]) < 0.08 * span and
                   sides[j].startswith("top") for j in range(i))
        right = rates[i] < x_range[0] + 0.75 * (x_range[1] - x_range[0])
        sides.append(("bottom " if near else "top ") + ("right" if right else "left"))
    return sides


def _elbo_levels(low: float, high: float, count: int = 4) -> list[float]:
    """``count`` round values of -ELBO spread evenly inside (low, high): the plot's corners' sums."""
    step = (high - low) / (count + 1)
    nice = 10 ** np.floor(np.log10(step)) if step > 0 else 1.0
    nice = next(m * nice for m in (1, 2, 2.5, 5, 10) if m * nice >= step * 0.6)
    levels = sorted({round(float(np.round((low + k * step) / nice) * nice), 6) for k in range(1, count + 1)})
    return [c for c in levels if low < c < high]


def _label_spot(c: float, box: tuple[float, float, float, float], rates: np.ndarray,
                dist: np.ndarray) -> tuple[float, float] | None:
    """Where on the line rate + distortion = c its label goes: of the places on the line inside the plot (away
    from its edges), the one furthest from every point and from the label beside each point (_label_sides; in
    the plot's own units, 0..1 on both axes). None when the line does not cross the plot."""
    r0, r1, d0, d1 = box
    t = np.linspace(0.0, 1.0, 41)
    xs = r0 + t * (r1 - r0)
    ys = c - xs
    u, v = (xs - r0) / (r1 - r0), (ys - d0) / (d1 - d0)
    inside = (u > 0.1) & (u < 0.9) & (v > 0.06) & (v < 0.94)
    if not inside.any():
        return None
    pu, pv = (rates - r0) / (r1 - r0), (dist - d0) / (d1 - d0)
    along = np.linspace(0, 1, 9)[:, None]  # the line joining the members, as points along it
    path = np.concatenate([np.stack([pu[i] + along[:, 0] * (pu[i + 1] - pu[i]), pv[i] + along[:, 0] * (pv[i + 1] - pv[i])], 1)
                           for i in range(len(pu) - 1)] or [np.zeros((0, 2))])
    beside = np.where(pu < 0.75, pu + 0.1, pu - 0.1)  # where _label_sides puts each point's label
    marks = np.concatenate([np.stack([pu, pv], 1), np.stack([beside, pv], 1), path])  # points, labels, path
    gaps = np.min(np.hypot(u[:, None] - marks[None, :, 0], (v[:, None] - marks[None, :, 1]) * 1.6), axis=1)
    best = int(np.argmax(np.where(inside, gaps, -1.0)))
    return float(xs[best]), float(ys[best])


def precise_members(family: Family) -> tuple[Family, dict[str, object]]:
    """The family with each member's distortion as precise as 0.1 nats: where one z per image leaves a larger
    standard error (a sharp Gaussian p(x|z)), the distortion is estimated again with more draws on the stored
    test images (ui.loaded_model.LoadedModel.precise_loss); returns those estimates by member name."""
    refined, members = {}, []
    with st.spinner("Checking how precise each member's distortion is..."):
        for m in family.members:
            est = loaded_model(m.path).precise_loss()
            if est is not None:
                refined[m.name] = est
                m = replace(m, distortion=float(est.terms["recon"]))
            members.append(m)
    return replace(family, members=tuple(members)), refined


def _plane(family: Family, chosen: Member | None) -> go.Figure:
    rates = np.array([m.rate for m in family.members])
    dist = np.array([m.distortion for m in family.members])
    span = max(rates.max() - rates.min(), dist.max() - dist.min(), 1.0)
    r0, r1 = min(0.0, rates.min()) - 0.08 * span, rates.max() + 0.15 * span
    d0, d1 = dist.min() - 0.12 * span, dist.max() + 0.12 * span
    fig = go.Figure()
    # lines of equal -ELBO: distortion + rate = c, slope -1 (the ELBO cannot tell these points apart); four of
    # them across the plane, each labelled on the line where it is furthest from the points and their labels
    box = (r0, r1, d0, d1)
    for c in _elbo_levels(r0 + d0, r1 + d1):
        fig.add_trace(go.Scatter(x=[r0, r1], y=[c - r0, c - r1], mode="lines", hoverinfo="skip", showlegend=False,
                                 line=dict(color="rgba(120,120,120,0.55)", width=1, dash="dot")))
        spot = _label_spot(c, box, rates, dist)
        if spot is not None:
            fig.add_annotation(x=spot[0], y=spot[1], text=f"-ELBO {c:g}", showarrow=False, xanchor="center",
                               yanchor="middle", font=dict(size=12, color="#4b4b4b"), bgcolor="rgba(255,255,255,0.85)")
    fig.add_trace(go.Scatter(
        x=rates, y=dist, mode="lines+markers+text", showlegend=False, customdata=[[str(m.path)] for m in family.members],
        text=[f"{'beta' if family.knob == 'beta' else 'sigma'} {m.knob}" for m in family.members],
        textposition=_label_sides(rates, dist, span, (r0, r1)), line=dict(color="rgba(79,70,229,0.35)", width=2),
        marker=dict(size=13, color=[COLOURS["selected"] if m == chosen else COLOURS["member"] for m in family.members],
                    line=dict(color="white", width=1.5)),
        hovertemplate="%{text}<br>rate (KL) %{x:.2f} nats<br>distortion %{y:.2f} nats<br>click to load<extra></extra>"))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=10), font=dict(size=14), clickmode="event+select",
                      dragmode="pan", xaxis=dict(title="rate: KL(q(z|x) || p(z)),<br>nats per image", range=[r0, r1]),
                      yaxis=dict(title="distortion: -log p(x|z),<br>nats per image", range=[d0, d1]),
                      uirevision=family.name)
    return hall_style(fig)


def _precision_note(family: Family, refined: dict) -> str:
    """How each distortion was estimated: one z per image, or more with its standard error."""
    knob = "beta" if family.knob == "beta" else "sigma"
    exact = all(loaded_model(m.path).loss_estimate(2).std_errors.get("kl", 0.0) == 0.0 for m in family.members)
    text = (("The rate has a closed form here; " if exact else "") + "the distortion is a Monte-Carlo estimate "
            "with one z drawn per test image, precise to 0.1 nats")
    if not refined:
        return text + " for every member."
    parts = [f"{knob} {m.knob}: {e.samples} draws per image over its {e.n_images:,} stored test images, standard "
             f"error {e.std_errors['recon']:.2f}" for m in family.members if (e := refined.get(m.name))]
    return text + " except where one draw is noisier; there: " + "; ".join(parts) + " (nats)."


def _kl_table(family: Family) -> None:
    """KL per latent dimension for each member (which units collapse as beta grows) and its active units."""
    rows, names, actives = [], [], []
    for m in family.members:
        loaded = loaded_model(m.path)
        score, name = loaded.activity()
        mu, _ = loaded.encodings()
        rows.append(score if name == "KL" else np.full(len(score), np.nan))
        names.append(f"{'beta' if family.knob == 'beta' else 'sigma'} {m.knob}")
        actives.append(active_units(mu)[0] if len(mu) else 0)
    d = max(len(r) for r in rows)
    z = np.array([np.pad(r, (0, d - len(r)), constant_values=np.nan) for r in rows])
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"z{i + 1}" for i in range(d)], y=names, colorscale="Blues", zmin=0, colorbar=dict(title="nats"),
        text=np.where(np.isnan(z), "", np.round(z, 2).astype(str)), texttemplate="%{text}" if d <= 8 else None,
        hovertemplate="%{y}, %{x}: average KL %{z:.3f} nats<extra></extra>"))
    fig.update_layout(height=max(220, 44 * len(names) + 80), margin=dict(l=10, r=10, t=10, b=10), font=dict(size=13),
                      yaxis=dict(autorange="reversed"))
    st.plotly_chart(hall_style(fig), key="tradeoffs_rd_kl", config={"displayModeBar": False})
    st.caption("Average KL(q(z_i|x) || p(z_i)) of each latent dimension over the stored test images: a dimension "
               "near 0 has collapsed onto the prior and carries nothing. Active units (the variance of mu above "
               "0.01, Burda et al.): " + ", ".join(f"{n}: {a} of {d}" for n, a in zip(names, actives)) + "."
               + (" An autoencoder has no KL: its row is empty." if any(np.isnan(r).all() for r in z) else ""))


def rate_distortion_tab() -> None:
    fams = families()
    built = [f for f in fams if len(f.members) >= 2]
    if not built:
        st.warning("No family of models is built here: bash checkpoints/rebuild.sh trains them.")
        return
    current = str(st.session_state.get("model_path") or "")
    current_family = family_of(current.rstrip("/").rsplit("/", 1)[-1], built)
    names = {f.name: f for f in built}
    url_state.take_choice("family", "tradeoffs_family", {n: n for n in names}, "family")
    if st.session_state.get("tradeoffs_family") not in names:
        st.session_state.tradeoffs_family = current_family.name if current_family else built[0].name
    family = names[st.selectbox("Family", list(names), key="tradeoffs_family",
                                format_func=lambda n: names[n].title)]
    url_state.write("family", family.name)
    family, refined = precise_members(family)
    chosen = next((m for m in family.members if str(m.path) == current), None)
    left, right = st.columns([3, 2], gap="large")
    with left, st.container(key="main_figure"):
        st.plotly_chart(_plane(family, chosen), key=CHART_KEY, on_select=_on_click, selection_mode=("points",),
                        config={"displayModeBar": False})
    with right:
        if chosen is None:
            st.info("Click a point to load that model (on every page). The loaded model is not of this family.")
        else:
            knob = "beta" if family.knob == "beta" else "sigma"
            st.markdown(f"**{chosen.name}** · {chosen.kind_title}, {knob} = {chosen.knob}")
            c1, c2, c3 = st.columns(3)
            c1.metric("rate (KL)", f"{chosen.rate:.2f}")
            est = refined.get(chosen.name)
            c2.metric("distortion", f"{chosen.distortion:.2f}", help=None if est is None else
                      f"{est.samples} draws of z per image; standard error {est.std_errors['recon']:.2f} nats")
            c3.metric("-ELBO", f"{chosen.neg_elbo:.2f}")
        st.caption("Each point is one model of the family, trained with the same recipe, at its test set's mean "
                   "rate and distortion (nats per image). The ELBO adds them: on a dotted line every model has the "
                   "same -ELBO. " + ("A larger beta buys a smaller rate (posteriors closer to the prior) with a "
                                     "larger distortion (blurrier reconstructions); beta = 0 is an autoencoder, "
                                     "with no rate constraint at all." if family.knob == "beta" else
                                     "A Gaussian's sigma weighs the reconstruction: a small sigma makes every pixel's "
                                     "error costly (sharp reconstructions, a large rate), a large one cheap "
                                     "(blurry, a small rate); a learned sigma finds its own balance. Distortions "
                                     "of different sigmas are different likelihoods, so only the sum is comparable."))
        st.caption(_precision_note(family, refined))
        if family.missing:
            st.caption(f"Not built here: {', '.join(family.missing)} (bash checkpoints/rebuild.sh).")
    _kl_table(family)
    if chosen is not None:
        _what_it_makes(chosen)


def _what_it_makes(member: Member) -> None:
    ckpt = loaded_model(member.path).checkpoint
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        return
    x, y = pick_images(ckpt, 8, 0)
    res = on_images(ckpt, x, y)
    a, b = st.columns(2, gap="large")
    with a:
        show_grid(np.concatenate([to_uint8(x.numpy()), res.recon]), ncols=8, cell=72,
                  alt=f"8 test images in the top row and, below each, {member.name}'s reconstruction of it",
                  caption=f"{member.name}: 8 test images (top) and their reconstructions "
                                            "decode(mu(x)) (bottom)")
    with b:
        samples = prior_samples(ckpt)
        if samples is None:
            st.info(f"{member.name} is an autoencoder: it has no prior to sample from.")
        else:
            show_grid(samples, ncols=8, cell=72, caption=f"{member.name}: 16 samples from the prior, decoded",
                      alt=f"16 images {member.name} decodes from z drawn from its prior, in rows of 8")
