"""Page furniture: the large-type style, the model picker, errors shown as messages, and how a page ends early.

The app draws the sidebar after the page's first image (ui/sidebar.py), so a page ends early with
``end_page()``, not ``st.stop()``: after st.stop() Streamlit draws nothing more in the run, not even
the sidebar."""
from __future__ import annotations

import contextlib
import hashlib
from typing import NoReturn

import streamlit as st

from vae_core.store.checkpoints import Checkpoint, CheckpointError, import_zip, max_upload_bytes, megabytes
from vae_core.store.paths import reserve_child, uploads_dir

from .latent_words import latent_summary, score_line
from .loaded_model import LoadedModel, loaded_model
from .model_choices import DEFAULT_MODEL, ModelChoice, model_choices, session_id
from . import url_state
from .access import ACCESS_CSS
from .presenter import KEY as PRESENTER_KEY
from .scenes import ABOUT_SLOT

HALL_CSS = """
<style>
html, body, [class*="st-"] { font-size: 1.05rem; }
h1 span, h2 span, h3 span { font-size: inherit !important; }
h1 { font-size: 2.3rem !important; }
[data-testid="stMetricValue"] { font-size: 2.0rem; }
[data-testid="stMetricValue"] * { font-size: inherit !important; }
[data-testid="stImage"] img { image-rendering: pixelated; }
""" + ACCESS_CSS + """
</style>
"""


class PageEnd(Exception):
    """Raised by ``end_page()``; app.py catches it and draws the sidebar."""


def end_page() -> NoReturn:
    """End the page here (instead of st.stop(), which would also stop the sidebar drawn after it)."""
    raise PageEnd


def through_router() -> None:
    """Run the page through app.py's router even on a server's very first request.

    Streamlit treats a ``pages/`` folder beside the entry script as its older multipage mode
    until the entry script has called ``st.navigation`` once in the process; a first visit that
    goes straight to a page's address would then run the page without app.py (no sidebar, no
    model). Switching the mode off and rerunning sends the request through app.py. A Streamlit internal,
    checked with Streamlit 1.67.0 (tests/test_streamlit_internals.py visits a page first)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_header(title: str, intro: str | None = None) -> None:
    """The page's title and its explanatory paragraph. In presenter mode the scene bar carries the title and
    the paragraph folds into the bar's "About" button, so the figure has the screen."""
    through_router()
    st.markdown(HALL_CSS, unsafe_allow_html=True)
    slot = st.session_state.pop(ABOUT_SLOT, None)
    if st.session_state.get(PRESENTER_KEY) and slot is not None:
        if intro:
            slot.popover("About", icon=":material/info:", width="stretch").markdown(f"**{title}**. {intro}")
        return
    st.title(title)
    if intro:
        st.caption(intro)


def explanation(text: str) -> None:
    """A view's explanatory paragraph; in presenter mode folded into an expander, so the figure has the screen."""
    if st.session_state.get(PRESENTER_KEY):
        st.expander("What this shows", icon=":material/info:").markdown(text)
    else:
        st.markdown(text)


def _upload_ui() -> None:
    with st.sidebar.expander("Upload a checkpoint"):
        up = st.file_uploader("Checkpoint archive (.zip)", type=["zip"], key="ckpt_upload",
                              help="A .zip downloaded from the Models page, or a zipped checkpoint folder "
                                   f"(at most {megabytes(max_upload_bytes())}).")
        if up is None or st.session_state.get("ckpt_upload_done") == up.file_id:
            loaded = st.session_state.pop("ckpt_upload_loaded", None)
            if loaded:  # said once, in the run after the upload
                st.success(f"Loaded {loaded}. Only this browser sees it (also after a reload).")
            return
        failed = st.session_state.get("ckpt_upload_failed")
        if failed and failed[0] == up.file_id:  # the same bad file: say it again, do not redo the work
            st.error(failed[1])
            return
        stem = up.name.rsplit(".", 1)[0] or "uploaded"
        dest = None
        try:  # the folder is reserved first: two windows of one browser uploading the same name get two folders
            dest = reserve_child(uploads_dir(session_id()), stem)
            ckpt = import_zip(up.getvalue(), dest)
        except (CheckpointError, ValueError, OSError) as e:
            if dest is not None:
                with contextlib.suppress(OSError):
                    dest.rmdir()  # the reservation, still empty
            message = f"That checkpoint was not loaded: {e}"
            st.session_state.ckpt_upload_failed = (up.file_id, message)
            st.error(message)
            return
        st.session_state.ckpt_upload_done = up.file_id
        st.session_state.ckpt_upload_loaded = ckpt.path.name
        st.session_state.model_path = str(ckpt.path)
        st.rerun()  # the page, drawn before the sidebar, shows the new model in the next run


