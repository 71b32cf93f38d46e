"""Help-desk webhooks: /api/v1/hooks/<source>, agent links, the unmatched queue, answers never rolled back.

Pure case tables for the payload mapping, the scales and the signatures
(leaderboard/hooks.py); the write path's out-of-order rule on a test database; then a
real ``streamlit run app.py`` (once for the module) and a real HTTP client for every
source: good, duplicate, edited, out-of-order, bad-signature, wrong-source,
revoked-key and malformed requests, and an unknown agent id queued, linked with
``agents link`` and replayed, the database checked afterwards. Last, the Data page
shows the queue to an admin and links from it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from db.ingest import CanonicalRow, write_rows
from db.models import utcnow
from leaderboard import hook_intake
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.hooks import (
    DEFAULT_SCALES, SIGNATURE_HEADERS, SOURCES, HookError, HookEvent, Ignored, parse, parse_scales, sign,
    signature_ok, signs,
)
from tests.app_util import app_as
from tests.cli_util import run_cli
from tests.http_util import AGENT, TEAM, live_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "webhooks"
SIGNING = "whsec-test-signing-secret"
T0 = (utcnow() - timedelta(hours=2)).replace(microsecond=0)


def example(source: str) -> dict:
    return json.loads((EXAMPLES / f"{source}.json").read_text(encoding="utf-8"))


def payload(source: str, *, ticket, agent, good: bool = True, at: datetime = T0) -> dict:
    """The example payload of ``source`` for another ticket, agent, score and time."""
    body = example(source)
    iso = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    unix = int(at.replace(tzinfo=timezone.utc).timestamp())
    if source == "zendesk":
        body["satisfaction_rating"].update(ticket_id=ticket, assignee_id=agent, score="good" if good else "bad",
                                           created_at=iso, updated_at=iso)
    elif source == "freshdesk":
        body.update(ticket_id=ticket, agent_id=agent, ratings={"default_question": 103 if good else -103},
                    created_at=iso, updated_at=iso)
    elif source == "intercom":
        item = body["data"]["item"]
        item["id"] = str(ticket)
        item["conversation_rating"].update(rating=5 if good else 1, created_at=unix)
        item["conversation_rating"]["teammate"]["id"] = str(agent)
    elif source == "chatwoot":
        body["conversation"]["id"] = ticket
        body["assigned_agent"]["id"] = agent
        body.update(rating=5 if good else 1, created_at=iso, updated_at=iso)
    else:
        body.update(ticketId=ticket, rating="Great" if good else "Bad", createdAt=iso, modifiedAt=iso)
        body["user"]["id"] = agent
    return body


# --------------------------------------------------------------------------- pure: payloads


@pytest.mark.parametrize("source, ticket, agent, stars, rated_at", [
    ("zendesk", "208", "135", 5, datetime(2026, 11, 20, 14, 3)),
    ("freshdesk", "4411", "5001", 5, datetime(2026, 11, 20, 14, 3)),
    ("intercom", "1911149811", "814860", 5, datetime(2026, 11, 20, 14, 3)),
    ("chatwoot", "4021", "7", 5, datetime(2026, 11, 20, 14, 6)),
    ("helpscout", "1560011", "4455", 5, datetime(2026, 11, 20, 14, 12)),
])
def test_every_example_reads_as_a_rating(source, ticket, agent, stars, rated_at):
    event = parse(source, example(source))
    assert isinstance(event, HookEvent)
    assert (event.ticket_id, event.agent_id, event.stars, event.rated_at) == (ticket, agent, stars, rated_at)
    assert event.interaction_id == f"{source}-{ticket}"
    assert event.comment
    assert event.channel == ("chat" if source in ("intercom", "chatwoot") else "email")


@pytest.mark.parametrize("source, score, stars", [
    ("zendesk", "good", 5), ("zendesk", "bad", 1), ("zendesk", "Good", 5), ("zendesk", 4, 4), ("zendesk", "2", 2),
    ("helpscout", "Great", 5), ("helpscout", "Okay", 3), ("helpscout", "Bad", 1), ("helpscout", "Not Good", 1),
    ("freshdesk", 103, 5), ("freshdesk", 102, 4), ("freshdesk", 100, 3), ("freshdesk", -102, 2), ("freshdesk", -103, 1),
    ("intercom", 1, 1), ("intercom", 5, 5), ("chatwoot", 3, 3), ("chatwoot", "4", 4),
])
def test_scales_map_scores_to_stars(source, score, stars):
    body = payload(source, ticket=1, agent=2)
    if source == "zendesk":
        body["satisfaction_rating"]["score"] = score
    elif source == "freshdesk":
        body["ratings"] = {"default_question": score}
    elif source == "intercom":
        body["data"]["item"]["conversation_rating"]["rating"] = score
    else:
        body["rating"] = score
    assert parse(source, body).stars == stars


@pytest.mark.parametrize("source, score", [
    ("zendesk", "meh"), ("zendesk", 6), ("zendesk", 0), ("helpscout", "Super"), ("freshdesk", 5),
    ("intercom", 7), ("chatwoot", None), ("zendesk", True),
])
def test_unknown_scores_are_refused_naming_the_field(source, score):
    body = payload(source, ticket=1, agent=2)
    if source == "zendesk":
        body["satisfaction_rating"]["score"] = score
    elif source == "freshdesk":
        body["ratings"] = {"default_question": score}
    elif source == "intercom":
        body["data"]["item"]["conversation_rating"]["rating"] = score
    else:
        body["rating"] = score
    with pytest.raises(HookError, match="rating|score"):
        parse(source, body)


def test_configured_scales_override_the_defaults():
    scales = parse_scales('{"zendesk": {"bad": 2}, "helpscout": {"okay": 4}}')
    assert scales["zendesk"] == {"good": 5, "bad": 2} and scales["helpscout"]["okay"] == 4
    assert scales["freshdesk"] == DEFAULT_SCALES["freshdesk"]
    body = payload("zendesk", ticket=1, agent=2, good=False)
    assert parse("zendesk", body, scales).stars == 2


@pytest.mark.parametrize("text, problem", [
    ("{", "not JSON"), ("[1]", "JSON object"), ('{"jira": {}}', "unknown source"),
    ('{"zendesk": 5}', "map each score"), ('{"zendesk": {"good": 6}}', "1-5"), ('{"zendesk": {"good": "5"}}', "1-5"),
])
def test_bad_scales_are_refused(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_scales(text)


def test_a_bad_scales_setting_stops_with_one_line(monkeypatch):
    monkeypatch.setenv("STARBOARD_HOOK_SCALES", '{"zendesk": {"good": 9}}')
    result = run_cli("rank", "--db", "sqlite:///nowhere.db")
    assert result.returncode == 2 and "STARBOARD_HOOK_SCALES" in result.stderr and "Traceback" not in result.stderr


def _drop(body: dict, path: str) -> dict:
    *parents, last = path.split(".")
    node = body
    for step in parents:
        node = node[step]
    del node[last]
    return body


@pytest.mark.parametrize("source, path", [
    ("zendesk", "satisfaction_rating.assignee_id"), ("zendesk", "satisfaction_rating.ticket_id"),
    ("zendesk", "satisfaction_rating.created_at"),
    ("freshdesk", "agent_id"), ("freshdesk", "ratings"),
    ("intercom", "data.item.conversation_rating.teammate"), ("intercom", "data.item.id"), ("intercom", "data"),
    ("chatwoot", "assigned_agent"), ("chatwoot", "conversation"),
    ("helpscout", "user"), ("helpscout", "ticketId"), ("helpscout", "createdAt"),
])
def test_missing_fields_are_named(source, path):
    body = _drop(payload(source, ticket=1, agent=2), path)
    if source == "helpscout" and path == "createdAt":
        del body["modifiedAt"]
    if source == "zendesk" and path.endswith("created_at"):
        del body["satisfaction_rating"]["updated_at"]
    last = path.split(".")[-1]
    with pytest.raises(HookError) as caught:
        parse(source, body)
    assert last in str(caught.value) or path.split(".")[0] in str(caught.value)


@pytest.mark.parametrize("source, body, reason", [
    ("zendesk", {"satisfaction_rating": {"score": "offered", "ticket_id": 1, "assignee_id": 2}}, "offered"),
    ("intercom", {"topic": "conversation.user.created", "data": {}}, "conversation.user.created"),
    ("chatwoot", {"event": "message_created"}, "message_created"),
])
def test_notifications_without_a_rating_are_ignored(source, body, reason):
    found = parse(source, body)
    assert isinstance(found, Ignored) and reason in found.reason


@pytest.mark.parametrize("body", [[], "x", 5, None])
def test_a_payload_must_be_an_object(body):
    with pytest.raises(HookError, match="JSON object"):
        parse("zendesk", body)


def test_times_and_ids_are_checked():
    body = payload("zendesk", ticket=1, agent=2)
    body["satisfaction_rating"]["updated_at"] = "last Tuesday"
    with pytest.raises(HookError, match="ISO 8601"):
        parse("zendesk", body)
    body = payload("freshdesk", ticket={"nested": 1}, agent=2)
    with pytest.raises(HookError, match="ticket_id must be an id"):
        parse("freshdesk", body)
    body = payload("chatwoot", ticket="x" * 81, agent=2)
    with pytest.raises(HookError, match="conversation.id"):
        parse("chatwoot", body)
    offset = payload("zendesk", ticket=1, agent=2)
    offset["satisfaction_rating"]["updated_at"] = "2026-11-20T16:03:00+02:00"
    assert parse("zendesk", offset).rated_at == datetime(2026, 11, 20, 14, 3)


# --------------------------------------------------------------------------- pure: signatures


BODY = b'{"rating": 5}'


def test_signatures_are_each_sources_own():
    # Computed here independently of leaderboard.hooks, as each help desk documents it.
    stamp = "2026-11-20T14:03:00Z"
    zendesk = base64.b64encode(hmac.new(b"k", stamp.encode() + BODY, hashlib.sha256).digest()).decode()
    intercom = "sha1=" + hmac.new(b"k", BODY, hashlib.sha1).hexdigest()
    helpscout = base64.b64encode(hmac.new(b"k", BODY, hashlib.sha1).digest()).decode()
    assert sign("zendesk", "k", BODY, timestamp=stamp) == {
        "X-Zendesk-Webhook-Signature": zendesk, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    assert sign("intercom", "k", BODY) == {"X-Hub-Signature": intercom}
    assert sign("helpscout", "k", BODY) == {"X-HelpScout-Signature": helpscout}
    assert not signs("freshdesk") and not signs("chatwoot")


@pytest.mark.parametrize("source", sorted(SIGNATURE_HEADERS))
def test_signature_checks(source):
    good = sign(source, SIGNING, BODY)
    assert signature_ok(source, SIGNING, BODY, good)
    assert signature_ok(source, SIGNING, BODY, {k.lower(): v for k, v in good.items()})  # any header case
    assert not signature_ok(source, "another secret", BODY, good)
    assert not signature_ok(source, SIGNING, BODY + b" ", good)  # the body was changed
    assert not signature_ok(source, SIGNING, BODY, {})
    assert not signature_ok(source, "", BODY, good)
    if source == "zendesk":
        assert not signature_ok(source, SIGNING, BODY, {**good, "X-Zendesk-Webhook-Signature-Timestamp": "other"})
        assert not signature_ok(source, SIGNING, BODY, {"X-Zendesk-Webhook-Signature": good[SIGNATURE_HEADERS[source]]})


# --------------------------------------------------------------------------- the write path: never rolled back


def _row(iid: str, *, stars: int, at: datetime) -> CanonicalRow:
    return CanonicalRow(interaction_id=iid, agent="Order Agent", team="Order", site="Order Site", channel="chat",
                        contact_reason="billing", closed_at=T0 - timedelta(hours=1), rated_at=at, stars=stars)


@pytest.mark.parametrize("minutes, stars, outcome, kept", [
    (-10, 5, "stale", 1),  # older: never rolls the stored answer back
    (-10, 1, "stale", 1),
    (0, 1, "unchanged", 1),  # the same answer again
    (0, 4, "updated", 4),  # the same time, another answer: equal wins
    (10, 5, "updated", 5),  # newer wins
])
def test_only_a_newer_or_equal_answer_replaces_the_stored_one(engine, minutes, stars, outcome, kept):
    write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[_row("ORD-1", stars=1, at=T0)])
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER,
                        rows=[_row("ORD-1", stars=stars, at=T0 + timedelta(minutes=minutes))])
    assert hook_intake.outcome(report).status == outcome
    assert report.read == report.inserted + report.updated + report.unchanged
    with engine.connect() as conn:
        assert conn.execute(text("SELECT stars FROM rating")).scalars().all() == [kept]
        edits = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'rating_edited'")).scalar()
    assert edits == (1 if outcome == "updated" else 0)


# --------------------------------------------------------------------------- commands


def test_agents_link_needs_one_agent(db_env, engine):
    rows = [
        CanonicalRow(interaction_id=f"L-{i}", agent="José Núñez", team="Blue", site=site, channel="phone",
                     contact_reason="", closed_at=T0)
        for i, site in enumerate(("Manila", "Cebu"))
    ]
    write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
    error = run_cli("agents", "link", "zendesk", "135", "jose nunez", db=db_env).error_line()
    assert "2 agents are called" in error and "--site" in error
    assert "no agent" in run_cli("agents", "link", "zendesk", "135", "Nobody", db=db_env).error_line()
    assert "unknown source" in run_cli("agents", "link", "jira", "135", "jose nunez", "--site", "Cebu",
                                       db=db_env).error_line()
    done = run_cli("agents", "link", "zendesk", "135", "jose nunez", "--site", "Cebu", db=db_env)
    assert done.returncode == 0, done.stderr
    assert "zendesk agent 135 -> José Núñez" in done.stdout and "replayed 0" in done.stdout
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT s.name FROM agent_link l JOIN agent a ON a.id = l.agent_id JOIN team t ON t.id = a.team_id "
            "JOIN site s ON s.id = t.site_id WHERE l.source = 'zendesk' AND l.external_id = '135'")).scalar() == "Cebu"
        audit = conn.execute(text("SELECT actor, target, detail FROM audit_log WHERE action = 'agent_linked'")).all()
    assert audit == [("system", "José Núñez", "zendesk agent 135")]


def test_apikeys_secret_reads_stdin_and_is_never_shown(db_env, engine):
    assert run_cli("apikeys", "add", "zd", "--source", "zendesk", db=db_env).returncode == 0
    assert run_cli("apikeys", "add", "fd", "--source", "freshdesk", db=db_env).returncode == 0
    assert "no signing secret" in run_cli("apikeys", "secret", "zd", db=db_env).error_line()
    done = run_cli("apikeys", "secret", "zd", stdin=SIGNING + "\n", db=db_env)
    assert done.returncode == 0 and SIGNING not in done.stdout + done.stderr
    listed = run_cli("apikeys", "list", "--format", "json", db=db_env)
    assert SIGNING not in listed.stdout
    shown = {k["name"]: k["signing_secret"] for k in json.loads(listed.stdout)}
    assert shown == {"zd": "set", "fd": "-"}
    assert "only zendesk, intercom, helpscout sign" in run_cli(
        "apikeys", "secret", "fd", stdin="x\n", db=db_env).error_line()
    assert "no API key" in run_cli("apikeys", "secret", "nope", stdin="x\n", db=db_env).error_line()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT signing_secret FROM api_key WHERE name = 'zd'")).scalar() == SIGNING
        audit = conn.execute(text("SELECT action, detail FROM audit_log WHERE target = 'zd' ORDER BY id")).all()
    assert ("apikey_secret_set", "source=zendesk") in audit and all(SIGNING not in d for _, d in audit)
    assert run_cli("apikeys", "secret", "zd", "--clear", db=db_env).returncode == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT signing_secret FROM api_key WHERE name = 'zd'")).scalar() == ""


# --------------------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """``streamlit run app.py`` on its own database; a high rate limit (429 is tested in test_http.py)."""
    with live_server(tmp_path_factory.mktemp("hooks"), name="hooks", interactions=2, rate_limit=1000) as server:
        yield server


def key_for(live, name: str, source: str, *, secret: str | None = None) -> str:
    added = run_cli("apikeys", "add", name, "--source", source, db=live.db_url)
    assert added.returncode == 0, added.stderr
    if secret:
        assert run_cli("apikeys", "secret", name, stdin=secret + "\n", db=live.db_url).returncode == 0
    return added.stdout.strip().splitlines()[-1]


def send(live, source: str, key: str | None, body, *, secret: str | None = SIGNING, headers: dict | None = None):
    data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    sent = {"Content-Type": "application/json"}
    if key:
        sent["Authorization"] = f"Bearer {key}"
    if secret and signs(source):
        sent.update(sign(source, secret, data))
    sent.update(headers or {})
    return requests.post(f"{live.url}/api/v1/hooks/{source}", data=data, headers=sent, timeout=30)


def rating_of(live, interaction_id: str) -> list[tuple]:
    with live.engine.connect() as conn:
        return conn.execute(text(
            "SELECT r.stars, a.name, i.channel FROM rating r JOIN interaction i ON i.id = r.interaction_id "
            "JOIN agent a ON a.id = r.agent_id WHERE i.interaction_id = :i"), {"i": interaction_id}).all()


def queued(live, source: str) -> list[tuple]:
    with live.engine.connect() as conn:
        return conn.execute(text(
            "SELECT interaction_id, stars FROM unmatched_rating WHERE source = :s ORDER BY interaction_id"),
            {"s": source}).all()


@pytest.mark.parametrize("source", SOURCES)
def test_a_help_desk_rating_lands_once_and_is_never_rolled_back(live, source):
    key = key_for(live, f"{source}-main", source, secret=SIGNING if signs(source) else None)
    linked = run_cli("agents", "link", source, f"{source}-a1", AGENT, db=live.db_url)
    assert linked.returncode == 0, linked.stderr
    iid, channel = f"{source}-9001", ("chat" if source in ("intercom", "chatwoot") else "email")

    first = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1"))
    assert (first.status_code, first.json()["status"], first.json()["interaction_id"]) == (200, "inserted", iid)
    assert rating_of(live, iid) == [(5, AGENT, channel)]

    again = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1"))  # a retry
    assert (again.status_code, again.json()["status"]) == (200, "unchanged")

    edited = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1", good=False,
                                             at=T0 + timedelta(minutes=10)))
    assert (edited.status_code, edited.json()["status"]) == (200, "updated")
    assert rating_of(live, iid) == [(1, AGENT, channel)]

    late = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1", good=True,
                                           at=T0 + timedelta(minutes=5)))  # the first answer, delivered late
    assert (late.status_code, late.json()["status"]) == (200, "stale")
    assert rating_of(live, iid) == [(1, AGENT, channel)]

    malformed = send(live, source, key, b'{"ticket_id": ')
    assert malformed.status_code == 400 and "malformed JSON" in malformed.json()["error"]
    missing = payload(source, ticket=9002, agent=f"{source}-a1")
    missing.pop("user" if source == "helpscout" else "assigned_agent" if source == "chatwoot" else "agent_id"
                if source == "freshdesk" else "data" if source == "intercom" else "satisfaction_rating")
    refused = send(live, source, key, missing)
    assert refused.status_code == 400 and refused.json()["error"].startswith(f"{source} payload: ")

    if signs(source):
        forged = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1", good=True,
                                                 at=T0 + timedelta(hours=1)), secret="not the secret")
        assert forged.status_code == 401 and SIGNATURE_HEADERS[source] in forged.json()["error"]
        unsigned = send(live, source, key, payload(source, ticket=9001, agent=f"{source}-a1"), secret=None)
        assert unsigned.status_code == 401

    other = "freshdesk" if source != "freshdesk" else "zendesk"
    wrong = send(live, source, key_for(live, f"{source}-wrong", other), payload(source, ticket=9001,
                                                                                  agent=f"{source}-a1"))
    assert wrong.status_code == 403 and f"--source {source}" in wrong.json()["error"]

    revoked_key = key_for(live, f"{source}-old", source, secret=SIGNING if signs(source) else None)
    assert run_cli("apikeys", "revoke", f"{source}-old", db=live.db_url).returncode == 0
    assert send(live, source, revoked_key, payload(source, ticket=9001, agent=f"{source}-a1")).status_code == 401
    assert send(live, source, None, payload(source, ticket=9001, agent=f"{source}-a1")).status_code == 401

    # Nothing doubled, nothing rolled back, nothing written by the refused requests.
    assert rating_of(live, iid) == [(1, AGENT, channel)]
    assert rating_of(live, f"{source}-9002") == []
    with live.engine.connect() as conn:
        edits = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'rating_edited' AND target = :t"),
                             {"t": f"interaction {iid}"}).scalars().all()
        logged = conn.execute(text("SELECT status FROM api_request WHERE key_name = :k ORDER BY id"),
                              {"k": f"{source}-main"}).scalars().all()
    assert len(edits) == 1 and "stars 5 -> 1" in edits[0]
    assert logged[:6] == [200, 200, 200, 200, 400, 400]


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_agent_waits_until_linked_then_is_replayed(live, source):
    key = key_for(live, f"{source}-queue", source, secret=SIGNING if signs(source) else None)
    ghost = f"{source}-ghost"
    for ticket, good in ((7001, True), (7002, False)):
        answer = send(live, source, key, payload(source, ticket=ticket, agent=ghost, good=good))
        assert (answer.status_code, answer.json()["status"], answer.json()["agent_id"]) == (202, "unmatched", ghost)
    again = send(live, source, key, payload(source, ticket=7001, agent=ghost))
    assert (again.status_code, again.json()["status"]) == (202, "unmatched")
    late = send(live, source, key, payload(source, ticket=7002, agent=ghost, good=True, at=T0 - timedelta(hours=1)))
    assert (late.status_code, late.json()["status"]) == (200, "stale")  # older than the queued answer
    assert queued(live, source) == [(f"{source}-7001", 5), (f"{source}-7002", 1)]
    assert rating_of(live, f"{source}-7001") == []

    linked = run_cli("agents", "link", source, ghost, AGENT, db=live.db_url)
    assert linked.returncode == 0, linked.stderr
    assert "replayed 2 queued rating(s)" in linked.stdout
    assert queued(live, source) == []
    assert [r[:2] for r in rating_of(live, f"{source}-7001")] == [(5, AGENT)]
    assert [r[:2] for r in rating_of(live, f"{source}-7002")] == [(1, AGENT)]
    # From now on the id is known: straight in.
    direct = send(live, source, key, payload(source, ticket=7003, agent=ghost))
    assert (direct.status_code, direct.json()["status"]) == (200, "inserted")
    with live.engine.connect() as conn:
        cases = conn.execute(text(
            "SELECT count(*) FROM recovery_case c JOIN rating r ON r.id = c.rating_id JOIN interaction i "
            "ON i.id = r.interaction_id WHERE i.interaction_id = :i"), {"i": f"{source}-7002"}).scalar()
    assert cases == 1  # a replayed 1-star opens its recovery case like any other


def test_oversized_and_ignored_requests(live):
    key = key_for(live, "zendesk-misc", "zendesk")  # no signing secret: signatures are not checked
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    assert send(live, "zendesk", key, big, secret=None).status_code == 413
    offered = send(live, "zendesk", key, {"satisfaction_rating": {"score": "offered", "ticket_id": 5,
                                                                  "assignee_id": 6}}, secret=None)
    assert (offered.status_code, offered.json()["status"]) == (200, "ignored")
    intercom = key_for(live, "intercom-misc", "intercom")
    other_topic = send(live, "intercom", intercom, {"topic": "conversation.admin.closed", "data": {}}, secret=None)
    assert (other_topic.status_code, other_topic.json()["status"]) == (200, "ignored")


def test_the_ratings_api_never_rolls_an_answer_back_either(live):
    key = live.new_key("ratings-order")
    base = {"interaction_id": "API-ORDER-1", "agent": AGENT, "team": TEAM, "site": "HQ", "channel": "chat",
            "contact_reason": "billing", "closed_at": (T0 - timedelta(hours=1)).isoformat(sep=" ")}
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    site = live.scalar("SELECT s.name FROM agent a JOIN team t ON t.id = a.team_id JOIN site s ON s.id = t.site_id "
                       "WHERE a.name = :n", n=AGENT)
    base["site"] = site

    def post(stars: int, minutes: int) -> str:
        body = {**base, "stars": stars, "rated_at": (T0 + timedelta(minutes=minutes)).isoformat(sep=" ")}
        answer = requests.post(f"{live.url}/api/v1/ratings", data=json.dumps(body), headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["results"][0]["status"]

    assert post(2, 10) == "inserted"
    assert post(5, 0) == "unchanged"  # older: kept the newer answer
    assert live.scalar("SELECT r.stars FROM rating r JOIN interaction i ON i.id = r.interaction_id "
                       "WHERE i.interaction_id = 'API-ORDER-1'") == 2
    assert post(4, 20) == "updated"


# --------------------------------------------------------------------------- the Data page


def test_the_data_page_shows_the_unmatched_queue_and_links_from_it(db_env, engine):
    write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[CanonicalRow(
        interaction_id="P-1", agent="Ana Reyes", team="Blue", site="Manila", channel="phone", contact_reason="",
        closed_at=T0)])
    for ticket in (11, 12):
        event = parse("chatwoot", payload("chatwoot", ticket=ticket, agent=77, good=ticket == 11))
        assert hook_intake.receive(engine=engine, event=event).status == "unmatched"
    at = app_as("hooks.admin", role="admin")
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    shown = next(d for d in at.dataframe if "external_agent_id" in d.value.columns).value
    assert shown.to_dict("records")[0] | {"latest": None} == {
        "source": "chatwoot", "external_agent_id": "77", "external_agent_name": "Maria Santos", "ratings": 2,
        "latest": None}
    assert any("Unmatched help-desk ratings (2)" in e.label for e in at.expander)
    at.text_input(key="data_link_agent").input("ana reyes")
    next(b for b in at.button if "Link and write" in b.label).click().run()
    assert not at.exception
    assert any("2 rating(s) written" in s.value for s in at.success)
    assert not [d for d in at.dataframe if "external_agent_id" in d.value.columns]
    with engine.connect() as conn:
        stars = conn.execute(text(
            "SELECT i.interaction_id, r.stars, a.name FROM rating r JOIN interaction i ON i.id = r.interaction_id "
            "JOIN agent a ON a.id = r.agent_id ORDER BY i.interaction_id")).all()
        who = conn.execute(text("SELECT actor FROM audit_log WHERE action = 'agent_linked'")).scalars().all()
    assert stars == [("chatwoot-11", 5, "Ana Reyes"), ("chatwoot-12", 1, "Ana Reyes")]
    assert who == ["hooks.admin"]
