"""What every page gets for accessibility (WCAG 2.2 AA): a title of its own, a focus that shows and is never lost,
targets a finger can hit, and a layout that fits a phone. Checked in a browser by tests/test_accessibility_browser.py
and tests/test_layout_browser.py.

Contrast of text comes from the theme (.streamlit/config.toml's textColor) and ``ACCESS_CSS``. The browser side
(``access_helpers``, drawn in the sidebar, once per window): when the focused widget is gone or hidden after the
rerun its action caused, focus moves to the same widget drawn again, else to the control that undoes the action
(``FOCUS_MOVES``), else to the page's main heading (ui/js/focus_keeper.js); a formula wider than a phone's column
is drawn smaller or scrolls within itself (ui/js/fit_formulas.js)."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from .component_data import component, component_data

APP_NAME = "VAE Latent Explorer"
CAPTION_COLOUR = "#5c5c5c"  # captions: 6.7:1 on white, 6.3:1 on the sidebar's grey
FOCUS_COLOUR = "#4f46e5"  # the theme's primary: 6.3:1 on white, 5.9:1 on the sidebar's grey (3:1 needed)

ACCESS_CSS = f"""
/* Captions were the text colour at 60 % opacity, inline code in them too (2.6:1): grey text of 6.7:1 instead. */
[data-testid="stCaptionContainer"] {{ opacity: 1 !important; color: {CAPTION_COLOUR}; }}
/* A focus ring of 3 px wherever focus goes by keyboard. Checkboxes, toggles, radios and slider thumbs keep focus
   on a visually hidden input: the ring goes on what is seen. The sidebar's page links had a grey fill of 1.1:1. */
:is(a, button, select, textarea, summary, input:not([type=checkbox]):not([type=radio]):not([type=range]),
    [role=button], [role=tab], [role=link], [tabindex]:not([tabindex="-1"])):focus-visible,
label:has(input:is([type=checkbox], [type=radio]):focus-visible),
[data-testid="stSlider"] div:has(> div > input[type=range]:focus-visible) {{
  outline: 3px solid {FOCUS_COLOUR} !important; outline-offset: 2px !important; }}
[data-testid="stSidebarNavLink"]:focus-visible {{ outline-offset: -3px !important; }}
/* A table's or chart's toolbar shows only under the mouse: it shows with focus in it too (its buttons had focus
   while unseen). */
[data-testid="stElementToolbar"]:focus-within {{ opacity: 1 !important; }}
/* Targets of 24 x 24 px at least (WCAG 2.5.8): help icons, heading anchors, slider thumbs, Plotly's toolbar. */
[data-testid="stTooltipIcon"] button, [data-testid="stHeaderActionElements"] a {{
  min-width: 24px; min-height: 24px; display: inline-flex; align-items: center; justify-content: center; }}
[data-testid="stSlider"] div[style*="translate(-50%, -50%)"]:has(input[type=range]) {{ width: 24px; height: 24px; }}
.modebar-btn {{ min-width: 28px; height: 28px !important; display: inline-flex !important; align-items: center;
  justify-content: center; }}
/* A phone or a tablet: nothing wider than its column (wide formulas: ui/js/fit_formulas.js), and labels of
   buttons, widgets and metrics wrap instead of being cut short ("Live: dec…"). */
[data-testid="stImage"] img {{ max-width: 100%; height: auto; }}
:is(button, [data-testid="stWidgetLabel"], [data-testid="stMetricLabel"], [data-testid="stCheckbox"] label)
  [data-testid="stMarkdownContainer"] :is(p, div, span) {{
  white-space: normal !important; text-overflow: clip !important; overflow: visible !important;
  overflow-wrap: break-word; }}
[data-testid="stMetricLabel"] > div, [data-testid="stWidgetLabel"] > div {{ overflow: visible !important; }}
[data-testid="stTabsScrollLeft"], [data-testid="stTabsScrollRight"] {{ min-width: 24px !important; }}
/* A segmented control's options go onto a second row when its column is too narrow for them ("Chose…" was cut). */
[data-testid="stButtonGroup"] div:has(> button) {{ flex-wrap: wrap; }}
/* A tablet, or a laptop's window beside the sidebar: a column narrower than 13rem goes under its neighbours
   (Streamlit stacks columns only below 640 px of window, whatever room they have). */
@media (max-width: 1100px) {{
  [data-testid="stMain"] [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
  [data-testid="stMain"] [data-testid="stColumn"] {{ min-width: min(100%, 13rem); }}
}}
"""


def page_title(title: str) -> None:
    """The browser tab's title: the page's own, then the app's ("Latent map · VAE Latent Explorer")."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}")


# the widget that had focus -> where focus goes when it is gone (keys of Streamlit widgets)
FOCUS_MOVES = {"presenter_toggle_0": "scenes_exit", "scenes_exit": "presenter_toggle_0"}
_JS = Path(__file__).parent / "js"
_helpers = component("vae_access", html='<div class="vae-access"></div>',
                     js="".join((_JS / f).read_text() for f in ("focus_keeper.js", "fit_formulas.js", "access.js")))


def access_helpers() -> None:
    """The browser's helpers (focus kept, formulas fitted); drawn in the sidebar, which every page but the speaker
    view has."""
    _helpers(key="vae_access", data=component_data({"moves": FOCUS_MOVES}), height=0)
