"""A real Streamlit server and headless Chromium for browser tests, as reusable pytest fixtures.

Use them from any test module::

    from tests.browser_util import browser_db_url, chromium, page, streamlit_server, open_app  # noqa: F401

    @pytest.mark.browser
    def test_something(page, streamlit_server):
        open_app(page, streamlit_server.url + "/leaderboard", ready='[data-testid="stDataFrame"]')

The server is started once per test session with ``streamlit run app.py`` on a
free port, against a SQLite file seeded with ``db.seed.seed_demo`` (browser
tests run on SQLite only). Chromium is Debian's ``/usr/bin/chromium`` driven by
Playwright. A missing Chromium fails the test loudly; set
``STARBOARD_SKIP_BROWSER=1`` to skip browser tests on a machine without one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
ARTIFACTS = ROOT / "tests" / "artifacts"

CHROMIUM = os.environ.get("STARBOARD_CHROMIUM", "/usr/bin/chromium")
# Flags measured to work with Debian's Chromium in a container (see shared STYLE.md).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SKIP_ENV = "STARBOARD_SKIP_BROWSER"
SERVER_START_TIMEOUT = 90.0
APP_READY_TIMEOUT_MS = 45_000


def skip_requested() -> bool:
    return os.environ.get(SKIP_ENV, "").strip().lower() in {"1", "true", "yes"}


def require_browser() -> None:
    """Skip when STARBOARD_SKIP_BROWSER=1; otherwise fail loudly if Chromium or Playwright is missing."""
    if skip_requested():
        pytest.skip(f"{SKIP_ENV} is set")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: browser tests must run. "
            f"Install it (apt-get install -y chromium; .ci/run does) or set {SKIP_ENV}=1 to skip them locally.",
            pytrace=False,
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright is not installed: pip install -r requirements.txt", pytrace=False)


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StreamlitServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    port: int
    database_url: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        stop_server(self)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    *,
    database_url: str,
    log_path: Path,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = SERVER_START_TIMEOUT,
) -> StreamlitServer:
    """``streamlit run app.py`` in its own process group; returns once it answers its health check."""
    port = port or free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STARBOARD_AUTO_SEED": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop_server ends all of it
    )
    log.close()
    server = StreamlitServer(
        url=f"http://127.0.0.1:{port}", port=port, database_url=database_url, process=process, log_path=log_path
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}:\n{server.log_tail()}")
        if _healthy(server.url):
            return server
        time.sleep(0.25)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer on {server.url} within {timeout:.0f} s:\n{server.log_tail()}")


def stop_server(server: StreamlitServer, *, grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left after ``grace`` seconds."""
    process = server.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=grace)


def seed_database(path: Path, *, seed: int = 7) -> str:
    """A SQLite file at ``path`` holding the deterministic demo data; returns its URL."""
    from db.engine import make_engine
    from leaderboard.demo import seed_demo

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        seed_demo(engine=engine, seed=seed)
    finally:
        engine.dispose()
    return url


# --------------------------------------------------------------------------- the browser


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


SIGN_IN_FORM = 'input[aria-label="Username"]'
DEMO_ADMIN = ("admin", "starboard-demo")  # the seeded demo database's admin (db/seed.py DEMO_PASSWORD)


