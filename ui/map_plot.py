"""The latent map as a Plotly figure, what a click on it means, and image previews on hover.

The figure holds, bottom to top: an invisible grid of clickable points (so a click on empty space
still selects something: a map location to decode), the prior's 1-2-3 sigma circles, the 1-sigma
ellipses of q(z|x), one scatter trace per class, and a marker on the chosen location.
Plotly cannot put images in a hover label, so a small component listens to the chart's hover
events in the page and shows the hovered image next to the cursor.
"""
from __future__ import annotations

import functools

import json
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .component_data import component, component_data
from .palette import class_colours

GRID_INDEX = -1  # customdata[0] of the invisible grid points; sample points carry their image index
SAMPLE_META = "sample"
GRID_META = "grid"
FONT_SIZE = 16


@dataclass(frozen=True)
class MapTarget:
    """What a click chose: an encoded image (index into the sample) or a location on the map."""

    kind: str  # "point" or "location"
    index: int = -1  # the image's index in the stored sample, for "point"
    x: float = 0.0  # map coordinates, for "location"
    y: float = 0.0


def parse_selection(selection) -> MapTarget | None:
    """The last clicked point of a Streamlit Plotly selection, or None when nothing usable was selected."""
    points = (selection or {}).get("points") or []
    for pt in reversed(points):
        custom = pt.get("customdata")
        if isinstance(custom, dict):  # a typed array comes back as {"0": value, ...}
            custom = [custom[k] for k in sorted(custom, key=lambda k: int(k) if str(k).isdigit() else 0)]
        if isinstance(custom, (list, tuple)) and custom:
            try:
                idx = int(custom[0])
            except (TypeError, ValueError):
                continue
            if idx >= 0:
                return MapTarget("point", index=idx)
            try:
                x, y = float(pt["x"]), float(pt["y"])
            except (KeyError, TypeError, ValueError):
                continue
            if np.isfinite(x) and np.isfinite(y):
                return MapTarget("location", x=x, y=y)
    return None


def _grid_trace(grid: np.ndarray) -> go.Scattergl | go.Scatter:
    return go.Scatter(
        x=grid[:, 0], y=grid[:, 1], mode="markers", name="click to decode", showlegend=False, meta=GRID_META,
        # Large invisible markers: Plotly's "closest" hover subtracts the marker radius but floors the distance
        # at 1 - 3/radius, so a big grid marker never beats a data point under the cursor.
        marker=dict(size=32, opacity=0, color="#000", symbol="circle-open", line=dict(width=3)),
        customdata=[[GRID_INDEX]] * len(grid),
        hovertemplate="(%{x:.2f}, %{y:.2f})<br>click to decode here<extra></extra>",
        # the clicked grid point turns into a ring: Plotly restyles a selection without redrawing the chart
        selected=dict(marker=dict(opacity=1, size=22)), unselected=dict(marker=dict(opacity=0)),
    )


