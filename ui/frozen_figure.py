"""A Plotly figure built once and shown again as built.

st.plotly_chart asks the figure for its dict on every run, and Plotly answers with a deep copy of everything
the figure holds (1,000 points of a scatter: about 1.5 ms each time). A figure kept for a view
(LoadedModel.recent) never changes, so it can hand out the one dict it made first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import plotly.graph_objects as go


class FrozenFigure(go.Figure):
    """A go.Figure whose ``to_dict()`` is made once: change nothing in it after it is frozen (its dict, shared
    by every run and session that shows it, would not follow)."""

    def __init__(self, figure: go.Figure):
        super().__init__(figure)
        spec = super().to_dict()
        for trace in spec.get("data", []):
            trace.pop("uid", None)  # what plotly.io.to_json removes from the dict it is given
        self._frozen_spec = spec

    def to_dict(self) -> dict:
        return self._frozen_spec


_KEPT: OrderedDict[tuple, FrozenFigure] = OrderedDict()  # kept(): what a figure shows -> the figure
_KEPT_MAX = 64
_KEPT_LOCK = threading.Lock()


def kept(key: tuple, build: Callable[[], go.Figure]) -> FrozenFigure:
    """The figure ``key`` names (everything it shows, e.g. a training's id and how many epochs it has finished),
    built on first use and kept among the most recent: a fragment that redraws every second builds its figures
    again only when what they show changed."""
    with _KEPT_LOCK:
        if key in _KEPT:
            _KEPT.move_to_end(key)
            return _KEPT[key]
    figure = FrozenFigure(build())
    with _KEPT_LOCK:
        _KEPT[key] = figure
        while len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)
    return figure