def sign_in(page, *, username: str, password: str, timeout_ms: int = APP_READY_TIMEOUT_MS) -> None:
    """Fill the sign-in form (Username, Password, Sign in) as a person would."""
    page.fill('input[aria-label="Username"]', username)
    page.fill('input[aria-label="Password"]', password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector(SIGN_IN_FORM, state="detached", timeout=timeout_ms)


def open_app(
    page,
    url: str,
    *,
    ready: str,
    timeout_ms: int = APP_READY_TIMEOUT_MS,
    user: tuple[str, str] | None = DEMO_ADMIN,
) -> None:
    """Load ``url`` (signing in as ``user`` if the app asks) and wait until ``ready`` has rendered."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    if user is not None:
        page.wait_for_selector(f"{ready}, {SIGN_IN_FORM}", state="visible", timeout=timeout_ms)
        if page.locator(SIGN_IN_FORM).count():
            sign_in(page, username=user[0], password=user[1], timeout_ms=timeout_ms)
    wait_for_app(page, ready=ready, timeout_ms=timeout_ms)


def wait_for_app(page, *, ready: str, timeout_ms: int = APP_READY_TIMEOUT_MS) -> None:
    page.wait_for_selector(ready, state="visible", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    # The app root says when the script run is over (a rerun may still be drawing otherwise).
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms
    )


def dataframe_text(page, selector: str, *, containing: str = "", timeout_ms: int = 20_000) -> str:
    """Text of an st.dataframe (its accessibility table), once it holds ``containing``.

    The grid draws on a canvas and fills the hidden table a little after it
    appears, later still on a loaded machine: wait for the text, never sleep.
    """
    page.wait_for_function(
        "([sel, text]) => { const e = document.querySelector(sel);"
        " return !!e && e.textContent.length > 0 && e.textContent.includes(text); }",
        arg=[selector, containing],
        timeout=timeout_ms,
    )
    return page.locator(selector).first.text_content()


def assert_no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        raise AssertionError("the page shows an exception:\n" + errors.first.inner_text())


# --------------------------------------------------------------------------- fixtures

# Test modules import these fixtures, and pytest then registers one copy per
# module: a session-scoped fixture would start one server and one Playwright per
# module (two Playwrights in one thread fail). So the real resources live here
# once per test process, shared by every copy and closed when the last is done.
_SHARED: dict[str, list] = {}  # name -> [value, users, close]


@contextmanager
def _shared(name: str, start: Callable[[], tuple[Any, Callable[[], None]]]) -> Iterator[Any]:
    entry = _SHARED.get(name)
    if entry is None:
        value, close = start()
        entry = _SHARED[name] = [value, 0, close]
    entry[1] += 1
    try:
        yield entry[0]
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _SHARED[name]
            entry[2]()


@pytest.fixture(scope="session")
def browser_db_url(tmp_path_factory) -> Iterator[str]:
    """A seeded SQLite database shared by the browser tests of this session."""
    require_browser()

    def start():
        return seed_database(tmp_path_factory.mktemp("browser-db") / "starboard.db"), lambda: None

    with _shared("db", start) as url:
        yield url


@pytest.fixture(scope="session")
def streamlit_server(browser_db_url, tmp_path_factory) -> Iterator[StreamlitServer]:
    require_browser()

    def start():
        log_path = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
        server = start_server(database_url=browser_db_url, log_path=log_path)
        return server, server.stop

    with _shared("server", start) as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    require_browser()

    def start():
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        try:
            browser = launch_chromium(playwright)
        except BaseException:
            playwright.stop()
            raise

        def close() -> None:
            try:
                browser.close()
            finally:
                playwright.stop()

        return browser, close

    with _shared("chromium", start) as browser:
        yield browser


@pytest.fixture
def page(chromium):
    """A fresh 1920×1080 page (its own context: no cookies or storage shared between tests)."""
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def screenshots() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --------------------------------------------------------------------------- helpers for tests with a server of their own


def copy_database(source_url: str, path: Path) -> str:
    """A copy of the SQLite database at ``source_url`` (read consistently, even while in use) at ``path``."""
    import sqlite3  # lazy: only the tests that need a database of their own copy one

    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return f"sqlite:///{path}"


@contextmanager
def own_server(database_url: str, log_path: Path, **extra_env: str) -> Iterator[StreamlitServer]:
    """A Streamlit server for one test (its own database or settings); stopped afterwards."""
    server = start_server(database_url=database_url, log_path=log_path, extra_env=extra_env)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def sqlite_unreachable(database_url: str) -> Iterator[None]:
    """The SQLite file (and its -wal and -shm) moved away and a folder in its place: no connection
    can open it and none can create a fresh empty file there; everything is put back afterwards."""
    path = Path(database_url.removeprefix("sqlite:///"))
    moved = []
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            away = name.with_name(name.name + ".away")
            name.rename(away)
            moved.append((away, name))
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        for away, name in moved:
            away.rename(name)


def layout_problems(page, root: str = ".sb-wall") -> list[str]:
    """What sticks out: an element outside the viewport or outside its parent, or text cut off
    without meaning to be (truncation is allowed only where the CSS asks for it: an ellipsis or
    a line clamp, whose own box must still fit)."""
    return page.evaluate(
        """(root) => {
          const vw = window.innerWidth, vh = window.innerHeight, out = [];
          const name = (e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '');
          const truncates = (e) => {
            const s = getComputedStyle(e);
            return s.textOverflow === 'ellipsis' || (s.webkitLineClamp && s.webkitLineClamp !== 'none');
          };
          const inside = (r, b) => r.left >= b.left - 1 && r.top >= b.top - 1 && r.right <= b.right + 1 && r.bottom <= b.bottom + 1;
          const walk = (e) => {
            for (const child of e.children) {
              const r = child.getBoundingClientRect();
              if (r.width > 0 || r.height > 0) {
                if (!inside(r, {left: 0, top: 0, right: vw, bottom: vh}))
                  out.push(`${name(child)} off screen: ${JSON.stringify([r.left, r.top, r.right, r.bottom].map(Math.round))}`);
                else if (!inside(r, e.getBoundingClientRect()))
                  out.push(`${name(child)} outside ${name(e)}`);
                if (!truncates(child) && child.scrollWidth > child.clientWidth + 1 && getComputedStyle(child).display !== 'inline')
                  out.push(`${name(child)} overflows sideways by ${child.scrollWidth - child.clientWidth}px`);
                if (!truncates(child) && child.scrollHeight > child.clientHeight + 1 && getComputedStyle(child).display !== 'inline')
                  out.push(`${name(child)} overflows downwards by ${child.scrollHeight - child.clientHeight}px`);
              }
              if (!truncates(child)) walk(child);
            }
          };
          const top = document.querySelector(root);
          if (!top) return ['no ' + root];
          walk(top);
          return out;
        }""",
        root,
    )


def clipped_texts(page, selector: str) -> list[str]:
    """Texts inside the elements matching ``selector`` that do not show in full: a text whose
    glyphs reach past an ancestor (up to the matched element) that hides its overflow, as a
    label cut to "Contac…" by an ellipsis or to "Sampaguit" by a narrow box does."""
    return page.evaluate(
        """(selector) => {
          const out = [];
          for (const top of document.querySelectorAll(selector)) {
            const walker = document.createTreeWalker(top, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
              const text = node.textContent.trim();
              if (!text) continue;
              const range = document.createRange();
              range.selectNodeContents(node);
              const r = range.getBoundingClientRect();
              if (r.width === 0) continue;
              for (let e = node.parentElement; e; e = e.parentElement) {
                const s = getComputedStyle(e);
                if (s.overflowX !== 'visible' || s.textOverflow === 'ellipsis') {
                  const b = e.getBoundingClientRect();
                  if (r.left < b.left - 1 || r.right > b.right + 1) { out.push(text); break; }
                }
                if (e === top) break;
              }
            }
          }
          return out;
        }""",
        selector,
    )


def text_width(page, text: str, *, font: str = "14px 'Source Sans', sans-serif") -> float:
    """Width in px of ``text`` drawn in ``font`` (as the canvas of an st.dataframe draws its cells)."""
    return page.evaluate(
        "([text, font]) => { const c = document.createElement('canvas').getContext('2d');"
        " c.font = font; return c.measureText(text).width; }",
        [text, font],
    )


def horizontal_overflow(page, selector: str) -> list[int]:
    """How many px each st.dataframe under ``selector`` scrolls sideways (0: every column in view)."""
    return page.evaluate(
        "(sel) => [...document.querySelectorAll(sel + ' .dvn-scroller')].map(s => s.scrollWidth - s.clientWidth)",
        selector,
    )