def latent_map_figure(emb: np.ndarray, labels: np.ndarray, indices: np.ndarray, class_names: list[str], *,
                      axis_titles: tuple[str, str], grid: np.ndarray | None = None,
                      extent: tuple[float, float, float, float] | None = None, equal_axes: bool = False,
                      prior: list[tuple[float, np.ndarray, np.ndarray]] | None = None,
                      ellipses: tuple[np.ndarray, np.ndarray] | None = None,
                      highlight: tuple[float, float] | None = None, height: int = 720,
                      prior_name: str = "N(0, I)") -> go.Figure:
    """emb (N, 2) map coordinates of the images ``indices`` with class ``labels``; one trace per class."""
    fig = go.Figure()
    if grid is not None:
        fig.add_trace(_grid_trace(grid))
    for radius, x, y in prior or []:
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=f"prior {radius:g} sigma", showlegend=radius == 1.0,
                                 legendgroup="prior", hoverinfo="skip",
                                 line=dict(color="rgba(60,60,60,0.55)", width=1.5, dash="dash")))
        at = int(np.nanargmax(x + y)) if np.isfinite(x + y).any() else 0  # the outline's upper right (45° on a circle)
        fig.add_annotation(x=x[at], y=y[at], text=f"{radius:g}σ", showarrow=False,
                           font=dict(size=13, color="#555"), xshift=10, yshift=8)
    if prior:
        fig.data[-3 if len(prior) >= 3 else -1].name = f"prior {prior_name}: 1, 2, 3 sigma"
    if ellipses is not None:
        fig.add_trace(go.Scatter(x=ellipses[0], y=ellipses[1], mode="lines", name="q(z|x): 1 sigma",
                                 hoverinfo="skip", line=dict(color="rgba(80,80,80,0.35)", width=1)))
    colours = class_colours(max(len(class_names), int(labels.max()) + 1 if len(labels) else 1))
    for c in np.unique(labels) if len(labels) else []:
        sel = labels == c
        name = class_names[c] if c < len(class_names) else str(c)
        idx = indices[sel]
        fig.add_trace(go.Scatter(
            x=emb[sel, 0], y=emb[sel, 1], mode="markers", name=name, meta=SAMPLE_META,
            marker=dict(size=9, color=colours[c], line=dict(width=0.5, color="white")),
            customdata=np.stack([idx, np.full(len(idx), name, dtype=object)], 1),
            hovertemplate="<b>%{customdata[1]}</b> · image #%{customdata[0]}<extra></extra>",
            selected=dict(marker=dict(size=20)), unselected=dict(marker=dict(opacity=1)),
        ))
    if highlight is not None:
        fig.add_trace(go.Scatter(x=[highlight[0]], y=[highlight[1]], mode="markers", name="chosen",
                                 hoverinfo="skip", showlegend=False, unselected=dict(marker=dict(opacity=1)),
                                 marker=dict(size=22, symbol="circle-open", color="black", line=dict(width=3))))
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=90), font=dict(size=FONT_SIZE),
        legend=dict(orientation="h", x=0.5, xanchor="center", y=-0.1, yanchor="top", itemsizing="constant",
                    font=dict(size=FONT_SIZE)),
        hovermode="closest", clickmode="event+select", dragmode="zoom", uirevision="latent-map",
        hoverlabel=dict(font_size=FONT_SIZE),
        xaxis=dict(title=axis_titles[0], zeroline=equal_axes, zerolinecolor="#bbb"),
        yaxis=dict(title=axis_titles[1], zeroline=equal_axes, zerolinecolor="#bbb"),
    )
    if extent is not None:
        fig.update_xaxes(range=[extent[0], extent[1]])
        fig.update_yaxes(range=[extent[2], extent[3]])
    if equal_axes:
        fig.update_xaxes(constrain="domain")
        fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
    return fig


def hall_style(fig: go.Figure) -> go.Figure:
    """In presenter mode: chart text at presenter.CHART_FONT_PX and lines of 2.5 px or more, for a projector."""
    from . import presenter

    if not presenter.is_on():
        return fig
    size = presenter.chart_font_px()
    fig.update_layout(font=dict(size=size), legend=dict(font=dict(size=size)), hoverlabel=dict(font_size=size))
    fig.update_xaxes(tickfont=dict(size=size), title_font=dict(size=size))
    fig.update_yaxes(tickfont=dict(size=size), title_font=dict(size=size))
    fig.update_annotations(font_size=size)
    for trace in fig.data:
        line = getattr(trace, "line", None)
        if line is not None and getattr(trace, "mode", None) == "lines":
            line.width = presenter.line_px(line.width or 1)
            if line.color and "rgba(60,60,60" in str(line.color):  # the prior's circles: darker on a projector
                line.color = "rgba(40,40,40,0.85)"
        marker = getattr(trace, "marker", None)
        if marker is not None and getattr(trace, "meta", None) == SAMPLE_META:
            marker.size = max(marker.size or 9, 11)
    return fig


def class_legend(class_names: list[str], colours: list[str], present: list[int]) -> None:
    """One row of class chips (colour and name), for maps drawn without a legend of their own."""
    import html

    import streamlit as st

    chips = "".join(f'<span style="display:inline-flex;align-items:center;gap:.35em;margin-right:1.1em">'
                    f'<span style="width:.8em;height:.8em;border-radius:50%;background:{colours[c]};'
                    f'display:inline-block"></span>{html.escape(class_names[c] if c < len(class_names) else str(c))}'
                    f'</span>' for c in present)
    st.markdown(f'<div class="vae-class-legend" style="font-size:1rem;line-height:1.6">{chips}</div>',
                unsafe_allow_html=True)


