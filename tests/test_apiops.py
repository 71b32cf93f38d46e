"""Issue 14, operations of the API: site-scoped API keys (command line and a real server).

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
