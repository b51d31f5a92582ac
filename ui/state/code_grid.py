"""The code grid's state (a model with a discrete latent, on the Latent sliders page): the grid of code indices
on screen, the stored image it started from, and what a click puts in a cell (the next code, or a chosen one).

The grid belongs to the loaded model and is forgotten when another is loaded. A link's ``point=12`` starts from
that stored image's codes; the address bar follows the start image. Every value is checked as it arrives: a
code is an integer in [0, K), a cell is inside the grid.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from .. import url_state

MODEL = "codes_model"  # the model the grid belongs to
GRID = "codes_grid"  # the grid on screen: a list of h lists of w code indices
START = "codes_start"  # the stored image the grid started from (None: random codes)
MODE = "codes_mode"  # what a click puts in a cell: "next" or "pick"
PICK = "codes_pick"  # the code a click puts in a cell in "pick" mode
CELL_ROW, CELL_COL = "codes_cell_row", "codes_cell_col"  # the cell the number inputs name (rows, cols from 1)
CHART = "codes_chart"  # the grid component's key
MODES = {"next": "Next code (k + 1)", "pick": "Chosen code"}


class CodeGrid:
    """The grid of one loaded model: ``codes`` (N, h, w) of its stored images and K codes."""

    def __init__(self, codes: np.ndarray, codebook_size: int, grid: tuple[int, int], path: str):
        self.codes, self.k, self.shape, self.path = codes, int(codebook_size), tuple(grid), path

    # ---------------------------------------------------------------- the start of a run

    def start(self) -> None:
        """A new model starts from its first stored image (or random codes without one); a link's point=."""
        ss = st.session_state
        if ss.get(MODEL) != self.path or not self._valid(ss.get(GRID)):
            ss[MODEL] = self.path
            for key in (CELL_ROW, CELL_COL, PICK):
                ss.pop(key, None)
            self.from_image(0) if len(self.codes) else self.random(0)
        ss.setdefault(MODE, "next")
        if not isinstance(ss.get(PICK), int) or not 0 <= ss[PICK] < self.k:
            ss[PICK] = 0
        if len(self.codes):
            point = url_state.link_index("point", len(self.codes), "one of this model's stored test images",
                                         "the grid stays as it was")
            if point is not None:
                self.from_image(point)
        url_state.write("point", ss.get(START))

    def _valid(self, grid) -> bool:
        try:
            arr = np.asarray(grid, np.int64)
        except (TypeError, ValueError):
            return False
        return arr.shape == self.shape and bool(((arr >= 0) & (arr < self.k)).all())

    # ---------------------------------------------------------------- changes (callbacks)

    def from_image(self, i: int) -> None:
        st.session_state[GRID] = self.codes[int(i)].tolist()
        st.session_state[START] = int(i)

    def random(self, seed: int | None = None) -> None:
        """Uniform random codes at every position: the stand-in prior of a model whose prior is not learned."""
        rng = np.random.default_rng(seed)
        st.session_state[GRID] = rng.integers(0, self.k, self.shape).tolist()
        st.session_state[START] = None

    def reset(self) -> None:
        """Back to the start image's own codes."""
        start = st.session_state.get(START)
        if start is not None and 0 <= start < len(self.codes):
            self.from_image(start)

    def change(self, row: int, col: int) -> None:
        """Change the code at (row, col) as the mode says: the next code (K - 1 wraps to 0), or the chosen one."""
        if not (0 <= row < self.shape[0] and 0 <= col < self.shape[1]):
            return
        grid = self.grid()
        grid[row, col] = (grid[row, col] + 1) % self.k if st.session_state.get(MODE) != "pick" else self.pick()
        st.session_state[GRID] = grid.tolist()

    def change_named_cell(self) -> None:
        """The number inputs' cell (rows and columns counted from 1)."""
        self.change(int(st.session_state.get(CELL_ROW, 1)) - 1, int(st.session_state.get(CELL_COL, 1)) - 1)

    # ---------------------------------------------------------------- reading

    def grid(self) -> np.ndarray:
        """(h, w) the code indices on screen."""
        return np.asarray(st.session_state[GRID], np.int64)

    def start_image(self) -> int | None:
        return st.session_state.get(START)

    def changed(self) -> np.ndarray | None:
        """(h, w) True where the grid's code is not the start image's own; None without a start image."""
        start = self.start_image()
        return None if start is None else self.grid() != self.codes[start]

    def pick(self) -> int:
        return int(st.session_state.get(PICK, 0))

    @staticmethod
    def mode() -> str:
        return st.session_state.get(MODE, "next")
