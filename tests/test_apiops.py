"""Issue 14, operations of the API: site-scoped API keys (command line and a real server) and the
Admin page's API tab (AppTest).

The command line runs in this process (tests/cli_util.run_cli); the server is a real
``streamlit run app.py`` (tests/http_util.py ``live``) and the client is ``requests``;
the database is checked afterwards.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text
from sqlmodel import Session

from db import apikeys
from db.models import utcnow
from tests.app_util import app_as
from tests.cli_util import run_cli
from tests.factories import make_team
from tests.http_util import live  # noqa: F401  (fixture)

CLOSED = (utcnow() - timedelta(hours=2)).replace(microsecond=0)


def item(interaction_id: str, *, site: str, team: str, agent: str, **fields) -> dict:
    body = {
        "interaction_id": interaction_id, "agent": agent, "team": team, "site": site, "channel": "chat",
        "contact_reason": "billing", "closed_at": CLOSED.isoformat(sep=" "), "stars": 5, "comment": "great",
    }
    body.update(fields)
    return body


def post(url: str, key: str, body) -> requests.Response:
    return requests.post(f"{url}/api/v1/ratings", data=json.dumps(body),
                         headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, timeout=30)


# --------------------------------------------------------------------------- the command line


def test_apikeys_add_with_sites_prints_the_key_last_and_list_shows_the_scope(engine, db_url):
    make_team(engine, "Alpha", site="Manila")
    make_team(engine, "Sava", site="Belgrade")
    make_team(engine, "Lone", site="Austin")
    scoped = run_cli("apikeys", "add", "manila-desk", "--site", "Manila", "--site", "belgrade", db=db_url)
    assert scoped.returncode == 0, scoped.stderr
    assert scoped.stdout.strip().splitlines()[-1].startswith(apikeys.KEY_PREFIX)
    comma = run_cli("apikeys", "add", "austin-desk", "--source", "zendesk", "--site", "Austin, Manila", db=db_url)
    assert comma.returncode == 0, comma.stderr
    # The contract of issue 14 unchanged: no --site, the key alone on the last line.
    plain = run_cli("apikeys", "add", "everywhere", "--source", "zendesk", db=db_url)
    last = plain.stdout.strip().splitlines()[-1]
    assert plain.returncode == 0 and last.startswith(apikeys.KEY_PREFIX) and " " not in last
    listed = run_cli("apikeys", "list", "--format", "csv", db=db_url)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].endswith(",sites")
    by_name = {line.split(",")[0]: line for line in lines[1:]}
    assert by_name["manila-desk"].endswith('"Belgrade, Manila"')
    assert by_name["austin-desk"].endswith('"Austin, Manila"')
    assert by_name["everywhere"].endswith(",every site")
    assert all(apikeys.KEY_PREFIX not in line for line in lines)  # never the keys themselves


def test_apikeys_add_refuses_an_unknown_site_with_one_line(engine, db_url):
    make_team(engine, "Alpha", site="Manila")
    result = run_cli("apikeys", "add", "typo", "--site", "Manilla", db=db_url)
    line = result.error_line()
    assert "Manilla" in line and "Manila" in line
    with Session(engine) as session:
        assert [k["name"] for k in apikeys.list_keys(session=session)] == []  # nothing half-made


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def sites(live):
    """Two sites with a team and an agent each (written as the system, like an import)."""
    make_team(live.engine, "North", site="Oslo")
    make_team(live.engine, "South", site="Lima")
    return live


def _audit(live, interaction_id: str) -> list[tuple]:
    with live.engine.connect() as conn:
        return conn.execute(text(
            "SELECT actor, action FROM audit_log WHERE target = :t ORDER BY id"), {"t": f"interaction {interaction_id}"}
        ).all()


def _stars(live, interaction_id: str):
    return live.scalar(
        "SELECT r.stars FROM rating r JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id = :i",
        i=interaction_id)


def test_a_site_scoped_key_writes_its_sites_and_gets_the_others_rejected_with_the_reason(sites):
    live = sites
    result = run_cli("apikeys", "add", "oslo-desk", "--site", "Oslo", db=live.db_url)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    everywhere = live.new_key("everywhere-desk")
    assert post(live.url, everywhere, item("SC-LIMA-1", site="Lima", team="South", agent="Lu Lima")).status_code == 200

    body = [
        item("SC-OSLO-1", site="Oslo", team="North", agent="Ola Oslo"),
        item("SC-LIMA-2", site="Lima", team="South", agent="Lu Lima"),
        item("SC-NEW-1", site="Nowhere", team="X", agent="Nobody"),
        # A stored Lima interaction named under Oslo: it belongs to Lima, so it stays Lima's.
        item("SC-LIMA-1", site="Oslo", team="North", agent="Ola Oslo", stars=1),
    ]
    response = post(live.url, key, body)
    assert response.status_code == 207, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["inserted", "rejected", "rejected", "rejected"]
    assert results[0]["errors"] == []
    assert "site Lima is outside your scope (Oslo)" in results[1]["errors"][0]
    assert "site Nowhere does not exist" in results[2]["errors"][0]
    assert "interaction SC-LIMA-1 belongs to site Lima" in results[3]["errors"][0]
    assert response.json()["counts"] == {"received": 4, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 3}
    # Nothing of a rejected item landed; the Lima rating is untouched.
    assert _stars(live, "SC-OSLO-1") == 5 and _stars(live, "SC-LIMA-2") is None and _stars(live, "SC-LIMA-1") == 5
    assert live.scalar("SELECT count(*) FROM site WHERE name = 'Nowhere'") == 0
    with live.engine.connect() as conn:
        logged = conn.execute(text(
            "SELECT status, received, inserted, rejected FROM api_request WHERE key_name = 'oslo-desk'")).all()
    assert logged == [(207, 4, 1, 3)]

    # An edit in its own site is audited under the key's name.
    edited = post(live.url, key, item("SC-OSLO-1", site="Oslo", team="North", agent="Ola Oslo", stars=2))
    assert edited.json()["results"][0]["status"] == "updated"
    assert _audit(live, "SC-OSLO-1") == [("apikey:oslo-desk", "rating_edited")]
    # A key for every site edits Lima, named too (not "system").
    lima = post(live.url, everywhere, item("SC-LIMA-1", site="Lima", team="South", agent="Lu Lima", stars=4))
    assert lima.json()["results"][0]["status"] == "updated"
    assert _audit(live, "SC-LIMA-1") == [("apikey:everywhere-desk", "rating_edited")]


def test_a_scoped_key_cannot_create_an_interaction_elsewhere(sites):
    live = sites
    key = run_cli("apikeys", "add", "lima-desk", "--site", "Lima", db=live.db_url).stdout.strip().splitlines()[-1]
    body = {k: v for k, v in item("SC-INT-1", site="Oslo", team="North", agent="Ola Oslo").items()
            if k not in ("stars", "comment")}
    response = requests.post(f"{live.url}/api/v1/interactions", data=json.dumps(body),
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 403, response.text
    assert response.json()["status"] == "rejected" and "outside your scope (Lima)" in response.json()["errors"][0]
    assert live.scalar("SELECT count(*) FROM interaction WHERE interaction_id = 'SC-INT-1'") == 0
    own = {**body, "site": "Lima", "team": "South", "agent": "Lu Lima"}
    created = requests.post(f"{live.url}/api/v1/interactions", data=json.dumps(own),
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert created.status_code == 201, created.text
    assert "/s/" in created.json()["survey_url"]


# --------------------------------------------------------------------------- the Admin page's API tab (AppTest)


def _api_table(at, column: str):
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")


@pytest.fixture
def api_log(engine):
    make_team(engine, "Alpha", site="Manila")
    with Session(engine) as session:
        apikeys.add_key(session=session, name="zendesk-prod", source="zendesk", sites=["Manila"])
        apikeys.add_key(session=session, name="script")
        apikeys.revoke_key(session=session, name="script")
    counts = {"received": 3, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    apikeys.log_request(engine=engine, key_name="zendesk-prod", path="/api/v1/ratings", status=207, counts=counts)
    apikeys.log_request(engine=engine, key_name="zendesk-prod", path="/api/v1/ratings", status=429)
    apikeys.log_request(engine=engine, key_name="script", path="/api/v1/interactions", status=201,
                        counts={"received": 1, "inserted": 1})
    apikeys.log_request(engine=engine, key_name="", path="/api/v1/ratings", status=401)
    apikeys.log_request(engine=engine, key_name="script", path="/api/v1/ratings", status=503)
    return engine


def test_admin_api_tab_lists_keys_and_requests_filtered_by_key_and_status_class(db_env, api_log):
    at = app_as("qa.admin", role="admin")
    at.run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception, [e.message for e in at.exception]
    keys = _api_table(at, "sites").set_index("name")
    assert keys.loc["zendesk-prod", "sites"] == "Manila" and keys.loc["script", "sites"] == apikeys.EVERY_SITE
    assert keys.loc["zendesk-prod", "status"] == "Live" and keys.loc["script", "status"] == "Revoked"
    log = _api_table(at, "key_name")
    assert list(log.columns) == list(apikeys.REQUEST_COLUMNS)  # time, key, path, status, counts: no payload
    assert list(log["status"]) == [503, 401, 201, 429, 207]  # newest first
    assert log.iloc[-1][["received", "inserted", "rejected"]].tolist() == [3, 2, 1]

    at.selectbox(key="adm_api_key").set_value("zendesk-prod").run()
    assert list(_api_table(at, "key_name")["status"]) == [429, 207]
    at.selectbox(key="adm_api_status").set_value("2xx").run()
    assert list(_api_table(at, "key_name")["status"]) == [207]
    at.selectbox(key="adm_api_key").set_value(None).run()
    at.selectbox(key="adm_api_status").set_value("4xx").run()
    shown = _api_table(at, "key_name")
    assert list(shown["status"]) == [401, 429] and list(shown["key_name"]) == ["", "zendesk-prod"]
    at.selectbox(key="adm_api_status").set_value("5xx").run()
    assert list(_api_table(at, "key_name")["status"]) == [503]
    assert not at.exception


@pytest.mark.parametrize("role", ["manager", "leader", "agent"])
def test_the_api_log_is_for_admins_only(db_env, api_log, role):
    at = app_as(f"qa.{role}", role=role)
    at.run()
    at.switch_page("pages/admin.py").run()
    assert [e.value for e in at.error] == ["This page is not available for your role."]
    assert not at.dataframe
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.text, *at.caption, *at.code))
    assert "zendesk-prod" not in shown


def test_recent_requests_refuses_an_unknown_status_class(api_log):
    with pytest.raises(ValueError, match="2xx, 4xx, 5xx"):
        apikeys.recent_requests(engine=api_log, status_class="3xx")
