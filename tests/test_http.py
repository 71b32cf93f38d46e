"""Plain HTTP on the one server: health, POST /api/v1/ratings and /interactions, API keys.

A real ``streamlit run app.py`` (tests/http_util.py, once for the module), a real
HTTP client (requests), and the database checked afterwards.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import text

from db import survey_store
from db.models import utcnow
from leaderboard.http.api import RateLimiter
from leaderboard.survey_tokens import verify_survey
from tests.browser_util import start_server
from tests.cli_util import run_cli
from tests.http_util import RATE_LIMIT, SECRET, live  # noqa: F401  (fixture)

CLOSED = (utcnow() - timedelta(hours=3)).replace(microsecond=0)


def item(interaction_id: str, **fields) -> dict:
    body = {
        "interaction_id": interaction_id,
        "agent": "Api Agent",
        "team": "Api Team",
        "site": "Api Site",
        "channel": "chat",
        "contact_reason": "billing",
        "closed_at": CLOSED.isoformat(sep=" "),
        "stars": 5,
        "comment": "great",
        "resolved": True,
        "nps": 9,
        "went_well": ["quick", "friendly"],
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def post(live, path: str, key: str | None, body, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{live.url}{path}", data=data, headers={"Content-Type": "application/json", **headers},
                         timeout=30, **kwargs)


def ratings_for(live, interaction_id: str) -> list[tuple]:
    with live.engine.connect() as conn:
        return conn.execute(text(
            "SELECT r.stars, r.comment FROM rating r JOIN interaction i ON i.id = r.interaction_id "
            "WHERE i.interaction_id = :i"), {"i": interaction_id}).all()


def log_rows(live, key_name: str) -> list[tuple]:
    with live.engine.connect() as conn:
        return conn.execute(text(
            "SELECT status, received, inserted, updated, unchanged, rejected FROM api_request "
            "WHERE key_name = :k ORDER BY id"), {"k": key_name}).all()


# --------------------------------------------------------------------------- one server


def test_health_and_the_screens_share_one_server(live):
    health = requests.get(f"{live.url}/api/v1/health", timeout=20)
    assert (health.status_code, health.json()) == (200, {"ok": True, "db": "ok"})
    assert requests.get(f"{live.url}/_stcore/health", timeout=20).status_code == 200
    screen = requests.get(f"{live.url}/leaderboard", timeout=20)
    assert screen.status_code == 200 and "<div id=\"root\">" in screen.text.replace("'", '"')


def test_health_is_503_when_the_database_is_away(tmp_path):
    server = start_server(
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/unreachable",
        log_path=tmp_path / "streamlit.log",
    )
    try:
        health = requests.get(f"{server.url}/api/v1/health", timeout=30)
        assert (health.status_code, health.json()) == (503, {"ok": False, "db": "unavailable"})
        survey = requests.get(f"{server.url}/s/abc.def", timeout=30)
        assert survey.status_code == 503 and "Please try again in a few minutes" in survey.text
        api = requests.post(f"{server.url}/api/v1/ratings", data="{}", headers={"Authorization": "Bearer x"},
                            timeout=30)
        assert api.status_code == 503 and api.json() == {"error": "the database is unavailable; retry later"}
        assert "Traceback" not in server.log_tail(200)
    finally:
        server.stop()


# --------------------------------------------------------------------------- ratings


def test_ratings_insert_then_unchanged_then_updated(live):
    key = live.new_key("good-key")
    first = post(live, "/api/v1/ratings", key, item("API-1"))
    assert first.status_code == 200, first.text
    assert first.json()["results"] == [{"interaction_id": "API-1", "status": "inserted", "errors": []}]
    again = post(live, "/api/v1/ratings", key, [item("API-1")])
    assert again.json()["results"][0]["status"] == "unchanged"
    edited = post(live, "/api/v1/ratings", key, item("API-1", stars=2, comment="changed"))
    assert edited.json()["results"][0]["status"] == "updated"
    assert ratings_for(live, "API-1") == [(2, "changed")]  # one rating, updated in place
    assert log_rows(live, "good-key") == [(200, 1, 1, 0, 0, 0), (200, 1, 0, 0, 1, 0), (200, 1, 0, 1, 0, 0)]


def test_a_list_with_bad_items_is_207_with_the_import_messages(live):
    key = live.new_key("mixed-key")
    body = [item("API-10"), item("API-11", stars=9, channel=""), "not an object", item("API-12", color="red"),
            item("API-13", stars=None, comment=None, resolved=None, nps=None, went_well=None)]
    response = post(live, "/api/v1/ratings", key, body)
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["inserted", "rejected", "rejected", "rejected", "rejected"]
    assert "column stars: value '9': must be a whole number from 1 to 5" in results[1]["errors"]
    assert "column channel: value '': is required" in results[1]["errors"]
    assert results[2]["errors"] == ["each item must be a JSON object"]
    assert results[3]["errors"] == ["unknown field 'color'"]
    assert "stars is required" in results[4]["errors"][0]
    assert ratings_for(live, "API-10") == [(5, "great")]
    assert ratings_for(live, "API-11") == [] and ratings_for(live, "API-13") == []
    assert response.json()["counts"] == {"received": 5, "inserted": 1, "updated": 0, "unchanged": 0, "rejected": 4}


@pytest.mark.parametrize("authorization", [None, "Bearer sbk_not-a-key", "Bearer ", "Basic YWRtaW46YWRtaW4="])
def test_missing_or_wrong_key_is_401(live, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.post(f"{live.url}/api/v1/ratings", data=json.dumps(item("API-401")), headers=headers,
                             timeout=20)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert ratings_for(live, "API-401") == []


def test_revoked_key_is_401(live):
    key = live.new_key("soon-revoked")
    assert post(live, "/api/v1/ratings", key, item("API-20")).status_code == 200
    result = run_cli("apikeys", "revoke", "soon-revoked", db=live.db_url)
    assert result.returncode == 0, result.stderr
    refused = post(live, "/api/v1/ratings", key, item("API-21"))
    assert refused.status_code == 401
    assert ratings_for(live, "API-21") == []
    listed = run_cli("apikeys", "list", "--format", "csv", db=live.db_url)
    assert key not in listed.stdout  # never the key itself
    [line] = [row for row in listed.stdout.splitlines() if row.startswith("soon-revoked,")]
    assert not line.endswith(",")  # revoked_at is set


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"interaction_id": ', "malformed JSON: Expecting value at line 1 column 20"),
        (b"[1, 2,]", "malformed JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "the list of ratings is empty"),
    ],
)
def test_malformed_json_is_400_naming_the_problem(live, body, needle):
    key = live.new_key(f"malformed-{abs(hash(body)) % 10_000}")
    response = post(live, "/api/v1/ratings", key, body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


def test_oversized_body_is_413_and_too_many_items_too(live):
    key = live.new_key("big-key")
    big = json.dumps([item(f"BIG-{i}", comment="x" * 2000) for i in range(600)])
    assert len(big) > 1024 * 1024
    response = post(live, "/api/v1/ratings", key, big)
    assert response.status_code == 413
    many = post(live, "/api/v1/ratings", key, [{"interaction_id": str(i)} for i in range(1001)])
    assert many.status_code == 413 and "at most 1000" in many.json()["error"]
    assert live.scalar("SELECT count(*) FROM interaction WHERE interaction_id LIKE 'BIG-%'") == 0


def test_over_the_rate_limit_is_429_with_retry_after(live):
    key = live.new_key("fast-key")
    session = requests.Session()
    answers = []
    started = time.monotonic()
    for i in range(RATE_LIMIT * 4):
        answers.append(session.post(f"{live.url}/api/v1/ratings", data=json.dumps(item(f"RATE-{i}")),
                                    headers={"Authorization": f"Bearer {key}"}, timeout=20))
    elapsed = time.monotonic() - started
    codes = [a.status_code for a in answers]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, (codes, elapsed)
    assert set(codes) <= {200, 429}
    assert all(int(a.headers["retry-after"]) >= 1 for a in limited)
    written = live.scalar("SELECT count(*) FROM interaction WHERE interaction_id LIKE 'RATE-%'")
    assert written == codes.count(200)  # a refused request wrote nothing
    assert [row[0] for row in log_rows(live, "fast-key")] == codes  # every request logged
    time.sleep(1.1)
    assert post(live, "/api/v1/ratings", key, item("RATE-after")).status_code == 200


def test_server_log_holds_no_payload(live):
    key = live.new_key("quiet-key")
    post(live, "/api/v1/ratings", key, item("API-LOG", comment="secret-comment-text-xyz"))
    post(live, "/api/v1/ratings", key, b'{"comment": "broken-json-text-xyz"')
    time.sleep(0.2)
    text = live.server.log_path.read_text(errors="replace")
    assert "secret-comment-text-xyz" not in text and "broken-json-text-xyz" not in text
    assert key not in text


# --------------------------------------------------------------------------- interactions


def test_interactions_creates_then_updates_and_returns_a_working_survey_url(live):
    key = live.new_key("helpdesk")
    body = {k: v for k, v in item("ASK-1").items() if k not in ("stars", "comment", "resolved", "nps", "went_well")}
    body["customer_email"] = "someone@example.com"
    created = post(live, "/api/v1/interactions", key, body)
    assert created.status_code == 201, created.text
    url = created.json()["survey_url"]
    assert url.startswith("http://localhost:8501/s/")
    token = url.rsplit("/", 1)[1]
    assert verify_survey(token, secret=SECRET.encode(), now=utcnow()) == "ASK-1"
    assert survey_store.interaction_exists(engine=live.engine, interaction_id="ASK-1")
    assert ratings_for(live, "ASK-1") == []
    # The link works on this server.
    page = requests.get(f"{live.url}/s/{token}", timeout=20)
    assert page.status_code == 200 and "Api A." in page.text
    updated = post(live, "/api/v1/interactions", key, {**body, "channel": "phone"})
    assert (updated.status_code, updated.json()["status"]) == (200, "updated")
    bad = post(live, "/api/v1/interactions", key, {"interaction_id": "ASK-2"})
    assert bad.status_code == 422 and "column agent: value '': is required" in bad.json()["errors"]
    assert post(live, "/api/v1/interactions", key, [body]).status_code == 400
    assert post(live, "/api/v1/interactions", None, body).status_code == 401


# --------------------------------------------------------------------------- the apikeys command (in-process)


def test_apikeys_add_list_revoke(engine, db_url):
    added = run_cli("apikeys", "add", "zendesk", "--source", "Zendesk", db=db_url)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("sbk_") and len(key) > 40
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash, source FROM api_key WHERE name = 'zendesk'")).one()
    assert key not in stored[0] and len(stored[0]) == 64 and stored[1] == "zendesk"  # only a digest
    again = run_cli("apikeys", "add", "zendesk", db=db_url)
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = run_cli("apikeys", "list", "--format", "json", db=db_url)
    assert [row["name"] for row in json.loads(listed.stdout)] == ["zendesk"] and key not in listed.stdout
    assert run_cli("apikeys", "revoke", "zendesk", db=db_url).returncode == 0
    unknown = run_cli("apikeys", "revoke", "nobody", db=db_url)
    assert unknown.returncode == 2 and "no API key named 'nobody'" in unknown.stderr
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE target = 'zendesk' ORDER BY id")).scalars().all()
    assert actions == ["apikey_added", "apikey_revoked"]


def test_rate_limiter_window_per_key():
    limiter = RateLimiter()
    assert [limiter.retry_after("a", limit=3, now=10.0 + i / 10) for i in range(3)] == [None, None, None]
    assert limiter.retry_after("a", limit=3, now=10.5) == 1
    assert limiter.retry_after("b", limit=3, now=10.5) is None  # another key has its own window
    assert limiter.retry_after("a", limit=3, now=11.0) is None  # the first request left the window
