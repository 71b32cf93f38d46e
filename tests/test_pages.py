"""AppTest over the pages: every page renders, and the leaderboard and data pages do what they say.

Each test runs the real app (app.py and st.navigation) against its own database
file (or PostgreSQL schema) through the ``db_env`` fixture; data goes in through
``db.ingest.write_rows``, the one write path.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from db.ingest import CanonicalRow, write_rows
from db.models import Agent, Rating
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.ranking import RANK_COLUMNS
from pages.access import AUTH_KEY
from tests.app_util import app_as, ensure_user

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")  # AppTest resolves relative paths from this file, not the working directory
PAGES = (
    "pages/leaderboard.py",
    "pages/wall.py",
    "pages/data.py",
    "pages/my_page.py",
    "pages/coaching.py",
    "pages/recovery.py",
    "pages/badges.py",
    "pages/admin.py",
    "pages/signin.py",
)

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines and frames must not leak from one test's database into the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _full_public_names(monkeypatch):
    """These tests name agents in full; short public names are tested in test_public_names.py."""
    monkeypatch.setenv("STARBOARD_PUBLIC_NAMES", "full")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def rated(agent: str, stars: list[int], *, team: str = "Alpha", site: str = "Manila", days_ago: float = 1.0, **extra):
    """Rows for ``agent``, one rating per star value, closed ``days_ago`` days ago."""
    when = _now() - timedelta(days=days_ago)
    return [
        CanonicalRow(
            interaction_id=f"T-{next(_ids)}",
            agent=agent,
            team=team,
            site=site,
            channel="phone",
            contact_reason="billing",
            closed_at=when,
            rated_at=when + timedelta(minutes=5),
            stars=s,
            resolved=True,
            nps=9,
            **extra,
        )
        for s in stars
    ]


def insert(engine, *groups: list[CanonicalRow]) -> None:
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[row for group in groups for row in group])
    assert report.rejected == 0 and report.read == report.inserted


def app(**params: str) -> AppTest:
    """The app signed in as an admin (who may open every page)."""
    return app_as("qa.admin", role="admin", **params)


def frame(at: AppTest, column: str) -> pd.DataFrame | None:
    """The first dataframe on the page that has ``column`` (ranked: trend, provisional: to_go)."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    return None


def ranked_agents(at: AppTest) -> list[str]:
    table = frame(at, "trend")
    return [] if table is None else list(table["agent"])


def provisional_agents(at: AppTest) -> list[str]:
    table = frame(at, "to_go")
    return [] if table is None else list(table["agent"])


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.fixture
def floor(engine):
    """Two sites; Ana steady 5★, Ben 4★, Cy only two ratings (provisional), Dora in Belgrade."""
    insert(
        engine,
        rated("Ana Lima", [5] * 8),
        rated("Ben Ong", [4] * 8),
        rated("Cy Park", [5, 5]),
        rated("Dora Ilic", [5, 4, 5, 4, 5, 4], team="Sava", site="Belgrade"),
    )
    return engine


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(db_env, floor, page):
    at = app()
    at.run()
    no_exception(at)
    at.switch_page(page).run()
    no_exception(at)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_database(db_env, engine, page):
    at = app()
    at.run()
    at.switch_page(page).run()
    no_exception(at)


def test_root_opens_the_leaderboard(db_env, floor):
    at = app(period="all")
    at.run()
    no_exception(at)
    assert [t.value for t in at.title] == ["Leaderboard"]
    assert at.query_params["period"] == "all"


# --------------------------------------------------------------------------- leaderboard


def test_leaderboard_ranks_agents_fairly_and_lists_provisional_ones_apart(db_env, floor):
    at = app(period="all")
    at.run()
    no_exception(at)
    assert ranked_agents(at) == ["Ana Lima", "Dora Ilic", "Ben Ong"]
    # Two perfect ratings are not enough to be ranked: Cy is listed apart, not above Ana.
    assert provisional_agents(at) == ["Cy Park"]
    assert "Cy Park" not in ranked_agents(at)
    table = frame(at, "trend")
    assert list(table["rank"]) == [1, 2, 3]
    assert table.loc[0, "ratings"] == 8 and table.loc[0, "avg_stars"] == pytest.approx(5.0)
    captions = " ".join(c.value for c in at.caption)
    assert "provisional, not ranked" in captions and "Fewer than 5 ratings" in captions