def choose_model() -> ModelChoice | None:
    """Settle this run's model, st.session_state.model_path, before the page runs: the picker's value,
    a link's ?model=, or the default. Draws nothing: model_sidebar draws the picker after the page."""
    choices = model_choices()
    if not choices:
        return None
    paths = [c.path for c in choices]
    default = next((c.path for c in choices if c.label == DEFAULT_MODEL), paths[0])
    if st.session_state.get("model_path") not in paths:
        st.session_state.model_path = default
    url_state.apply_url_model(choices, default)  # a link's ?model=name
    return next(c for c in choices if c.path == st.session_state.model_path)


PICKER_KEY = "model_picker"


def _picked(key: str) -> None:
    st.session_state.model_path = st.session_state[key]


def model_sidebar(choice: ModelChoice | None) -> None:
    """The model picker (its value is st.session_state.model_path, settled by choose_model), the upload,
    and a summary of the model."""
    st.sidebar.markdown("### Model")
    _upload_ui()
    if choice is None:
        st.sidebar.error("No checkpoint found. Train one on the Train page, or run checkpoints/rebuild.sh.")
        return
    choices = model_choices()
    labels = {c.path: c.label for c in choices}
    paths = [c.path for c in choices]
    # The picker shows model_path, which links, scenes, uploads and pages also set. It is a widget of its own for
    # each model shown (its key names the model): a value the browser still holds from a run that was cut short
    # (by a request sent while it was drawn) belongs to the previous model's widget and can
    # neither show nor set another model; a widget set through session state showed the list's first model then.
    key = f"{PICKER_KEY}_{hashlib.sha256(choice.path.encode()).hexdigest()[:12]}"
    st.sidebar.selectbox("Loaded model", paths, index=paths.index(choice.path), key=key,
                         format_func=lambda p: labels.get(p, p), on_change=_picked, args=(key,))
    url_state.write_url_model(choice)
    try:
        ckpt = loaded_model(choice.path).checkpoint
    except CheckpointError as e:
        st.sidebar.error(f"This checkpoint cannot be used: {e}")
        return
    _model_summary(ckpt)


def _model_summary(ckpt: Checkpoint) -> None:
    cfg = ckpt.config
    m = ckpt.meta.get("metrics") or {}
    lines = [f"**{cfg.variant.title}**, {cfg.arch.upper()}, {latent_summary(cfg)}",
             f"{ckpt.meta.get('dataset', '?')}, {cfg.image_shape[1]}x{cfg.image_shape[2]} px, {cfg.likelihood}"]
    score = score_line(cfg.variant, m)  # the -ELBO, or the reconstruction of a model without a prior
    if score:
        lines.append(score)
    st.sidebar.caption("  \n".join(lines))


def current_model() -> LoadedModel | None:
    """This session's model (its checkpoint and what the app derives from it), or None (after showing why)."""
    path = st.session_state.get("model_path")
    if not path:
        st.info("Pick a model in the sidebar.")
        return None
    try:
        return loaded_model(path)
    except CheckpointError as e:
        st.error(f"The selected checkpoint cannot be used: {e}. Pick another model in the sidebar.")
        return None


def current_model_quietly() -> LoadedModel | None:
    """This session's model, or None without a word (the page says why when it asks page_model)."""
    path = st.session_state.get("model_path")
    try:
        return loaded_model(path) if path else None
    except CheckpointError:
        return None


def page_model(needs_sample: bool = True) -> LoadedModel:
    """This session's model for a page; the page ends here (after saying why) when there is none, or when it
    needs the model's stored test images and the checkpoint has none."""
    loaded = current_model()
    if loaded is None or (needs_sample and not require_sample(loaded.checkpoint)):
        end_page()
    return loaded


def require_sample(ckpt: Checkpoint) -> bool:
    if ckpt.sample is None or len(ckpt.sample.labels) == 0:
        st.warning("This checkpoint stores no test images, so there is nothing to map. "
                   "Retrain it with --sample-size 1000, or pick another model.")
        return False
    return True


@contextlib.contextmanager
def friendly_errors(what: str):
    """Show a message instead of a traceback for the errors a user can act on."""
    try:
        yield
    except (ValueError, RuntimeError) as e:
        st.error(f"{what} failed: {e}")
