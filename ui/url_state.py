"""The view in the address bar: what a page reads from its URL and writes back to it.

A link holds the model, the page, the presenter mode, the scene, and page settings (the latent
map's projection and selected image, the sliders' z). A value from the URL is applied when it
is new to this session, that is, different from the last value this session saw or wrote for
that parameter: so a link or a scene sets the view, and a user's later change in the page is
not undone by the URL it left behind. Every value read here is validated by the caller; none
is ever used as a file path.
"""
from __future__ import annotations

import math

import streamlit as st
from streamlit.errors import StreamlitAPIException

_SEEN = "url_seen"  # param -> the value this session last saw in (or wrote to) the URL
_INCOMING = "url_incoming"  # the parameters the URL had when this run started


def incoming() -> list[str]:
    """The names of the parameters the URL had when this run started (before the app wrote any)."""
    return list(st.session_state.get(_INCOMING, []))


def _seen() -> dict[str, str]:
    if _SEEN not in st.session_state:
        st.session_state[_SEEN] = {}
    return st.session_state[_SEEN]


def forget_absent() -> None:
    """Forget the values of parameters that are no longer in the URL (another page, a cleared link),
    so the same value arriving again later counts as new. Called once per run by the router, first."""
    st.session_state[_INCOMING] = sorted(st.query_params)
    seen = _seen()
    for k in [k for k in seen if k not in st.query_params]:
        del seen[k]


def forget_all() -> None:
    """Every URL value counts as new on the next run (a scene was just applied)."""
    st.session_state[_SEEN] = {}


def forget(param: str) -> None:
    """The URL's value of ``param`` counts as new on its next read (what it names may exist now)."""
    _seen().pop(param, None)


def fresh(param: str) -> str | None:
    """The URL's value of ``param`` when this session has not seen it yet, else None."""
    value = st.query_params.get(param)
    if value is None:
        return None
    seen = _seen()
    if seen.get(param) == value:
        return None
    seen[param] = value
    return value


def remember(params) -> None:
    """Take the URL's current values of ``params`` as seen: for parameters that widgets bound to the URL
    (``bind="query-params"``) wrote themselves during this run."""
    seen = _seen()
    for p in params:
        value = st.query_params.get(p)
        if value is None:
            seen.pop(p, None)
        else:
            seen[p] = value


def write(param: str, value: str | int | float | None) -> None:
    """Put a value into the URL (None removes it) and remember it as seen.

    A parameter bound to a widget (``bind="query-params"``) belongs to that widget and is left alone."""
    seen = _seen()
    try:
        if value is None:
            if param in st.query_params:
                del st.query_params[param]
            seen.pop(param, None)
            return
        text = str(value)
        if st.query_params.get(param) != text:
            st.query_params[param] = text
        seen[param] = text
    except StreamlitAPIException:
        pass  # bound to a widget on this page: the widget keeps the URL in step itself


def parse_index(text: str | None, count: int) -> int | None:
    """An image index from the URL: a whole number in [0, count), else None."""
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value) or not 0 <= value < count:
        return None
    return int(value)


def parse_flag(text: str | None) -> bool | None:
    """'1', 'true', 'on', 'yes' -> True; '0', 'false', 'off', 'no' -> False; anything else None."""
    if text is None:
        return None
    t = str(text).strip().lower()
    if t in ("1", "true", "on", "yes"):
        return True
    if t in ("0", "false", "off", "no"):
        return False
    return None


def parse_choice(text: str | None, options) -> str | None:
    if text is None:
        return None
    t = str(text).strip().lower()
    return t if t in options else None


# -- a link's values that cannot be used: said, never dropped in silence ------------------------------

def notice(text: str) -> None:
    """A short notice that a value was not used as given, and what was used instead."""
    st.toast(text, icon=":material/info:", duration="long")


def _shown(text: str) -> str:
    text = str(text)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def link_index(param: str, count: int, what: str, instead: str) -> int | None:
    """A link's image index ``param`` (new to this session): a whole number in [0, count); any other value
    gets a notice naming it, the range, and ``instead`` (what the page shows), and gives None."""
    text = fresh(param)
    index = parse_index(text, count)
    if text is not None and index is None:
        notice(f"The link's {param}={_shown(text)} is not {what} (0 to {count - 1}): {instead}.")
    return index