def test_headline_metrics_cover_the_period(db_env, floor):
    at = app(period="all")
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ratings"] == "24"
    # (8·5 + 8·4 + 2·5 + 3·5 + 3·4) ÷ 24 = 109 ÷ 24
    assert metrics["Average ★"] == f"{109 / 24:.2f}"
    assert metrics["FCR"] == "100%"
    assert metrics["NPS"] == "+100"


def test_query_params_restore_the_filters(db_env, floor):
    at = app(period="last30", site="Belgrade", team="Sava")
    at.run()
    no_exception(at)
    assert at.selectbox(key="lb_period").value == "last30"
    assert at.selectbox(key="lb_site").value == "Belgrade"
    assert at.selectbox(key="lb_team").value == "Sava"
    # Dora is alone at Belgrade with 6 ratings: ranked first.
    assert ranked_agents(at) == ["Dora Ilic"]
    assert not at.warning


def test_names_in_the_url_match_whatever_their_case(db_env, floor):
    at = app(period="ALL", site="belgrade")
    at.run()
    assert at.selectbox(key="lb_site").value == "Belgrade"
    assert at.query_params["site"] == "Belgrade" and at.query_params["period"] == "all"


def test_changing_a_filter_writes_it_to_the_url(db_env, floor):
    at = app()
    at.run()
    assert at.query_params["period"] == "week"
    at.selectbox(key="lb_period").set_value("last7").run()
    at.selectbox(key="lb_site").set_value("Manila").run()
    assert at.query_params["period"] == "last7"
    assert at.query_params["site"] == "Manila"
    assert "Dora Ilic" not in ranked_agents(at) + provisional_agents(at)


def test_choosing_another_site_forgets_a_team_it_does_not_have(db_env, floor):
    at = app(period="all", site="Manila", team="Alpha")
    at.run()
    at.selectbox(key="lb_site").set_value("Belgrade").run()
    no_exception(at)
    assert at.selectbox(key="lb_team").value == ""
    assert "team" not in at.query_params
    assert not at.warning


def test_custom_range_from_the_url(db_env, engine):
    insert(engine, rated("Old Timer", [5] * 6, days_ago=40), rated("New Comer", [4] * 6, days_ago=2))
    today = _now().date()
    start, end = today - timedelta(days=45), today - timedelta(days=35)
    at = app(period="custom", **{"from": start.isoformat(), "to": end.isoformat()})
    at.run()
    no_exception(at)
    assert [d.value for d in at.date_input] == [start, end]
    assert ranked_agents(at) == ["Old Timer"]
    # The command line's spelling START..END works too, and the URL is rewritten to from/to.
    at = app(period=f"{start.isoformat()}..{end.isoformat()}")
    at.run()
    assert ranked_agents(at) == ["Old Timer"]
    assert at.query_params["period"] == "custom" and at.query_params["from"] == start.isoformat()


def test_empty_period_shows_the_empty_state(db_env, engine):
    insert(engine, rated("Ana Lima", [5] * 6, days_ago=60))
    at = app(period="today")
    at.run()
    no_exception(at)
    assert any("No ratings yet today" in i.value for i in at.info)
    assert ranked_agents(at) == [] and provisional_agents(at) == []
    assert not at.metric


def test_no_agents_at_all_points_to_the_data_page(db_env, engine):
    at = app()
    at.run()
    no_exception(at)
    assert any("no agents yet" in i.value for i in at.info)


@pytest.mark.parametrize(
    "params, says",
    [
        ({"team": "Nobody Team"}, "no team called"),
        ({"site": "Atlantis"}, "no site called"),
        ({"site": "Manila", "team": "Sava"}, "no team called"),  # Sava is at Belgrade
        ({"period": "fortnight"}, "no period called"),
        ({"period": "custom", "from": "2026-13-45"}, "is not a date"),
    ],
)
def test_unknown_names_in_the_url_are_a_friendly_warning(db_env, floor, params, says):
    at = app(**params)
    at.run()
    no_exception(at)
    assert any(says in w.value for w in at.warning), [w.value for w in at.warning]
    # The rest of the page still works, with the filter dropped.
    assert at.title[0].value == "Leaderboard"


def test_url_text_in_a_warning_is_not_markdown(db_env, floor):
    """Regression: a crafted ?team= must not render an image, a link or coloured text."""
    evil = "![x](http://127.0.0.1:9/x.png) [y](javascript:alert(1)) :red[z] **b** <img src=x>"
    at = app(team=evil)
    at.run()
    (warning,) = [w.value for w in at.warning]
    for raw in ("![", "](", ":red[", "**", "<img"):
        assert raw not in warning


