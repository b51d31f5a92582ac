"""VAE Latent Explorer: the router. Run with `streamlit run app.py`."""
from pathlib import Path

import streamlit as st
import streamlit.delta_generator

# Before its first element in a process, Streamlit checks whether it runs in a REPL (to print a hint) by
# reading the source of every frame on the stack: 40 to 270 ms of the first screen here (python
# bench/streamlit_internals.py). Under `streamlit run` it never is, so the check is marked done. A Streamlit
# internal, checked with Streamlit 1.67.0 (tests/test_streamlit_internals.py).
streamlit.delta_generator._use_warning_has_been_displayed = True

from ui import url_state
from ui.access import APP_NAME, page_title
from ui.classroom.join import STUDENT_PAGE
from ui.classroom.projector import class_strip
from ui.common import PageEnd, choose_model
from ui.images import data_url
from ui.loaded_model import warm_up
from ui.presenter import presenter_mode
from ui.scatter_map import send_hover_images
from ui.scenes import SPEAKER_PAGE, deck_from_url, scene_bar
from ui.sidebar import begin_run, draw_sidebar

# The icon and the logo as data: URLs, read once per process: given as files, Streamlit reads them, and stores the
# icon for the session, at every run, and the browser fetches it again (docs/benchmarks.md, "Every click").
ICON, LOGO = (data_url(Path(__file__).parent / "ui" / name) for name in ("icon.png", "logo.svg"))
st.set_page_config(page_title=APP_NAME, page_icon=ICON, layout="wide")

PAGES = [
    st.Page("pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:", default=True),
    st.Page("pages/sliders.py", title="Latent sliders", icon=":material/tune:"),
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:"),
    st.Page("pages/draw.py", title="Draw & encode", icon=":material/draw:"),
    st.Page("pages/compare.py", title="AE vs VAE", icon=":material/compare:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/school:"),
    st.Page("pages/tradeoffs.py", title="Trade-offs", icon=":material/balance:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/models.py", title="Models", icon=":material/inventory_2:"),
    # the lecturer's second window, opened from presenter mode's scene bar (not in the menu)
    st.Page(f"pages/{SPEAKER_PAGE}.py", title="Speaker view", icon=":material/speaker_notes:", url_path=SPEAKER_PAGE,
            visibility="hidden"),
    # the students' page on their phones, opened from the Join QR code (not in the menu)
    st.Page("pages/class_room.py", title="Class", icon=":material/groups:", url_path=STUDENT_PAGE, visibility="hidden"),
]

requested = url_state.requested_page()
nav = st.navigation(PAGES)
page_title(nav.title)
url_state.unknown_page_notice(requested, {p.url_path: p.title for p in PAGES
                                          if p.url_path not in (SPEAKER_PAGE, STUDENT_PAGE)},
                              f"the {nav.title} page", unlisted=(SPEAKER_PAGE, STUDENT_PAGE))
if nav.url_path in (SPEAKER_PAGE, STUDENT_PAGE):  # the lecturer's window, a student's phone: no sidebar or scene bar
    nav.run()
else:
    # the app's name beside its mark in the sidebar; the mark alone when the sidebar is collapsed
    st.logo(LOGO, size="large", icon_image=ICON)
    url_state.forget_absent()  # a parameter gone from the URL counts as new when it comes back
    # The state the page needs is settled first; the sidebar's widgets are drawn after the page's first image
    # (ui/sidebar.py says why), so pages end early with ui.common.end_page(), never st.stop().
    begin_run(choose_model())
    presenter = presenter_mode()
    deck_from_url()
    scene_bar(presenter, nav.title)
    if presenter:
        class_strip()  # the class's answers, followed live (nothing unless this browser holds a room)
    try:
        nav.run()
    except PageEnd:
        pass
    finally:  # also when the page raised: the sidebar stays usable
        try:
            draw_sidebar()  # unless the page drew it already
        finally:
            send_hover_images()  # the latent map's, once the page is drawn (none from an earlier run is left)
        warm_up(st.session_state.get("model_path"))
