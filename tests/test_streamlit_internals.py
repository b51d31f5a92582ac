"""The four Streamlit internals the app relies on, checked with Streamlit 1.67.0 (requirements.txt pins it).

Each is kept for what it buys, shown here or measured by bench/streamlit_internals.py, and each is held to
the behaviour the app needs from it, so a Streamlit that changes one fails here rather than in a lecture:
- app.py marks Streamlit's REPL check done: the check reads the source of every frame on the stack before
  the first element, a measured share of the first screen (bench/streamlit_internals.py);
- ui/common.py switches off the old pages/-folder mode on a server's first request, so a first visit
  straight to a page's address runs through app.py (its sidebar and model);
- ui/sidebar.py draws the sidebar as app.py's widgets from inside a page, so a model chosen there holds on
  every page (tests/test_browser.py follows it across pages);
- ui/url_state.py reads the page address a request asked for (the pages manager's intended page name), so a
  link to a page the app does not have gets a notice that names it and the pages there are.
"""
from __future__ import annotations

import ast

import pytest
import streamlit
import streamlit.delta_generator as delta_generator
from streamlit import env_util
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

from browser_support import REPO, WAIT_MS, app_page, app_server, browser, wait_until_idle  # noqa: F401

CHECKED_WITH = "1.67.0"


def test_the_installed_streamlit_is_the_one_the_internals_were_checked_with():
    assert streamlit.__version__ == CHECKED_WITH, (
        f"Streamlit {streamlit.__version__}: check app.py, ui/common.py and ui/sidebar.py's internals against it, "
        "then update CHECKED_WITH and their comments")
    for f in ("app.py", "ui/common.py", "ui/sidebar.py", "ui/url_state.py"):
        assert f"Streamlit {CHECKED_WITH}" in (REPO / f).read_text(), f"{f} does not say which Streamlit it checked"


def test_the_flag_app_py_sets_still_skips_the_repl_check(monkeypatch):
    tree = ast.parse((REPO / "app.py").read_text())
    assert any(isinstance(n, ast.Assign) and ast.unparse(n.targets[0]).endswith("_use_warning_has_been_displayed")
               and ast.unparse(n.value) == "True" for n in ast.walk(tree)), "app.py no longer sets the flag"
    calls = []
    monkeypatch.setattr(env_util, "is_repl", lambda: calls.append("inspected the stack") or False)
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)
    delta_generator._maybe_print_use_warning()
    assert calls == ["inspected the stack"]  # what the flag saves
    calls.clear()
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", True)
    delta_generator._maybe_print_use_warning()
    assert calls == []


def test_the_intended_page_name_is_the_address_a_request_asked_for():
    """ui.url_state.requested_page reads it; Streamlit sets it from the request before the script runs."""
    manager = PagesManager("app.py")
    assert manager.intended_page_name is None
    manager.set_script_intent("some-hash", "no-such-page")
    assert manager.intended_page_name == "no-such-page"


def test_the_internals_the_sidebar_and_the_router_use_are_there():
    assert "uses_pages_directory" in vars(PagesManager)
    assert callable(getattr(ScriptRunContext, "run_with_active_hash", None))
    assert "main_script_hash" in vars(PagesManager)


@pytest.mark.browser
def test_a_first_visit_straight_to_a_page_runs_through_the_router(tmp_path, browser):  # noqa: F811
    """Without ui/common.py's switch, Streamlit would run pages/sliders.py on its own on a fresh server's first
    request: no sidebar, no model picker."""
    with app_server(tmp_path / "home", tmp_path) as url, app_page(browser, f"{url}/sliders") as page:
        page.get_by_role("heading", name="Latent sliders").first.wait_for(timeout=WAIT_MS)
        wait_until_idle(page)
        picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Loaded model")
        assert picker.count() == 1 and picker.locator("input").input_value() == "mnist5k-2d"
        assert page.locator('[data-testid="stException"]').count() == 0
        assert not page.errors, page.errors
