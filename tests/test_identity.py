"""A browser's identity on the server (services.identity): the secret, tokens, folder names and expiry."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services import identity
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(identity.EXPIRY_ENV, raising=False)
    return tmp_path / "home"


def test_the_secret_is_made_once_readable_only_by_its_owner(home):
    secret = identity.server_secret()
    path = home / identity.SECRET_FILE
    assert len(secret) == 32 and path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert identity.server_secret() == secret
    assert not [p for p in home.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_processes_starting_together_share_one_secret(home):
    code = "from services import identity; import sys; sys.stdout.write(identity.server_secret().hex())"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, VAE_EXPLORER_HOME=str(home))) for _ in range(6)]
    secrets_seen = {p.communicate(timeout=120)[0] for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert secrets_seen == {identity.server_secret().hex()}


def test_a_token_verifies_and_a_tampered_or_guessed_one_does_not(home):
    secret = identity.server_secret()
    token = identity.issue_token(secret)
    ident = identity.verify_token(secret, token)
    assert ident is not None and ident in token
    tampered = token[:-1] + ("0" if token[-1] != "0" else "1")
    other_id = token.replace(ident, ident[::-1])
    for bad in (tampered, other_id, "v1." + "a" * 32 + "." + "0" * 64, "", "x" * 5000, None, 12, token + "x",
                identity.issue_token(b"another server's secret, 32 bytes")):
        assert identity.verify_token(secret, bad) is None, bad
    key = identity.folder_key(secret, ident)
    assert len(key) == 32 and ident not in key and key not in token
    assert identity.folder_key(secret, ident) == key  # the same browser, the same folders
    assert identity.folder_key(secret, identity.verify_token(secret, identity.issue_token(secret))) != key


def test_folders_of_a_browser_not_seen_for_the_expiry_time_are_deleted(home, monkeypatch):
    secret = identity.server_secret()
    old, recent = (identity.folder_key(secret, identity.verify_token(secret, identity.issue_token(secret)))
                   for _ in range(2))
    for key in (old, recent):
        identity.visit(key)
        for folder in identity.identity_folders(key):
            (folder / "model").mkdir(parents=True)
    legacy = home / "uploads" / "0123456789abcdef"  # a per-session folder from before identities
    legacy.mkdir(parents=True)
    week_ago = time.time() - 7.5 * 86400
    os.utime(home / "browsers" / old, (week_ago, week_ago))
    os.utime(legacy, (week_ago, week_ago))
    assert identity.expires_at(recent) == pytest.approx(time.time() + 7 * 86400, abs=60)
    removed = identity.sweep()
    assert sorted(removed) == sorted([old, legacy.name])
    assert not any(f.exists() for f in identity.identity_folders(old)) and not legacy.exists()
    assert all((f / "model").is_dir() for f in identity.identity_folders(recent))
    monkeypatch.setenv(identity.EXPIRY_ENV, "0.0001")  # about 9 s
    os.utime(home / "browsers" / recent, (time.time() - 60, time.time() - 60))
    assert identity.sweep() == [recent]


@pytest.mark.parametrize("text", ["abc", "-3", "0", "nan", "inf"])
def test_an_unusable_expiry_setting_is_named_and_the_default_used(home, monkeypatch, text):
    monkeypatch.setenv(identity.EXPIRY_ENV, text)
    days, note = identity.expiry_days()
    assert days == identity.DEFAULT_DAYS and text in note and "7 days are used" in note


def test_a_visit_needs_a_folder_key(home):
    with pytest.raises(ValueError):
        identity.visit("../../etc")
