"""A Plotly figure built once and shown again as built.

st.plotly_chart asks the figure for its dict on every run, and Plotly answers with a deep copy of everything
the figure holds (1,000 points of a scatter: about 1.5 ms each time). A figure kept for a view
(LoadedModel.recent) never changes, so it can hand out the one dict it made first.
"""
from __future__ import annotations

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
