"""Where the app keeps its files, and names that cannot escape those folders."""
from __future__ import annotations

import os
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_DIR = REPO_ROOT / "checkpoints"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UnsafeNameError(ValueError):
    """A user-given name would leave the app's own data folder."""


def app_home() -> Path:
    """``$VAE_EXPLORER_HOME``, else ``$XDG_DATA_HOME/vae-latent-explorer``, else ``~/.local/share/...``."""
    env = os.environ.get("VAE_EXPLORER_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "vae-latent-explorer"


SHARE_TRAINED_ENV = "VAE_SHARE_TRAINED"


def runs_dir() -> Path:
    """Saved models every session of this server lists (trained there with the command line, or
    in the app when $VAE_SHARE_TRAINED is set)."""
    return app_home() / "runs"


def uploads_dir(session_id: str) -> Path:
    """Checkpoints one browser session uploaded; other sessions never list them."""
    return app_home() / "uploads" / safe_name(session_id)


def session_runs_dir(session_id: str) -> Path:
    """Models one browser session trained in the app; other sessions never list them."""
    return app_home() / "sessions" / safe_name(session_id) / "runs"


def share_trained() -> bool:
    """``$VAE_SHARE_TRAINED=1``: models trained in the app are saved in runs_dir() for every session."""
    return os.environ.get(SHARE_TRAINED_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def trained_dir(session_id: str) -> Path:
    """Where a model trained in the app by this session is saved (runs_dir() without a session)."""
    return runs_dir() if share_trained() or not session_id else session_runs_dir(session_id)


def cache_dir() -> Path:
    return app_home() / "cache"


def safe_name(name: str, max_len: int = 80) -> str:
    """A file-system-safe single path component made from a user's text.

    Path separators, '..' and absolute paths are refused, not silently rewritten, so a user
    learns why their name was not taken."""
    text = str(name).strip()
    if not text:
        raise UnsafeNameError("the name is empty: give a name made of letters, digits, '-', '_' or '.'")
    if "/" in text or "\\" in text or text.startswith(".") or os.path.isabs(text) or ".." in text:
        raise UnsafeNameError(
            f"the name {text!r} contains a path ('/', '\\\\', '..' or a leading '.'): give a plain name such as 'my-model'")
    cleaned = _SAFE.sub("-", text).strip("-")[:max_len]
    if not cleaned:
        raise UnsafeNameError(f"the name {text!r} has no usable characters: use letters, digits, '-', '_' or '.'")
    return cleaned


def unique_child(parent: Path, name: str) -> Path:
    """parent/name, or parent/name-2, -3, ... so nothing that exists is ever overwritten."""
    base = safe_name(name)
    candidate = parent / base
    i = 2
    while candidate.exists():
        candidate = parent / f"{base}-{i}"
        i += 1
    return candidate


def reserve_child(parent: Path, name: str) -> Path:
    """Create and return an empty folder parent/name (or name-2, -3, ...) that did not exist: the name is
    reserved atomically (mkdir), so two processes asking at once get two different folders."""
    base = safe_name(name)
    parent.mkdir(parents=True, exist_ok=True)
    i = 1
    while True:
        candidate = parent / (base if i == 1 else f"{base}-{i}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            i += 1
