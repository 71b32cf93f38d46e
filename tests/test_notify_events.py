"""What is notified and when (issue 15): recovery alerts, celebrations, badges, digests, weekly recognition.

The real ``db.notify_store.queue_notification`` runs (wrapped so a test sees each call): kinds,
scopes and messages are asserted where they are made; delivery is tested with destinations.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from db import notify_store
from db.models import AppMeta, RecoveryCase, User, utcnow
from leaderboard import badges
from leaderboard import notify_messages as words
from leaderboard.notify_jobs import run_scheduled
from leaderboard.settings import Settings
from leaderboard.auth import SYSTEM_VIEWER
from tests.cli_util import run_cli
from tests.factories import add_rows, make_agent, make_team, make_user, rating_row

MANILA = "Asia/Manila"  # UTC+8, no daylight saving


@pytest.fixture
def calls(monkeypatch):
    """Every queue_notification call (kind, dedupe_key, scope, message), the real function still run."""
    seen: list[dict] = []
    real = notify_store.queue_notification

    def recording(conn, **kwargs):
        seen.append(kwargs)
        return real(conn, **kwargs)

    monkeypatch.setattr(notify_store, "queue_notification", recording)
    return seen


def _kind(calls, kind):
    return [c for c in calls if c["kind"] == kind]


# --------------------------------------------------------------------------- pure rules


def _item(iid, stars, comment="", minute=0):
    return words.DigestItem(interaction_id=iid, agent="A", stars=stars, comment=comment,
                            rated_at=datetime(2026, 11, 30, 2, minute))


def test_best_is_most_stars_then_longest_comment_then_newest_and_worst_fewest_stars_then_newest():
    items = [
        _item("a", 5, "ok", 1), _item("b", 5, "a much longer comment", 2), _item("c", 4, "the longest comment of all of them", 3),
        _item("d", 5, "same length!", 4), _item("e", 5, "same   length!", 5),  # spaces collapse: ties, newer wins
        _item("f", 1, "", 6), _item("g", 2, "", 7), _item("h", 1, "", 8), _item("i", 3, "", 9),
    ]
    assert [i.interaction_id for i in words.pick_best(items)] == ["b", "e", "d"]
    assert [i.interaction_id for i in words.pick_worst(items)] == ["h", "f", "g"]
    assert words.pick_best([_item("x", 3, "long long long")]) == []  # 3★ is never "best"
    assert words.pick_worst([_item("x", 4)]) == []


@pytest.mark.parametrize("stars, comment, improve, hidden, expected", [
    (5, "Lovely", (), False, True),
    (5, "", (), False, False),  # no comment
    (5, "   ", (), False, False),
    (5, "Lovely but slow", ("speed",), False, False),  # names something to improve: criticism
    (4, "Lovely", (), False, False),
    (1, "Awful", (), False, False),
    (5, "Lovely", (), True, False),  # opted out of the wall
])
def test_who_is_celebrated(stars, comment, improve, hidden, expected):
    assert words.is_celebration(stars=stars, comment=comment, to_improve=improve, hide_from_wall=hidden) is expected


def test_recovery_line_reads_like_the_issue():
    now = datetime(2026, 11, 30, 8, 0)
    line = words.recovery_line(agent="Paolo R.", stars=1, comment="Worst experience of my life, never again!!",
                               interaction_id="DEMO-038512", due=now + timedelta(hours=2), now=now)
    assert line == "Paolo R. · 1★ · 'Worst experience of my life, never…' · case DEMO-038512 · due in 2 h"


def test_digest_and_weekly_are_due_in_local_time():
    at = words.parse_clock("17:30")
    assert words.digest_due(datetime(2026, 11, 30, 9, 29), MANILA, at) is None  # 17:29 in Manila
    assert words.digest_due(datetime(2026, 11, 30, 9, 30), MANILA, at) == date(2026, 11, 30)
    assert words.digest_due(datetime(2026, 11, 30, 16, 0), MANILA, at) is None  # 00:00 the next day
    assert words.weekly_due(datetime(2026, 11, 30, 0, 59), MANILA) is None  # Monday 08:59
    assert words.weekly_due(datetime(2026, 11, 30, 1, 0), MANILA) == date(2026, 11, 23)  # last week
    assert words.weekly_due(datetime(2026, 12, 1, 1, 0), MANILA) is None  # Tuesday
    with pytest.raises(ValueError, match="17:30"):
        words.parse_clock("5pm")


# --------------------------------------------------------------------------- the write path


def _floor(engine):
    make_team(engine, "Bayanihan", site="Manila", tz=MANILA, leader="lena.lead")
    make_agent(engine, "Paolo Reyes", team="Bayanihan", site="Manila")
    make_agent(engine, "Hidden Hana", team="Bayanihan", site="Manila", hide_from_wall=True)
    with Session(engine) as s:
        return s.exec(select(User).where(User.username == "lena.lead")).one()


def _row(agent, stars, **kw):
    return rating_row(agent=agent, stars=stars, team="Bayanihan", site="Manila", **kw)


def test_a_low_rating_alerts_the_team_leader_privately_in_the_same_write(engine, calls):
    lead = _floor(engine)
    row = _row("Paolo Reyes", 1, comment="Worst experience ever, I was on hold for an hour", interaction_id="DEMO-038512")
    add_rows(engine, [row])
    alerts = _kind(calls, "recovery")
    assert len(alerts) == 1
    alert = alerts[0]
    with Session(engine) as s:
        case = s.exec(select(RecoveryCase)).one()
    assert alert["user_id"] == lead.id and alert["team_id"] is not None
    assert alert["dedupe_key"] == f"recovery:case:{case.id}"
    line = alert["message"]["lines"][0]
    assert line.startswith("Paolo R. · 1★ · 'Worst experience ever, I was on hold…' · case DEMO-038512 · due in ")
    assert alert["message"]["link"].endswith(f"/recovery?case={case.id}")
    assert not _kind(calls, "celebration")
    # The same row again opens nothing new and alerts nobody again.
    calls.clear()
    add_rows(engine, [row])
    assert not _kind(calls, "recovery")


def test_history_imports_alert_and_celebrate_nothing(engine, calls):
    _floor(engine)
    old = utcnow() - timedelta(days=3)
    add_rows(engine, [_row("Paolo Reyes", 1, rated_at=old), _row("Paolo Reyes", 5, comment="Great", rated_at=old)])
    assert calls == []


def test_celebrations_are_praise_only(engine, calls):
    _floor(engine)
    add_rows(engine, [
        _row("Paolo Reyes", 5, comment="Paolo was <b>brilliant</b> <!here>", interaction_id="GOOD-1"),
        _row("Paolo Reyes", 5, comment="Quick, but rude at the end", to_improve=["courtesy"], interaction_id="C-1"),
        _row("Paolo Reyes", 5, comment="", interaction_id="C-2"),
        _row("Paolo Reyes", 4, comment="Nice", interaction_id="C-3"),
        _row("Paolo Reyes", 3, comment="Meh", interaction_id="C-4"),
        _row("Hidden Hana", 5, comment="Hana was wonderful", interaction_id="C-5"),
    ])
    cheers = _kind(calls, "celebration")
    assert len(cheers) == 1
    message = cheers[0]["message"]
    assert message["title"] == "Paolo R. · 5★"
    assert message["lines"] == ["Paolo was <b>brilliant</b> <!here>"]  # raw text: each channel's renderer escapes it
    assert message["link"] is None
    assert "GOOD-1" not in str(message)  # nothing but the public name, stars and comment (and the team)
    assert cheers[0]["dedupe_key"].startswith("celebration:rating:")
    # A stale answer (older than the stored one) celebrates nothing, even when it would qualify.
    calls.clear()
    stored = utcnow() - timedelta(minutes=1)
    add_rows(engine, [_row("Paolo Reyes", 2, comment="Bad", rated_at=stored, interaction_id="LATE-1")])
    calls.clear()
    add_rows(engine, [_row("Paolo Reyes", 5, comment="Great", rated_at=stored - timedelta(minutes=5),
                           interaction_id="LATE-1")])
    assert not _kind(calls, "celebration")


def test_a_badge_won_is_announced_unless_the_agent_is_hidden(session, calls):
    lead = _floor(session.get_bind())
    paolo = make_agent(session, "Paolo Reyes", team="Bayanihan", site="Manila")
    hana = make_agent(session, "Hidden Hana", team="Bayanihan", site="Manila", hide_from_wall=True)
    badges.award(session=session, agent_id=paolo.id, badge_code="Empathetic", by_user_id=lead.id,
                 reason="Stayed calm with an angry caller")
    badges.award(session=session, agent_id=hana.id, badge_code="Empathetic", by_user_id=lead.id, reason="Kind")
    won = _kind(calls, "badge")
    assert len(won) == 1
    assert won[0]["message"]["title"] == "Paolo R. won the Empathetic badge"
    assert "Stayed calm" not in str(won[0]["message"])  # the leader's reason stays in Starboard


# --------------------------------------------------------------------------- the daily digest (hand-made day)


def _day(engine):
    """Monday 2026-11-30 in Manila (UTC+8): times below are UTC."""
    lead = _floor(engine)
    make_agent(engine, "Maria Santos", team="Bayanihan", site="Manila")
    d = datetime(2026, 11, 30)
    rows = [
        _row("Maria Santos", 5, comment="Short", rated_at=d + timedelta(hours=1), interaction_id="D-5short"),
        _row("Paolo Reyes", 5, comment="Maria? no, Paolo <script>alert(1)</script> was superb", rated_at=d + timedelta(hours=2),
             interaction_id="D-5long"),
        _row("Maria Santos", 4, comment="A four with the longest comment of the whole day, by far", rated_at=d + timedelta(hours=3),
             interaction_id="D-4"),
        _row("Paolo Reyes", 1, comment="Terrible", rated_at=d + timedelta(hours=1), interaction_id="D-1old"),
        _row("Maria Santos", 1, comment="Awful", rated_at=d + timedelta(hours=4), interaction_id="D-1new"),
        _row("Paolo Reyes", 2, comment="Slow", rated_at=d + timedelta(hours=5), interaction_id="D-2"),
        _row("Paolo Reyes", 3, comment="Okay", rated_at=d + timedelta(hours=6), interaction_id="D-3"),
        # Outside the day: the evening before (local) and after the 17:30 sending.
        _row("Paolo Reyes", 5, comment="Yesterday's very very long comment", rated_at=d - timedelta(hours=9),
             interaction_id="X-before"),
        _row("Paolo Reyes", 1, comment="After sending", rated_at=d + timedelta(hours=10), interaction_id="X-after"),
    ]
    add_rows(engine, rows)
    return lead


def test_digest_for_a_hand_made_day(engine, db_url):
    _day(engine)
    done = run_cli("digest", "--leader", "lena.lead", "--date", "2026-11-30", db=db_url)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    best = text.split("\nBest:\n")[1].split("\nWorst:\n")[0].splitlines()
    worst = text.split("\nWorst:\n")[1].split("\nRatio:\n")[0].splitlines()
    assert [line.rsplit(" · ", 1)[1] for line in best] == ["D-5long", "D-5short", "D-4"]
    assert [line.rsplit(" · ", 1)[1] for line in worst] == ["D-1new", "D-1old", "D-2"]
    assert best[0].startswith("  10:00 · Paolo Reyes · 5★ · ")  # local time, the private full name
    assert "X-before" not in text and "X-after" not in text
    assert "7 ratings, average 3.00★" in text
    assert "Daily digest for Manila/Bayanihan — Mon 30 Nov 2026" in text
    assert "target 5 : 1" in text
    html_out = run_cli("digest", "--leader", "lena.lead", "--date", "2026-11-30", "--format", "html", db=db_url)
    assert html_out.returncode == 0
    assert "<script>" not in html_out.stdout and "&lt;script&gt;" in html_out.stdout


def test_digest_bad_input_is_one_clear_line(engine, db_url):
    _floor(engine)
    make_user(engine, "agent.ann", role="agent")
    assert "no user 'nobody'" in run_cli("digest", "--leader", "nobody", "--date", "2026-11-30", db=db_url).error_line()
    assert "digests go to team leaders and managers" in run_cli(
        "digest", "--leader", "agent.ann", "--date", "2026-11-30", db=db_url).error_line()
    assert "2026-13-01" in run_cli("digest", "--leader", "lena.lead", "--date", "2026-13-01", db=db_url).error_line()


def test_scheduled_digest_is_queued_once_at_the_local_time(engine, calls):
    lead = _day(engine)
    settings = Settings()
    run_scheduled(engine=engine, now=datetime(2026, 11, 30, 9, 29), settings=settings)
    assert not _kind(calls, "digest")
    run_scheduled(engine=engine, now=datetime(2026, 11, 30, 9, 31), settings=settings)
    digests = _kind(calls, "digest")
    assert len(digests) == 1 and digests[0]["user_id"] == lead.id
    assert digests[0]["dedupe_key"] == f"digest:{lead.id}:2026-11-30"
    assert any("D-5long" in line for line in digests[0]["message"]["lines"])
    run_scheduled(engine=engine, now=datetime(2026, 11, 30, 9, 40), settings=settings)
    assert len(_kind(calls, "digest")) == 1  # claimed: nothing built or queued again
    with Session(engine) as s:
        assert s.get(AppMeta, f"notify:digest:{lead.id}:2026-11-30") is not None


def test_overdue_case_is_reminded_once(engine, calls):
    lead = _floor(engine)
    add_rows(engine, [_row("Paolo Reyes", 1, comment="Never again", interaction_id="LATE-CASE")])
    settings = Settings(digest_time="23:59")
    later = utcnow() + timedelta(hours=3)  # past the 2 h due time
    run_scheduled(engine=engine, now=later - timedelta(hours=2), settings=settings)
    assert not _kind(calls, "recovery_overdue")
    run_scheduled(engine=engine, now=later, settings=settings)
    run_scheduled(engine=engine, now=later + timedelta(minutes=5), settings=settings)
    reminders = _kind(calls, "recovery_overdue")
    assert len(reminders) == 1 and reminders[0]["user_id"] == lead.id
    assert "overdue by" in reminders[0]["message"]["lines"][0]


def test_weekly_recognition_names_the_top_n_and_never_hidden_agents(engine, calls):
    _floor(engine)
    make_agent(engine, "Maria Santos", team="Bayanihan", site="Manila")
    monday = datetime(2026, 11, 23, 2)
    rows = []
    for k in range(6):
        at = monday + timedelta(hours=k)
        rows += [_row("Maria Santos", 5, rated_at=at), _row("Paolo Reyes", 4, rated_at=at),
                 _row("Hidden Hana", 5, rated_at=at + timedelta(minutes=1))]
    add_rows(engine, rows)
    settings = Settings(weekly_top_n=2, min_ratings=5, digest_time="23:59")
    run_scheduled(engine=engine, now=datetime(2026, 11, 30, 1, 5), settings=settings)  # Monday 09:05 Manila
    weekly = _kind(calls, "weekly")
    assert len(weekly) == 1
    lines = weekly[0]["message"]["lines"]
    text = "\n".join(lines)
    assert "Maria S." in text and "Hana" not in text
    assert all(not line.startswith("3.") for line in lines)  # nothing below the top 2
    run_scheduled(engine=engine, now=datetime(2026, 11, 30, 2, 0), settings=settings)
    assert len(_kind(calls, "weekly")) == 1


# --------------------------------------------------------------------------- end to end: destinations and a receiver


class _Receiver:
    """A local HTTP server standing in for Slack and a generic webhook: records (path, JSON body)."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        got = self.got = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path):
        return [body for p, body in self.got if p == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.close()


def test_end_to_end_private_alert_to_the_leader_only_and_praise_only_in_public(engine, receiver):
    import json

    from leaderboard import notify

    lead = _floor(engine)
    make_team(engine, "Other", site="Manila", leader="olga.other")
    make_agent(engine, "Paolo Reyes", team="Bayanihan", site="Manila", username="paolo.reyes")
    add = dict(engine=engine, viewer=SYSTEM_VIEWER)
    notify.add(**add, name="leaders", url=f"{receiver.url}/leaders", scope="team:Manila/Bayanihan",
               kinds="recovery,digest", type_="slack")
    notify.add(**add, name="lead-own", url=f"{receiver.url}/lead-own", scope="user:lena.lead", kinds="recovery")
    notify.add(**add, name="other-leaders", url=f"{receiver.url}/other", scope="team:Manila/Other", kinds="recovery")
    notify.add(**add, name="agent-own", url=f"{receiver.url}/agent", scope="user:paolo.reyes",
               kinds="celebration,badge")
    notify.add(**add, name="shout", url=f"{receiver.url}/shout", scope="site:Manila",
               kinds="celebration,badge,weekly", type_="slack")
    comment = "Paolo fixed it <!here> <@channel> [click](https://evil.example) <b>now</b>"
    add_rows(engine, [
        _row("Paolo Reyes", 1, comment="Worst experience <!channel>", interaction_id="DEMO-038512"),
        _row("Paolo Reyes", 5, comment=comment, interaction_id="GOOD-1"),
        _row("Paolo Reyes", 5, comment="Fast but rude", to_improve=["courtesy"], interaction_id="MIXED-1"),
        _row("Paolo Reyes", 2, comment="Slow", interaction_id="LOW-2"),
    ])
    counts = notify.run(engine=engine, settings=Settings(digest_time="23:59"))
    assert counts.failed == 0
    leaders, own, shout = receiver.at("/leaders"), receiver.at("/lead-own"), receiver.at("/shout")
    assert len(leaders) == 2 and len(own) == 2  # the two cases (1★ and 2★), to the leader's channels only
    assert receiver.at("/other") == []
    assert all("Recovery case opened" in json.dumps(b, ensure_ascii=False) for b in leaders + own)
    assert len(shout) == 1 and len(receiver.at("/agent")) == 1  # one celebration; never the mixed or low ones
    public = json.dumps(shout, ensure_ascii=False)
    for leak in ("Slow", "rude", "Worst", "DEMO-038512", "case"):
        assert leak not in public
    # Slack: nothing in the comment pings or links.
    text = shout[0]["text"]
    assert "<!here>" not in public and "<@channel>" not in public and "<!channel>" not in json.dumps(leaders)
    assert "&lt;!here&gt;" in text and "&lt;b&gt;now&lt;/b&gt;" in text
    assert "https://evil" not in public
    # Delivered once: another run sends nothing again.
    before = len(receiver.got)
    notify.run(engine=engine, settings=Settings(digest_time="23:59"))
    assert len(receiver.got) == before
    with Session(engine) as s:
        assert s.exec(select(User).where(User.id == lead.id)).one()
