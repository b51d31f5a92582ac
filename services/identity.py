"""A browser's identity on the server: which uploaded and trained models are its own.

The server gives a browser a token, ``v1.<id>.<mac>``: 24 random bytes and their HMAC-SHA256 under
the server's secret (``<home>/secret.key``, 32 random bytes, mode 0600, made once and shared by
every process of the server). The browser keeps it (local storage and a cookie) and shows it again
when it comes back. A token whose MAC does not verify (guessed, edited, or from another server) is
refused and the browser gets a new, empty identity. The folders of an identity are named by another
HMAC of its id (``folder_key``): a folder name never contains the token, and the token cannot be
computed from a folder name.

An identity's folders (``uploads/<key>``, ``sessions/<key>``) are deleted ``$VAE_BROWSER_DAYS``
days (default 7) after the browser's last visit (``browsers/<key>``'s modification time).
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
import shutil
import time
import uuid
from pathlib import Path

from vae_core.store.locks import locked
from vae_core.store.paths import app_home

SECRET_FILE = "secret.key"
EXPIRY_ENV = "VAE_BROWSER_DAYS"
DEFAULT_DAYS = 7.0
_TOKEN = re.compile(r"v1\.([A-Za-z0-9_-]{32})\.([0-9a-f]{64})")
_KEY = re.compile(r"[0-9a-f]{32}")


def server_secret(home: Path | None = None) -> bytes:
    """The server's secret, made on first use: written to a unique temporary file and linked into place,
    so processes starting together all read the same complete secret."""
    home = Path(home or app_home())
    path = home / SECRET_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / f".{SECRET_FILE}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process made it first: then its secret is used
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        data = path.read_bytes()
    if len(data) < 32:
        raise RuntimeError(f"{path} holds {len(data)} bytes, not a secret of 32: delete it and restart the server "
                           "(every browser then starts with no models of its own)")
    return data


def _mac(secret: bytes, purpose: str, ident: str) -> str:
    return hmac.new(secret, f"{purpose}:{ident}".encode(), hashlib.sha256).hexdigest()


def issue_token(secret: bytes) -> str:
    ident = secrets.token_urlsafe(24)  # 32 characters
    return f"v1.{ident}.{_mac(secret, 'token', ident)}"


def verify_token(secret: bytes, token: object) -> str | None:
    """The identity of a token the server issued, or None for anything else."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    m = _TOKEN.fullmatch(token.strip())
    if m is None:
        return None
    ident, mac = m.groups()
    return ident if hmac.compare_digest(mac, _mac(secret, "token", ident)) else None


def folder_key(secret: bytes, ident: str) -> str:
    """The name of an identity's folders: 32 hex digits derived from its id and the secret."""
    return _mac(secret, "folder", ident)[:32]


# -- last visits and expiry ------------------------------------------------------------------------------


def browsers_dir() -> Path:
    return app_home() / "browsers"


def expiry_days() -> tuple[float, str | None]:
    """Days an identity's folders are kept after its last visit, and a note when $VAE_BROWSER_DAYS was not usable."""
    text = os.environ.get(EXPIRY_ENV, "").strip()
    if not text:
        return DEFAULT_DAYS, None
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days > 0):
        return DEFAULT_DAYS, (f"{EXPIRY_ENV}={text!r} is not a positive number of days, so {DEFAULT_DAYS:g} days "
                              "are used")
    return days, None


def _stamp(key: str) -> Path:
    return browsers_dir() / key


def _lock(key: str) -> Path:
    return browsers_dir() / ".locks" / key


def visit(key: str) -> None:
    """Record a visit of the identity ``key`` now (its folders are kept for expiry_days() from now)."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a folder key")
    with locked(_lock(key)):
        path = _stamp(key)
        path.touch()
        os.utime(path)


def last_visit(key: str) -> float | None:
    try:
        return _stamp(key).stat().st_mtime
    except OSError:
        return None


def expires_at(key: str) -> float | None:
    seen = last_visit(key)
    return None if seen is None else seen + expiry_days()[0] * 86400


def identity_folders(key: str) -> list[Path]:
    home = app_home()
    return [home / "uploads" / key, home / "sessions" / key]


def sweep(now: float | None = None) -> list[str]:
    """Delete the folders of identities not seen for expiry_days(); returns their keys. Folders of a
    per-session identity from before (no visit recorded) go by their own modification time."""
    now = time.time() if now is None else now
    limit = now - expiry_days()[0] * 86400
    home = app_home()
    keys = {p.name for d in ("uploads", "sessions", "browsers") if (home / d).is_dir()
            for p in (home / d).iterdir() if not p.name.startswith(".")}
    removed = []
    for key in sorted(keys):
        with locked(_lock(key)):
            seen = last_visit(key)
            if seen is None:
                stamps = [p.stat().st_mtime for p in identity_folders(key) if p.exists()]
                seen = max(stamps) if stamps else None
            if seen is None or seen >= limit:
                continue
            for folder in identity_folders(key):
                shutil.rmtree(folder, ignore_errors=True)
            _stamp(key).unlink(missing_ok=True)
        removed.append(key)
    return removed