def test_agent_names_are_shown_as_plain_cells(db_env, engine):
    name = "**Bold** ![x](http://127.0.0.1:9/x.png) <b>"
    insert(engine, rated(name, [5] * 6, team=":red[Team]"))
    at = app(period="all")
    at.run()
    no_exception(at)
    assert ranked_agents(at) == [name]
    assert frame(at, "trend").loc[0, "team"] == ":red[Team]"
    markdown = " ".join(m.value for m in (*at.markdown, *at.caption, *at.subheader, *at.title))
    assert "![x]" not in markdown and ":red[" not in markdown


def test_csv_download_has_exactly_the_public_columns(db_env, floor):
    from pages import common, loaders, ranking_tables
    from leaderboard.settings import get_settings

    view = loaders.load_leaderboard(common.database_url(), ("t",), get_settings(), "all", None, None)
    rows = list(csv.reader(io.StringIO(ranking_tables.export_csv(view).decode("utf-8"))))
    assert tuple(rows[0]) == RANK_COLUMNS
    by_agent = {r[1]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert by_agent["Ana Lima"]["rank"] == "1" and by_agent["Ana Lima"]["provisional"] == "false"
    assert by_agent["Cy Park"]["rank"] == "" and by_agent["Cy Park"]["provisional"] == "true"
    at = app(period="all")
    at.run()
    (button,) = at.get("download_button")
    assert button.proto.label == "Download CSV"


# --------------------------------------------------------------------------- data


def _csv(rows: list[dict]) -> bytes:
    from db.ingest import COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return out.getvalue().encode("utf-8")


def _row(iid: str, agent: str, stars: str, **extra) -> dict:
    closed = (_now() - timedelta(days=1)).replace(microsecond=0).isoformat() + "Z"
    return {
        "interaction_id": iid,
        "agent": agent,
        "team": "Harbor",
        "site": "New York",
        "channel": "chat",
        "closed_at": closed,
        "rated_at": closed,
        "stars": stars,
        **extra,
    }


def _data_page() -> AppTest:
    at = app()
    at.run()
    at.switch_page("pages/data.py").run()
    no_exception(at)
    return at


def test_import_shows_the_summary_and_each_rejected_row(db_env, engine):
    at = _data_page()
    upload = _csv([_row("N-1", "Maya Fox", "5"), _row("N-2", "Maya Fox", "9"), _row("N-3", "Maya Fox", "4")])
    at.file_uploader(key="data_upload").set_value(("ratings.csv", upload, "text/csv")).run()
    no_exception(at)
    at.button(key="data_import").click().run()
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Read": "3", "Inserted": "2", "Updated": "0", "Unchanged": "0", "Rejected": "1"}
    errors = frame(at, "reason")
    assert list(errors.columns) == ["line", "column", "value", "reason"]
    assert errors.loc[0, "line"] == 3 and errors.loc[0, "column"] == "stars" and errors.loc[0, "value"] == "9"
    assert at.get("download_button")
    with Session(engine) as session:
        assert sorted(r.stars for r in session.exec(select(Rating)).all()) == [4, 5]
    # The leaderboard sees the new data at once (the caches were cleared).
    at.switch_page("pages/leaderboard.py")
    at.query_params["period"] = "all"
    at.run()
    assert provisional_agents(at) == ["Maya Fox"]


def test_import_twice_updates_nothing(db_env, engine):
    upload = _csv([_row("R-1", "Maya Fox", "5")])
    at = _data_page()
    at.file_uploader(key="data_upload").set_value(("ratings.csv", upload, "text/csv")).run()
    at.button(key="data_import").click().run()
    at.button(key="data_import").click().run()
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Unchanged"] == "1" and metrics["Inserted"] == "0"
    assert any("Every row landed" in s.value for s in at.success)


def test_unreadable_file_imports_nothing_and_says_why(db_env, engine):
    at = _data_page()
    at.file_uploader(key="data_upload").set_value(("ratings.csv", b"who,what\n1,2\n", "text/csv")).run()
    at.button(key="data_import").click().run()
    no_exception(at)
    assert any("Nothing was imported" in e.value and "missing column" in e.value for e in at.error)
    with Session(engine) as session:
        assert session.exec(select(Agent)).all() == []


def test_too_large_upload_is_refused_with_a_clear_message(db_env, engine, monkeypatch):
    monkeypatch.setenv("STARBOARD_MAX_UPLOAD_MB", "1")
    at = _data_page()
    big = _csv([_row("B-1", "Maya Fox", "5", comment="x" * (1024 * 1024 + 10))])
    at.file_uploader(key="data_upload").set_value(("big.csv", big, "text/csv")).run()
    no_exception(at)
    assert any("the limit is 1 MB" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "data_import"]


def test_seed_button_only_on_an_empty_database(db_env, engine):
    at = _data_page()
    at.button(key="data_seed").click().run()
    no_exception(at)
    with Session(engine) as session:
        assert session.exec(select(Agent)).first() is not None
    at.run()
    assert not [b for b in at.button if b.key == "data_seed"]


def test_first_run_seeds_an_empty_database(db_env, engine, monkeypatch):
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "1")
    at = app(period="last30")
    at.run()
    no_exception(at)
    assert ranked_agents(at), "a newcomer sees a living leaderboard at once"


