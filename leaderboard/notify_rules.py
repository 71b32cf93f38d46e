"""Notification rules (pure: no database, no network): destinations' input, masking, quiet hours,
the per-minute collapse, and one renderer per channel.

A notification message is raw user text as data (see ``db.notify_store``):
``{"title": str, "lines": [str, ...], "link": str | None, "fields": [[label, value], ...]}``.
Each renderer escapes it for its channel so that nothing a customer or an agent wrote can
ping, link or format anything:

- Slack: ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;`` (Slack's own escaping
  rules), so ``<!here>``, ``<@channel>`` and ``<https://x|y>`` arrive as text; the text goes
  in ``plain_text`` blocks (no mrkdwn, no emoji names), the top-level text with
  ``"mrkdwn": false``; ``@channel``/``@here``/``@everyone`` get a word joiner after the ``@``;
  links are not unfurled, and ``scheme://`` and ``www.`` in user text get a zero-width space. Only our own link is a Slack link (``<url|Open>``).
- Teams: an Adaptive Card where user text is only in ``TextRun`` elements of a
  ``RichTextBlock`` (plain text: no markdown), with a zero-width space after every markdown
  or HTML character and inside ``scheme://`` as well, for clients that render more.
- Generic webhook: JSON with the raw strings (JSON is data; the receiver escapes).
- E-mail: a text part and an HTML part with every value HTML-escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from html import escape as html_escape
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PRIVATE_KINDS = ("recovery", "recovery_overdue", "digest")
PUBLIC_KINDS = ("celebration", "badge", "weekly")
KINDS = PRIVATE_KINDS + PUBLIC_KINDS
TYPES = ("slack", "teams", "webhook", "email")
MAX_NAME = 80
MAX_URL = 2000
DEFAULT_PER_MINUTE = 20
MAX_PER_MINUTE = 1000
# Collapsed message: at most this many titles listed before "and N more".
COLLAPSE_LIST = 10
MAX_ANSWER = 300

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_QUIET = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


class NotifyInputError(ValueError):
    """Bad destination input, phrased for the person who typed it."""


# --------------------------------------------------------------------------- destination input


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise NotifyInputError(
            f"NAME {name[:40]!r}: use 1-{MAX_NAME} letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def infer_type(url: str) -> str:
    """slack, teams, email or webhook from the URL's shape."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme == "mailto":
        return "email"
    if host == "hooks.slack.com":
        return "slack"
    if host.endswith(".webhook.office.com") or host == "outlook.office.com" or host.endswith(".logic.azure.com") \
            or host.endswith(".api.powerplatform.com") or host.endswith(".powerautomate.com"):
        return "teams"
    return "webhook"


