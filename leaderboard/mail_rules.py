"""Survey e-mail rules (pure: no database, no network): the SMTP address, addresses, backoff,
unsubscribe tokens and the e-mail's words.

    parse_smtp_url("smtp://user:pass@mail.example.com:587")  # STARTTLS, then login
    parse_smtp_url("smtps://user:pass@mail.example.com")     # TLS from the start, port 465
    parse_smtp_url("smtp://127.0.0.1:2525")                  # a local relay: no TLS, no login

An address is kept for the unsubscribe list only as ``address_hash`` (SHA-256 of the
trimmed, lower-cased address under a fixed label): enough to refuse a later e-mail,
useless for sending one. An unsubscribe link carries that hash, signed with the
server secret (HMAC-SHA256), never the address.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Mapping
from urllib.parse import unquote, urlsplit

# Tries are 1, 2, 4 ... minutes apart, never more than MAX_BACKOFF.
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
MAX_ADDRESS = 254
MAX_CUSTOMER_NAME = 120

_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "starttls", "tls" (implicit, smtps://) or "none" (a local relay)
    username: str = ""
    password: str = field(default="", repr=False)


def parse_smtp_url(url: str) -> SmtpConfig:
    """STARBOARD_SMTP_URL as host, port, security and login; ValueError naming what is wrong.

    smtp:// with a login always uses STARTTLS (a password never crosses in clear); smtp://
    without one is a local relay (plain); smtps:// is TLS from the first byte.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if parts.scheme == "smtps":
        return SmtpConfig(parts.hostname, port or 465, "tls", username, password)
    if username:
        return SmtpConfig(parts.hostname, port or 587, "starttls", username, password)
    return SmtpConfig(parts.hostname, port or 25, "none")


def check_address(value: str) -> str:
    """A customer's e-mail address, trimmed; ValueError when it cannot be one."""
    address = (value or "").strip()
    if not address:
        raise ValueError("is empty")
    if len(address) > MAX_ADDRESS:
        raise ValueError(f"is longer than {MAX_ADDRESS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in address) or not _ADDRESS.fullmatch(address):
        raise ValueError("is not an e-mail address (name@example.com)")
    return address


def check_customer_name(value: str) -> str:
    """A customer's name for the greeting: spaces collapsed, no control characters."""
    name = " ".join((value or "").split())
    if len(name) > MAX_CUSTOMER_NAME:
        raise ValueError(f"is longer than {MAX_CUSTOMER_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("contains a control character")
    return name


def address_hash(address: str) -> str:
    """What the unsubscribe list keeps of an address: hex SHA-256 of it, trimmed and lower-cased."""
    return hashlib.sha256(b"starboard-unsubscribe\x00" + address.strip().lower().encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, digest: str) -> bytes:
    return hmac.new(secret, b"unsubscribe\x00" + digest.encode("ascii"), hashlib.sha256).digest()


def sign_unsubscribe(digest: str, *, secret: bytes) -> str:
    """The token of an unsubscribe link: ``<address hash>.<signature>`` (no expiry: it must keep working)."""
    if not secret:
        raise ValueError("a secret is required")
    return f"{digest}.{_b64(_mac(secret, digest))}"


def verify_unsubscribe(token: str, *, secret: bytes) -> str | None:
    """The address hash an unsubscribe token names, or None when it is malformed or forged."""
    digest, dot, signature = (token or "").partition(".")
    if not dot or len(token) > 200 or not re.fullmatch(r"[0-9a-f]{64}", digest) or not _B64URL.fullmatch(signature):
        return None
    try:
        given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except (binascii.Error, ValueError):
        return None
    return digest if hmac.compare_digest(given, _mac(secret, digest)) else None


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 1, 2, 4 ... minutes, at most MAX_BACKOFF."""
    return min(FIRST_BACKOFF * (2 ** max(0, min(attempts, 30) - 1)), MAX_BACKOFF)


def default_sender(public_url: str) -> str:
    """``starboard@`` the host customers reach this server at (STARBOARD_SMTP_FROM unset)."""
    return f"starboard@{urlsplit(public_url).hostname or 'localhost'}"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def _fill(template: str, values: Mapping[str, str], *, html: bool) -> str:
    if html:
        return escape(template).format(**{k: escape(v) for k, v in values.items()})
    return template.format(**values)


def survey_email(
    texts: Mapping[str, Mapping[str, str]],
    *,
    agent: str,
    team: str,
    customer: str,
    survey_url: str,
    unsubscribe_url: str,
) -> Email:
    """The survey request: five star links (``?stars=N`` preselects N), the form, an unsubscribe line.

    ``texts`` holds the [mail] and [survey] sections of the messages file. Every value from
    outside (the agent's public name, the team, the customer's name) is escaped in the HTML.
    """
    mail, survey = texts["mail"], texts["survey"]
    values = {"agent": agent, "team": team, "customer": customer}
    greeting_key = "greeting" if customer else "greeting_anonymous"
    stars = [(n, "★" * n, survey[f"star_{n}"], f"{survey_url}?stars={n}") for n in range(5, 0, -1)]

    def say(key: str, *, html: bool = False) -> str:
        return _fill(mail[key], values, html=html)

    text = "\n".join(
        [say(greeting_key), "", say("intro"), ""]
        + [f"{glyphs} {label}\n{url}\n" for _, glyphs, label, url in stars]
        + [say("open_form"), survey_url, "", say("outro"), "", "-- ", say("unsubscribe"), unsubscribe_url, ""]
    )
    star_rows = "".join(
        f'<p style="margin:.4em 0"><a href="{escape(url)}" style="color:#1f5fbf;text-decoration:none">'
        f'<span style="color:#b7791f;letter-spacing:.1em" aria-hidden="true">{glyphs}</span> {escape(label)}</a></p>'
        for _, glyphs, label, url in stars
    )
    html = (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;'
        'max-width:36rem;margin:0 auto;padding:1rem">'
        f"<p>{say(greeting_key, html=True)}</p><p>{say('intro', html=True)}</p>{star_rows}"
        f'<p>{say("open_form", html=True)} <a href="{escape(survey_url)}">{escape(survey_url)}</a></p>'
        f"<p>{say('outro', html=True)}</p>"
        f'<p style="color:#555;font-size:.85em">{say("unsubscribe", html=True)} '
        f'<a href="{escape(unsubscribe_url)}">{say("unsubscribe_link", html=True)}</a></p>'
        "</body></html>"
    )
    headers = {
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to the link.
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return Email(subject=say("subject"), text=text, html=html, headers=headers)


def followup_email(
    texts: Mapping[str, Mapping[str, str]],
    *,
    agent: str,
    team: str,
    customer: str,
    followup_url: str,
    unsubscribe_url: str,
) -> Email:
    """The recovery follow-up: sorry, and how did we do now? Five star links, the form, unsubscribe.

    ``texts`` holds the [followup_mail], [mail] (greeting, unsubscribe line) and [survey] (star
    labels) sections of the messages file. Values from outside are escaped in the HTML.
    """
    words = {**texts["mail"], **texts["followup_mail"]}
    return survey_email({"mail": words, "survey": texts["survey"]}, agent=agent, team=team, customer=customer,
                        survey_url=followup_url, unsubscribe_url=unsubscribe_url)