def sample_traces(fig_json: str | dict) -> list[dict]:
    """The per-class traces of a figure (as its JSON spec), for checks and tests."""
    spec = json.loads(fig_json) if isinstance(fig_json, str) else fig_json
    return [t for t in spec.get("data", []) if t.get("meta") == SAMPLE_META]


HOVER_JS = """
export default function (component) {
  const { json: data } = unpack(component.data);
  // One shared state per page: a re-render updates the images; older timers notice and stop.
  const state = window.__vaeMapHover || (window.__vaeMapHover = { gen: 0 });
  state.sprite = (data && data.sprite) || null;  // every stored image on one sheet (render.thumbnail_sprite)
  state.selector = (data && data.selector) || "";
  const gen = ++state.gen;
  const SIZE = 112;  // px: the preview's longer side
  let tip = document.getElementById("vae-map-hover-tip");
  if (!tip) {
    tip = document.createElement("div");
    tip.id = "vae-map-hover-tip";
    Object.assign(tip.style, {
      position: "fixed", zIndex: 100000, pointerEvents: "none", display: "none",
      background: "white", border: "1px solid #999", borderRadius: "6px", padding: "4px",
      boxShadow: "0 2px 8px rgba(0,0,0,0.25)",
    });
    const img = document.createElement("div");
    img.className = "vae-hover-image";
    Object.assign(img.style, { imageRendering: "pixelated", backgroundRepeat: "no-repeat" });
    tip.appendChild(img);
    document.body.appendChild(tip);
  }
  const img = tip.firstChild;
  const show = (ev) => {
    const pt = ev && ev.points && ev.points[0];
    const s = state.sprite;
    const i = pt && pt.data && pt.data.meta === "sample" && pt.customdata ? Number(pt.customdata[0]) : -1;
    if (!s || !(i >= 0 && i < s.n)) { tip.style.display = "none"; return; }
    const scale = SIZE / Math.max(s.h, s.w);
    const w = Math.round(s.w * scale), h = Math.round(s.h * scale);
    Object.assign(img.style, {
      width: w + "px", height: h + "px", backgroundImage: `url("${s.uri}")`,
      backgroundSize: `${s.cols * w}px ${s.rows * h}px`,
      backgroundPosition: `${-(i % s.cols) * w}px ${-Math.floor(i / s.cols) * h}px`,
    });
    img.dataset.index = String(i);
    const e = ev.event || {};
    tip.style.left = Math.min((e.clientX || 0) + 18, window.innerWidth - SIZE - 18) + "px";
    tip.style.top = Math.min((e.clientY || 0) + 18, window.innerHeight - SIZE - 18) + "px";
    tip.style.display = "block";
  };
  const attach = () => {
    document.querySelectorAll(state.selector + " .js-plotly-plot").forEach((gd) => {
      if (gd.__vaeHoverAttached || typeof gd.on !== "function") return;
      gd.__vaeHoverAttached = true;
      gd.on("plotly_hover", show);
      gd.on("plotly_unhover", () => { tip.style.display = "none"; });
    });
  };
  attach();
  const timer = setInterval(() => { if (state.gen !== gen) { clearInterval(timer); return; } attach(); }, 500);
  return () => { clearInterval(timer); if (state.gen === gen) tip.style.display = "none"; };
}
"""


@functools.cache
def _hover_component():
    return component("vae_latent_map_hover", js=HOVER_JS)


def hover_previews(chart_key: str, sprite: dict) -> None:
    """Show the hovered image next to the cursor on the Plotly chart drawn with ``key=chart_key``.

    ``sprite`` is vae_core.render.images.thumbnail_sprite of the stored images; the chart's customdata[0]
    is the hovered image's index among them."""
    _hover_component()(key=f"{chart_key}_hover",
                       data=component_data({"selector": f".st-key-{chart_key}", "sprite": sprite}))