def check_url(url: str, type_: str | None = None) -> tuple[str, str]:
    """(the URL, its type) or NotifyInputError; ``type_`` overrides the inferred type."""
    url = (url or "").strip()
    if not url:
        raise NotifyInputError("URL is empty")
    if len(url) > MAX_URL:
        raise NotifyInputError(f"URL is longer than {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise NotifyInputError("URL contains spaces or control characters")
    if type_ is not None and type_ not in TYPES:
        raise NotifyInputError(f"--type {type_!r}: use one of {', '.join(TYPES)}")
    kind = type_ or infer_type(url)
    parts = urlsplit(url)
    if kind == "email":
        if parts.scheme != "mailto" or not _ADDRESS.fullmatch(unquote(parts.path)):
            raise NotifyInputError("an e-mail destination is mailto:name@example.com")
    elif parts.scheme not in ("https", "http") or not parts.hostname:
        raise NotifyInputError("URL must start with https:// (or http:// for a local receiver), or be mailto:")
    return url, kind


def email_address(url: str) -> str:
    return unquote(urlsplit(url).path)


def mask_url(url: str) -> str:
    """A stored URL as it may be shown: the scheme and host, never the path's secret."""
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        local, _, domain = unquote(parts.path).partition("@")
        return f"mailto:{local[:1]}…@{domain}"
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def parse_kinds(text: str) -> tuple[str, ...]:
    """``recovery,digest`` as kinds; refuses unknown kinds and a mix of private and public ones."""
    kinds = tuple(dict.fromkeys(k.strip().lower() for k in (text or "").split(",") if k.strip()))
    if not kinds:
        raise NotifyInputError(f"--kinds is empty: use some of {', '.join(KINDS)}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise NotifyInputError(f"--kinds: unknown kind {unknown[0]!r}; use some of {', '.join(KINDS)}")
    private = [k for k in kinds if k in PRIVATE_KINDS]
    public = [k for k in kinds if k in PUBLIC_KINDS]
    if private and public:
        raise NotifyInputError(
            f"--kinds mixes private ({', '.join(private)}) and public ({', '.join(public)}) kinds: "
            "praise goes to public channels, criticism only 1:1; make two destinations"
        )
    return kinds


def is_private(kinds: tuple[str, ...]) -> bool:
    return any(k in PRIVATE_KINDS for k in kinds)


@dataclass(frozen=True)
class ScopeRef:
    scope: str  # "site", "team" or "user"
    site: str = ""
    team: str = ""
    user: str = ""


def parse_scope(text: str) -> ScopeRef:
    """``team:Manila/Bayanihan``, ``site:Manila`` or ``user:USERNAME``."""
    kind, sep, rest = (text or "").partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if not sep or not rest or kind not in ("site", "team", "user"):
        raise NotifyInputError(f"--for {text[:60]!r}: use team:SITE/TEAM, site:SITE or user:USERNAME")
    if kind == "team":
        site, slash, team = rest.partition("/")
        if not slash or not site.strip() or not team.strip():
            raise NotifyInputError(f"--for {text[:60]!r}: a team is team:SITE/TEAM, e.g. team:Manila/Bayanihan")
        return ScopeRef("team", site=site.strip(), team=team.strip())
    if kind == "site":
        return ScopeRef("site", site=rest)
    return ScopeRef("user", user=rest)


def parse_quiet(text: str | None) -> str:
    """``22:00-07:00`` (local time of the scope's site) or "" for none."""
    text = (text or "").strip()
    if not text:
        return ""
    m = _QUIET.fullmatch(text)
    if not m or text[:5] == text[6:]:
        raise NotifyInputError(f"--quiet {text[:20]!r}: use HH:MM-HH:MM, e.g. 22:00-07:00")
    return text


def check_per_minute(value: int | None) -> int:
    if value is None:
        return DEFAULT_PER_MINUTE
    if not 1 <= value <= MAX_PER_MINUTE:
        raise NotifyInputError(f"--per-minute {value}: use a whole number from 1 to {MAX_PER_MINUTE}")
    return value


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, quiet: str, tz: str) -> datetime | None:
    """When the quiet window holding ``now`` (naive UTC) ends, as naive UTC; None outside it."""
    if not quiet:
        return None
    start = time(int(quiet[0:2]), int(quiet[3:5]))
    end = time(int(quiet[6:8]), int(quiet[9:11]))
    zone = _zone(tz)
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # across midnight
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    until = datetime.combine(end_day, end, tzinfo=zone)
    return until.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


# --------------------------------------------------------------------------- messages


def _title(message: dict) -> str:
    return str(message.get("title") or "")


def _lines(message: dict) -> list[str]:
    return [str(line) for line in message.get("lines") or []]


def _fields(message: dict) -> list[tuple[str, str]]:
    return [(str(f[0]), str(f[1])) for f in message.get("fields") or [] if len(f) == 2]


def _link(message: dict) -> str | None:
    link = message.get("link")
    if not link:
        return None
    parts = urlsplit(str(link))
    return str(link) if parts.scheme in ("https", "http") and parts.hostname else None


def collapse(messages: list[dict], *, more: int) -> dict:
    """Many messages for one destination as one: the first, the next titles, "and N more"."""
    first = messages[0]
    rest = messages[1:]
    lines = _lines(first) + [_title(m) for m in rest[:COLLAPSE_LIST]]
    hidden = len(rest) - min(len(rest), COLLAPSE_LIST) + more
    total = len(messages) - 1 + more
    if hidden > 0:
        lines.append(f"and {hidden} more")
    return {"title": f"{_title(first)} (and {total} more)", "lines": lines, "link": first.get("link"),
            "fields": first.get("fields") or []}


def plain_text(message: dict) -> str:
    """The message as plain text (e-mail's text part, the generic webhook's "text")."""
    out = [_title(message), *_lines(message)]
    out += [f"{label}: {value}" for label, value in _fields(message)]
    if _link(message):
        out.append(_link(message))
    return "\n".join(out)


# Slack: https://api.slack.com/reference/surfaces/formatting#escaping
def slack_escape(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"@(channel|here|everyone)\b", "@\u2060\\1", text, flags=re.IGNORECASE)
    return _no_autolink(text)


def slack_payload(message: dict) -> dict:
    title = slack_escape(_title(message))
    body = "\n".join(slack_escape(line) for line in _lines(message))
    fields = "\n".join(f"{slack_escape(label)}: {slack_escape(value)}" for label, value in _fields(message))
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150] or " ", "emoji": False}}]
    for part in (body, fields):
        if part:
            blocks.append({"type": "section", "text": {"type": "plain_text", "text": part[:3000], "emoji": False}})
    link = _link(message)
    if link:
        # Our own link (never user text): the URL's own <, >, | are percent-encoded so it stays one link.
        safe = link.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace("&", "&amp;")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{safe}|Open in Starboard>"}})
    fallback = "\n".join(p for p in (title, body) if p)
    return {"text": fallback[:3000], "mrkdwn": False, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


ZWSP = "\u200b"
_TEAMS_MARKUP = re.compile(r"([\\`*_\[\]<>#~|])")


def _no_autolink(text: str) -> str:
    """Break ``scheme://`` and ``www.`` so no client turns user text into a link (invisible: a zero-width space)."""
    text = text.replace("://", f":{ZWSP}//")
    return re.sub(r"\b(www)\.", rf"\1{ZWSP}.", text, flags=re.IGNORECASE)


def teams_escape(text: str) -> str:
    """Plain text for a Teams TextRun (no markdown by the card schema) with markup neutralised as well:
    a zero-width space after each markdown or HTML character, so ``[x](y)``, ``**b**`` and ``<at>`` stay text."""
    return _no_autolink(_TEAMS_MARKUP.sub(rf"\1{ZWSP}", text))


def teams_payload(message: dict) -> dict:
    """An Adaptive Card (Teams incoming webhooks and Workflows both take it)."""
    def run(text: str, **style) -> dict:
        return {"type": "TextRun", "text": teams_escape(text), **style}

    body: list[dict] = [{"type": "RichTextBlock", "inlines": [run(_title(message), weight="Bolder", size="Medium")]}]
    for line in _lines(message):
        body.append({"type": "RichTextBlock", "inlines": [run(line)]})
    fields = _fields(message)
    if fields:
        body.append({"type": "FactSet", "facts": [{"title": teams_escape(k), "value": teams_escape(v)} for k, v in fields]})
    card: dict = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                  "version": "1.4", "body": body}
    link = _link(message)
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open in Starboard", "url": link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    ]}


