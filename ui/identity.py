"""This browser's identity in the app: its own uploaded and trained models come back after a reload and in a
second window, and no other browser sees them (services.identity holds the tokens and folders).

The token arrives with the session's first request, as the ``vae_browser`` cookie, so the first run already
lists the browser's models (and a link to one of them works), and nothing more is drawn for it. Otherwise
(a browser's first visit) a tiny component (ui/js/identity.js) gives the browser its token to keep in local
storage and in that cookie; a browser whose cookie was cleared shows the token it stored, and the session
takes it on the next run. The component never reports otherwise: a report right after a first page load
would rerun the page with the widgets' states of a page still being drawn. Sessions without either (a new
browser, a script, a test) get a new identity."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from services import identity
from . import url_state
from .component_data import component, component_data

COOKIE = "vae_browser"
COMPONENT_KEY = "vae_browser_identity"
_STATE = "_browser_identity"
SWEEP_EVERY = 3600.0  # seconds between two sweeps of expired folders by one process
_last_sweep = [0.0]

_component = component("vae_browser_identity", html='<div class="vae-identity"></div>',
                       js=(Path(__file__).parent / "js" / "identity.js").read_text())


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (a script run outside a browser session)
        return None
    return token if isinstance(token, str) else None  # AppTest's context holds stand-ins, not text


def _settle(token: str | None, refused: str | None = None, held: bool = False) -> dict:
    """This session's identity: the token's, when it verifies, else a new one. ``held``: the browser
    is known to keep this token (it came in its cookie)."""
    secret = identity.server_secret()
    ident = identity.verify_token(secret, token) if token else None
    if ident is None:
        refused, held = token or refused, False
        token = identity.issue_token(secret)
        ident = identity.verify_token(secret, token)
    state = {"token": token, "key": identity.folder_key(secret, ident), "refused": refused, "claimed": None,
             "held": held}
    identity.visit(state["key"])
    return state


def _sweep_now_and_then() -> None:
    now = time.time()
    if now - _last_sweep[0] >= SWEEP_EVERY:
        _last_sweep[0] = now
        identity.sweep(now)


def browser_key() -> str:
    """The folder key of this browser's identity (settled on the session's first run; a token the
    browser shows through the component later switches to that identity)."""
    state = st.session_state.get(_STATE)
    if state is None:
        state = _settle(_cookie_token(), held=True)
        st.session_state[_STATE] = state
        _sweep_now_and_then()
    claimed = (st.session_state.get(COMPONENT_KEY) or {}).get("token")
    if claimed and claimed != state["token"] and claimed != state.get("claimed"):
        secret = identity.server_secret()
        if identity.verify_token(secret, claimed) is not None:
            state = _settle(claimed)
            url_state.forget("model")  # a link to one of the browser's own models applies now
        else:
            state = dict(state, refused=claimed)
        state["claimed"] = claimed
        st.session_state[_STATE] = state
    return state["key"]


def identity_component() -> None:
    """Give the browser its token to keep (draws nothing visible) unless its cookie brought it; call once
    per run, as an app widget."""
    browser_key()
    state = st.session_state[_STATE]
    if state["held"]:
        return
    with st.sidebar:
        _component(key=COMPONENT_KEY, data=component_data({"token": state["token"], "refused": state["refused"],
                                                           "claimed": state["claimed"], "cookie": COOKIE}),
                   on_token_change=lambda: None)


def expiry_note() -> str:
    """When this browser's own models are deleted, for the Models page."""
    days, problem = identity.expiry_days()
    when = identity.expires_at(browser_key())
    date = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if when else "?"
    text = (f"Models you upload or train here are kept for this browser (also after a reload and in another "
            f"window) and for no one else, until {date}: {days:g} days after its last visit "
            f"({identity.EXPIRY_ENV}). Download a model to keep it longer.")
    return text + (f" Note: {problem}." if problem else "")