def test_no_auto_seed_when_switched_off(db_env, engine):
    at = app()
    at.run()
    no_exception(at)
    with Session(engine) as session:
        assert session.exec(select(Agent)).first() is None


# --------------------------------------------------------------------------- a page file opened first


def test_a_page_file_run_first_starts_the_app_once_and_keeps_its_query(db_env, floor):
    """Regression (issue 11): pages/x.py run on its own (a fresh server's first request, and every
    AppTest run) hands over to app.py's navigation: the page draws once, the URL's filters hold."""
    at = app(period="last30")
    at.switch_page("pages/leaderboard.py").run()  # before any run: Streamlit's legacy folder mode
    no_exception(at)
    assert [t.value for t in at.title] == ["Leaderboard"]
    assert at.selectbox(key="lb_period").value == "last30"
    assert at.query_params["period"] == "last30"
    assert ranked_agents(at) == ["Ana Lima", "Dora Ilic", "Ben Ong"]


# --------------------------------------------------------------------------- an agent's leaderboard


@pytest.fixture
def big_floor(engine):
    """16 ranked agents at one team (Agent01 best … Agent16 worst) and Zed, provisional with two 1★."""
    insert(
        engine,
        *[rated(f"Agent{i:02d} Roe", [5] * 6 + [2] * i) for i in range(1, 17)],
        rated("Zed Weak", [1, 1]),
    )
    return engine


def test_an_agent_sees_the_top_ten_and_their_neighbours_only(db_env, big_floor, monkeypatch):
    monkeypatch.setenv("STARBOARD_PUBLIC_NAMES", "first_initial")
    offered: list[bytes] = []
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        offered.append(data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    user_id = ensure_user("agent14", role="agent", agent="Agent14 Roe")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[AUTH_KEY] = {"user_id": user_id, "auth_version": 0, "last_seen": time.time()}
    at.query_params["period"] = "all"
    at.run()
    at.switch_page("pages/leaderboard.py").run()
    no_exception(at)
    table = frame(at, "trend")
    assert list(table["rank"]) == [*range(1, 11), 12, 13, 14, 15, 16]
    # Public names for colleagues, the agent's own name in full.
    assert list(table["agent"])[:2] == ["Agent01 R.", "Agent02 R."]
    assert "Agent14 Roe" in list(table["agent"])
    assert "Agent11 R." not in list(table["agent"])
    # No figures (nor names) of colleagues still provisional.
    shown = " ".join(" ".join(map(str, df.value.to_numpy().ravel())) for df in at.dataframe)
    assert "Zed" not in shown and "Agent11" not in shown
    assert provisional_agents(at) == []
    # The CSV download holds exactly the rows on the screen.
    rows = list(csv.DictReader(io.StringIO(offered[-1].decode("utf-8"))))
    assert [r["agent"] for r in rows] == list(table["agent"])


def test_a_leader_keeps_the_full_leaderboard(db_env, big_floor):
    at = app_as("lead", role="leader", period="all")
    at.run()
    at.switch_page("pages/leaderboard.py").run()
    no_exception(at)
    assert len(ranked_agents(at)) == 16
    assert provisional_agents(at) == ["Zed Weak"]


def test_the_wall_opens_in_a_new_tab_from_the_sidebar(db_env, floor):
    """Choosing Wall in the menu was a dead end (the wall has no sidebar): it is a new-tab link now."""
    at = app_as("lead", role="leader")
    at.run()
    no_exception(at)
    links = [e.proto for e in at.sidebar.get("link_button")]
    assert [(link.label, link.url) for link in links] == [("Open the wall", "./wall")]