def webhook_payload(kind: str, message: dict) -> dict:
    return {"kind": kind, "title": _title(message), "lines": _lines(message),
            "fields": [[k, v] for k, v in _fields(message)], "link": _link(message), "text": plain_text(message)}


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email_parts(message: dict) -> Email:
    title = _title(message)
    subject = " ".join(title.split())[:200] or "Starboard"
    rows = "".join(f"<p>{html_escape(line)}</p>" for line in _lines(message))
    facts = "".join(f"<tr><th align=\"left\">{html_escape(k)}</th><td>{html_escape(v)}</td></tr>" for k, v in _fields(message))
    link = _link(message)
    html = (f"<!doctype html><html><body><h2>{html_escape(title)}</h2>{rows}"
            + (f"<table>{facts}</table>" if facts else "")
            + (f"<p><a href=\"{html_escape(link, quote=True)}\">Open in Starboard</a></p>" if link else "")
            + "</body></html>")
    return Email(subject=subject, text=plain_text(message) + "\n", html=html)


def render(type_: str, kind: str, message: dict) -> dict:
    """The JSON body posted to an HTTP destination of ``type_``."""
    if type_ == "slack":
        return slack_payload(message)
    if type_ == "teams":
        return teams_payload(message)
    return webhook_payload(kind, message)


def sample_message(kind: str, public_url: str) -> dict:
    """What ``notify test`` sends."""
    return {"title": "Starboard test message", "lines": [f"This destination receives: {kind}."],
            "link": public_url, "fields": [["sent by", "notify test"]]}


# --------------------------------------------------------------------------- answers


def answer_text(status: int, body: str) -> str:
    """A destination's answer as recorded (its body cut short, one line)."""
    body = " ".join((body or "").split())[:MAX_ANSWER]
    return f"HTTP {status}" + (f": {body}" if body else "")


def permanent(status: int) -> bool:
    """A refusal that a retry will not change (4xx but 408 and 429)."""
    return 400 <= status < 500 and status not in (408, 429)
