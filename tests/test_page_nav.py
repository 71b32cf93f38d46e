"""The navigation uses Streamlit's public API only, and a fresh server opened at a page shows the real app.

A folder named pages/ next to app.py puts a fresh Streamlit server in its legacy
"pages folder" mode, which runs pages/<name>.py on its own. pages/nav.py answers
that with public API (``nav.enter`` at the top of every page file). Browser
tests of a fresh server's first request: /leaderboard in tests/test_browser.py
(the app's menu and page config), /coaching, /leaderboard, /recovery and /me
signed out in tests/test_auth_browser.py, /wall?display=… here.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import streamlit
from sqlmodel import Session

from db import accounts
from db.engine import make_engine
from tests.browser_util import (  # noqa: F401  (fixtures)
    APP_READY_TIMEOUT_MS,
    SIGN_IN_FORM,
    browser_db_url,
    chromium,
    screenshots,
    start_server,
    stop_server,
)

ROOT = Path(__file__).resolve().parent.parent
# The streamlit modules a page may import: the package itself and its documented namespaces.
PUBLIC_STREAMLIT = {"streamlit", "streamlit.column_config", "streamlit.components.v1", "streamlit.starlette"}


def _interface_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def _private_module(name: str) -> bool:
    """``streamlit.x.y`` names one of Streamlit's modules outside its public namespaces."""
    if not name.startswith("streamlit.") or name in PUBLIC_STREAMLIT:
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _private_attribute(attr: str) -> bool:
    """``st.<attr>`` (or ``from streamlit import <attr>``) reaches a private module, not a command."""
    return isinstance(getattr(streamlit, attr, None), ModuleType) and f"streamlit.{attr}" not in PUBLIC_STREAMLIT


def private_streamlit_uses(source: str) -> list[str]:
    """Streamlit's private modules (imported, or reached as ``st.runtime``) and runpy, in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "runpy" or _private_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module == "streamlit":
            found += [f"streamlit.{a.name}" for a in node.names if _private_attribute(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module] if node.module == "runpy" or _private_module(node.module) else []
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "st":
            found += [f"streamlit.{node.attr}"] if _private_attribute(node.attr) else []
    return found


@pytest.mark.parametrize(
    "source, expected",
    [
        ("import streamlit as st\nst.title('x')", []),
        ("from streamlit.runtime.pages_manager import PagesManager", ["streamlit.runtime.pages_manager"]),
        ("import streamlit.runtime.scriptrunner", ["streamlit.runtime.scriptrunner"]),
        ("from streamlit import runtime", ["streamlit.runtime"]),
        ("import runpy", ["runpy"]),
        ("import streamlit as st\nst.runtime.exists()", ["streamlit.runtime"]),
        ("import streamlit.components.v1 as components", []),
        ("from streamlit import cache_data", []),
    ],
)
def test_the_private_api_check_sees_what_it_should(source, expected):
    assert private_streamlit_uses(source) == expected


@pytest.mark.parametrize("path", _interface_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_app_and_pages_use_no_private_streamlit_module(path):
    """Regression (issue 11): pages/common.py imported streamlit.runtime.pages_manager and ran app.py with runpy."""
    assert private_streamlit_uses(path.read_text(encoding="utf-8")) == []


def test_every_page_file_enters_the_app_first():
    """A page file's first statement after its imports and constants is nav.enter(), before any rendering."""
    from pages.access import PAGE_FILES  # lazy: only this test needs the page list

    for script in PAGE_FILES.values():
        tree = ast.parse((ROOT / script).read_text(encoding="utf-8"))
        calls = [
            node for node in tree.body
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        ]
        first = ast.unparse(calls[0].value) if calls else ""
        assert first == "nav.enter()", f"{script}: first call at module level is {first!r}"


@pytest.mark.browser
def test_a_fresh_server_opened_at_a_wall_link_shows_the_wall(chromium, browser_db_url, tmp_path, screenshots):
    """A TV that reloads /wall?display=TOKEN after a restart gets the wall, not a sign-in form or a file menu."""
    engine = make_engine(browser_db_url)
    try:
        with Session(engine) as session:
            token = accounts.add_display(session=session, name="fresh-tv")
    finally:
        engine.dispose()
    server = start_server(database_url=browser_db_url, log_path=tmp_path / "fresh-wall.log")
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        tab = context.new_page()
        tab.goto(f"{server.url}/wall?display={token}&panel=week", wait_until="domcontentloaded")
        tab.wait_for_selector(".sb-wall", state="visible", timeout=APP_READY_TIMEOUT_MS)
        tab.wait_for_timeout(1500)
        tab.screenshot(path=str(screenshots / "fresh-server-wall.png"))
        assert tab.locator(SIGN_IN_FORM).count() == 0
        assert tab.locator('[data-testid="stSidebarNav"]').count() == 0  # no menu of files (or of pages)
        assert tab.locator('[data-testid="stException"]').count() == 0
        assert f"display={token}" in tab.url and "panel=week" in tab.url
    finally:
        context.close()
        stop_server(server)
