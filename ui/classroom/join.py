"""How a phone joins: the student page's address (the server's address as the lecturer's browser sees it,
or $VAE_PUBLIC_URL for a server behind a proxy), its QR code (made here by segno: nothing is fetched) and
the room code, in the Join dialog the lecturer projects."""
from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlencode, urlparse

import segno
import streamlit as st

from services.room.codes import display_code

PUBLIC_URL_ENV = "VAE_PUBLIC_URL"
STUDENT_PAGE = "class"  # the student page's address (app.py; hidden from the menu)


class PublicUrlError(ValueError):
    """$VAE_PUBLIC_URL is not an address a phone can open."""


def _loopback(host: str | None) -> bool:
    if not host:
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def public_base(env: str | None = None, seen: str | None = None, base_path: str = "") -> tuple[str, str | None]:
    """The app's address for the phones, and a warning when phones cannot reach it.

    ``env``: $VAE_PUBLIC_URL (default: the environment's); ``seen``: the page's URL as the lecturer's browser
    has it (st.context.url); ``base_path``: Streamlit's server.baseUrlPath."""
    text = (os.environ.get(PUBLIC_URL_ENV, "") if env is None else env).strip()
    if text:
        url = urlparse(text)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise PublicUrlError(f"{PUBLIC_URL_ENV}={text!r} must be the address phones open, such as "
                                 "https://vae.example.edu or http://192.168.1.20:8501")
        return text.rstrip("/"), None
    url = urlparse(seen or "")
    if not url.scheme or not url.netloc:
        return "", ("This window's address is unknown, so no link can be made: open the app in a browser, or set "
                    f"{PUBLIC_URL_ENV}.")
    base = f"{url.scheme}://{url.netloc}" + ("/" + base_path.strip("/") if base_path.strip("/") else "")
    warning = None
    if _loopback(url.hostname):
        warning = (f"This window shows the app at {url.netloc}, which phones cannot reach: open the app by this "
                   f"machine's network address (e.g. http://192.168.1.20:{url.port or 80}), or set "
                   f"{PUBLIC_URL_ENV} to the address phones use.")
    return base, warning


def student_url(base: str, code: str) -> str:
    return f"{base}/{STUDENT_PAGE}?" + urlencode({"room": code})


def qr_svg(text: str) -> str:
    """The QR code of ``text`` as inline SVG that scales to its box (error correction M: a projected code
    read from the back row survives a smudge)."""
    return segno.make(text, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000", light="#fff")


def this_base() -> tuple[str, str | None]:
    try:
        seen = st.context.url
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        seen = None
    return public_base(seen=seen if isinstance(seen, str) else None,
                       base_path=st.get_option("server.baseUrlPath") or "")


def join_panel(code: str, members: int) -> None:
    """The QR code, the room code and the address, large (for the Join dialog)."""
    try:
        base, warning = this_base()
    except PublicUrlError as e:
        st.error(str(e))
        return
    url = student_url(base, code) if base else ""
    left, right = st.columns([3, 2], vertical_alignment="center")
    if url:
        left.markdown(f'<div class="vae-join-qr" role="img" aria-label="QR code of {url}" '
                      f'style="width:min(60vh,100%);margin:auto">{qr_svg(url)}</div>', unsafe_allow_html=True)
    with right:
        st.markdown("Scan the code with your phone's camera, or open")
        st.markdown(f"**`{base}/{STUDENT_PAGE}`**" if base else "the student page")
        st.markdown("and type the room code:")
        st.markdown(f'<div class="vae-room-code" style="font-size:3.4rem;font-weight:800;letter-spacing:.12em;'
                    f'font-family:ui-monospace,monospace">{display_code(code)}</div>', unsafe_allow_html=True)
        st.markdown(f"**{members}** joined · no account, no name: each phone gets a random alias.")
    if warning:
        st.warning(warning)
