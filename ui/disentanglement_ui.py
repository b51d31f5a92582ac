"""Disentanglement, on models whose stored test images carry the factors that made them (the sprites: shape, scale,
orientation, x, y): the Trade-offs page's view of MIG and DCI along a family of models, and the factor each latent
dimension tells most of (the label of its traversal row on Generate).

The numbers are vae_core.analysis.disentanglement's, on the stored test images' means mu (the representation
common practice scores) and their factors; each model's are computed once (ui.loaded_model.LoadedModel's
factor_mig, milliseconds, and factor_dci, seconds per model: DCI fits gradient-boosted trees). Asked of the model: its stored sample's ``factors`` and ``factor_names``, nothing of its kind.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from vae_core.model.activity import INACTIVE_KL

from . import url_state
from .common import explanation
from .loaded_model import LoadedModel, loaded_model
from .map_plot import hall_style

MEASURES = (("mig", "MIG"), ("disentanglement", "DCI disentanglement"), ("completeness", "DCI completeness"),
            ("informativeness", "DCI informativeness"))
FAMILY_KEY = "tradeoffs_dis_family"
MEMBER_KEY = "tradeoffs_dis_member"


def has_factors(loaded: LoadedModel) -> bool:
    """The model's stored test images carry their generative factors (a dataset made from known factors)."""
    sample = loaded.checkpoint.sample
    return sample is not None and len(sample.labels) > 1 and getattr(sample, "factors", None) is not None


def dimension_factors(loaded: LoadedModel) -> list[tuple[str, float, bool]] | None:
    """For each latent dimension: (the factor it tells most of, the share of that factor it tells, I(z_j; v_k) /
    H(v_k), whether the dimension is used); None for a model without factors."""
    if not has_factors(loaded):
        return None
    from vae_core.analysis.disentanglement import dimension_factors as by_dimension

    names = list(loaded.checkpoint.sample.factor_names)
    activity, score = loaded.activity()
    used = activity >= INACTIVE_KL if score == "KL" else np.ones(len(activity), bool)
    return [(names[k], share, bool(used[j])) for j, (k, share) in enumerate(by_dimension(loaded.factor_mig()))]


def dimension_label(found: list[tuple[str, float, bool]] | None, d: int) -> str:
    """A traversal row's words: "x position (0.62)", the factor and the share of it the dimension tells, or that the
    dimension is unused."""
    if not found:
        return ""
    factor, share, used = found[d]
    return f"{factor} ({share:.2f})" if used else f"unused ({factor} {share:.2f})"


# ---------------------------------------------------------------- the Trade-offs view


def _families_with_factors(families):
    return [f for f in families if f.members and all(has_factors(loaded_model(m.path)) for m in f.members)]


def _scores_of(family, bar) -> list[dict]:
    rows = []
    for i, m in enumerate(family.members):
        def step(fraction: float, text: str, i=i, m=m) -> None:
            bar.progress(min((i + fraction) / len(family.members), 1.0), text=f"{m.name}: {text}")

        member = loaded_model(m.path)
        scores = member.factor_dci(progress=step)
        rows.append({"member": m.name, "knob": m.knob, "order": m.order, "path": str(m.path),
                     "mig": member.factor_mig().score, "disentanglement": scores.disentanglement,
                     "completeness": scores.completeness, "informativeness": scores.informativeness})
    return rows


def _chart(rows: list[dict], knob: str, chosen: str | None) -> go.Figure:
    fig = go.Figure()
    x = [r["knob"] for r in rows]
    for (key, name), dash, symbol, colour in zip(MEASURES, ("solid", "dash", "dot", "dashdot"),
                                                 ("circle", "square", "diamond", "triangle-up"),
                                                 ("#1d4ed8", "#0e7490", "#b91c1c", "#6d28d9")):
        fig.add_trace(go.Scatter(x=x, y=[r[key] for r in rows], mode="lines+markers", name=name,
                                 line=dict(width=3, dash=dash, color=colour),
                                 marker=dict(size=10, symbol=symbol, color=colour),
                                 customdata=[[r["path"]] for r in rows],
                                 hovertemplate=f"{knob} %{{x}}: {name} %{{y:.2f}}<extra></extra>"))
    if chosen is not None:
        fig.add_vline(x=x.index(chosen) if chosen in x else 0, line=dict(color="#6b7280", width=2, dash="dot"),
                      annotation_text="shown below", annotation_position="top")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=10, b=10), font=dict(size=15),
                      xaxis=dict(title=knob, type="category"), yaxis=dict(title="score (1 is best)", range=[0, 1.02]),
                      legend=dict(orientation="h", y=1.12))
    return hall_style(fig)