def link_choice(param: str, options, instead: str) -> str | None:
    """A link's choice ``param`` (new to this session) among ``options``; any other value gets a notice."""
    text = fresh(param)
    choice = parse_choice(text, options)
    if text is not None and choice is None:
        notice(f"The link's {param}={_shown(text)} is not one of {', '.join(options)}: {instead}.")
    return choice


def take_number(param: str, key: str, lo: float, hi: float, label: str, *, integer: bool = False,
                step: float | None = None, to_widget=None) -> None:
    """Before the widget ``key``: a link's ``param`` (new to this session) sets it (through ``to_widget`` when
    the widget counts differently). A value out of [lo, hi] is held to it, one between the widget's steps goes
    to the nearest step, and one that is no number is left out: each with a notice."""
    text = fresh(param)
    if text is None:
        return
    try:
        value = float(str(text).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        notice(f"The link's {param}={_shown(text)} is not a number: the {label} keeps its value.")
        return
    used = min(max(value, lo), hi)
    if step:
        used = lo + round((used - lo) / step) * step
        used = round(used, 10)
    used = int(round(used)) if integer else float(used)
    if used != value:
        why = f"outside {lo:g} to {hi:g}" if not lo <= value <= hi else (
            "not a whole number" if integer and not step else f"not on the {label}'s steps of {step:g}")
        notice(f"The link's {param}={_shown(text)} is {why}: the {label} is {used:g}.")
    st.session_state[key] = to_widget(used) if to_widget else used


def take_choice(param: str, key: str, options: dict, label: str) -> None:
    """Before the widget ``key``: a link's ``param`` names one of ``options`` (link name -> widget value); any
    other name gets a notice and leaves the widget as it is."""
    text = fresh(param)
    if text is None:
        return
    name = str(text).strip().lower()
    if name in options:
        st.session_state[key] = options[name]
    else:
        notice(f"The link's {param}={_shown(text)} is not one of {', '.join(options)}: the {label} stays as it was.")


def requested_page() -> str:
    """The page address this run was asked for ('' for the main page). Streamlit falls back to the main page
    for an unknown address with a generic "Page not found" that names neither it nor the pages there are;
    the router adds a notice that does. Reads a Streamlit internal (checked with Streamlit 1.67.0: the script
    run context's pages manager keeps the address of the request); tests/test_url_state.py guards it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    name = getattr(getattr(ctx, "pages_manager", None), "intended_page_name", None) if ctx else None
    return str(name or "").strip("/")


def unknown_page_notice(requested: str, pages: dict[str, str], shown: str, unlisted: tuple[str, ...] = ()) -> None:
    """A notice for a link to a page this app does not have. ``pages``: address -> title of the pages a link
    may name; ``unlisted``: addresses that exist but are not offered (the speaker view)."""
    if requested and requested not in pages and requested not in unlisted:
        listed = ", ".join(a for a in pages if a)
        notice(f"This app has no page {_shown(requested)}: {shown} is shown. Its pages: {listed}.")


# -- the model: a bundled model's or a saved run's name, never a path ---------------------------------
_MODEL_WARNING = "url_model_warning"


def model_url_name(choice) -> str | None:
    """The name a link uses for a model choice; None for a model uploaded in this session (no one else has it)."""
    if choice.origin == "uploaded":
        return None
    return choice.path.rstrip("/").rsplit("/", 1)[-1]


def apply_url_model(choices, default_path: str) -> None:
    """Select the model a link names (bundled first, then saved runs); an unknown name falls back to the
    default model with a warning. Call before the model picker's widget is drawn."""
    name = fresh("model")
    if name is None:
        return
    for origin in ("bundled", "saved", "trained"):
        match = next((c for c in choices if c.origin == origin and model_url_name(c) == name.strip()), None)
        if match is not None:
            st.session_state.model_path = match.path
            st.session_state.pop(_MODEL_WARNING, None)
            return
    shown = name if len(name) <= 60 else name[:57] + "..."
    st.session_state.model_path = default_path
    st.session_state[_MODEL_WARNING] = (default_path, f"The link names a model {shown!r} that this app does not have; "
                                                      "showing the default model instead. Pick one below.")


def write_url_model(choice) -> None:
    """Keep the URL's model in step with the picker, and show the warning of an unknown linked model."""
    warning = st.session_state.get(_MODEL_WARNING)
    if warning is not None:
        if warning[0] == choice.path:
            st.sidebar.warning(warning[1])
        else:
            st.session_state.pop(_MODEL_WARNING, None)
    write("model", model_url_name(choice))