def _mi_heatmap(loaded: LoadedModel) -> go.Figure:
    """The share of each factor (columns) each dimension (rows) tells, I(z_j; v_k) / H(v_k); the largest of each
    row marked."""
    share = loaded.factor_mig().normalized
    names = list(loaded.checkpoint.sample.factor_names)
    rows = [f"z{j + 1}" for j in range(share.shape[0])]
    best = share.argmax(1)
    text = [[("● " if k == best[j] else "") + f"{share[j, k]:.2f}" for k in range(share.shape[1])]
            for j in range(share.shape[0])]
    fig = go.Figure(go.Heatmap(z=share, x=names, y=rows, zmin=0, zmax=max(float(share.max()), 1e-6),
                               colorscale="Blues", text=text, texttemplate="%{text}",
                               colorbar=dict(title="I / H"), hovertemplate="%{y}, %{x}: %{z:.2f}<extra></extra>"))
    fig.update_layout(height=60 + 34 * len(rows), margin=dict(l=10, r=10, t=10, b=10), font=dict(size=14),
                      yaxis=dict(autorange="reversed"))
    return hall_style(fig)


def disentanglement_tab(families) -> None:
    """MIG and DCI of each member of a family of models trained on images with known factors, along its knob;
    the chosen member's share of each factor per dimension."""
    explanation("A representation is **disentangled** when each latent dimension follows one of the factors that "
                "made the images, and each factor is told by one dimension. **MIG** (Chen et al. 2018): for each "
                "factor, the gap between the two dimensions that tell most about it, over its entropy. **DCI** "
                "(Eastwood & Williams 2018): predictors of each factor from all dimensions; *disentanglement*: each "
                "dimension matters to one factor; *completeness*: each factor rests on one dimension; "
                "*informativeness*: how well the factors are predicted on images the predictors did not see. All on "
                "the stored test images' mu.")
    found = _families_with_factors(families)
    if not found:
        st.info("No family of models here was trained on images with known factors (the sprites). Build them with "
                "bash checkpoints/rebuild.sh.")
        return
    names = [f.name for f in found]
    url_state.take_choice("family", FAMILY_KEY, {n: n for n in names}, "family")
    if st.session_state.get(FAMILY_KEY) not in names:
        st.session_state[FAMILY_KEY] = names[0]
    family = found[names.index(st.selectbox("Family", names, key=FAMILY_KEY,
                                            format_func=lambda n: found[names.index(n)].title))]
    url_state.write("family", family.name)
    bar = st.progress(0.0, text="Scoring each member's codes against the factors (DCI fits trees: about ten "
                                "seconds a model, once per server)...")
    try:
        rows = _scores_of(family, bar)
    finally:
        bar.empty()
    members = [r["member"] for r in rows]
    current = st.session_state.get("model_path")
    default = next((r["member"] for r in rows if r["path"] == current), members[-1])
    if st.session_state.get(MEMBER_KEY) not in members:
        st.session_state[MEMBER_KEY] = default
    chosen = st.session_state[MEMBER_KEY]
    with st.container(key="main_figure"):
        st.plotly_chart(_chart(rows, family.knob, next(r["knob"] for r in rows if r["member"] == chosen)),
                        key="tradeoffs_dis_chart", config={"displayModeBar": False})
    st.dataframe([{family.knob: r["knob"], "model": r["member"], "MIG": round(r["mig"], 3),
                   "D": round(r["disentanglement"], 3), "C": round(r["completeness"], 3),
                   "I": round(r["informativeness"], 3)} for r in rows], hide_index=True)
    member = st.selectbox("Which factor each dimension tells, for", members, key=MEMBER_KEY)
    loaded = loaded_model(next(r["path"] for r in rows if r["member"] == member))
    st.plotly_chart(_mi_heatmap(loaded), key="tradeoffs_dis_mi", config={"displayModeBar": False})
    st.caption("Each cell: the share of a factor (column) a dimension (row) tells, I(z_j; v_k) / H(v_k), with each "
               "dimension's mu cut into 20 bins; ● marks the factor each dimension tells most of, which names its "
               "row on Generate's traversal. A collapsed dimension (KL near 0) tells nearly nothing.")
