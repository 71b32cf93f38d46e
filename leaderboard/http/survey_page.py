"""The survey's HTML: plain server-rendered pages, no script, no external asset, readable at 360 px.

Every text comes from ``messages.toml`` (one file a center can translate); every
value from outside (names, the comment, tags) is escaped with ``html.escape``.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from html import escape
from pathlib import Path

MESSAGES_FILE = Path(__file__).with_name("messages.toml")
MAX_COMMENT = 5000

_STYLE = """
*{box-sizing:border-box}body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1b1f24;background:#f5f6f8}main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}fieldset{border:1px solid #c9ced6;border-radius:.5rem;margin:0 0 1rem;
padding:.75rem;background:#fff}legend{font-weight:600;padding:0 .25rem}label{display:flex;gap:.5rem;
align-items:center;padding:.35rem 0;min-height:2.75rem;cursor:pointer}input[type=radio],input[type=checkbox]{
width:1.4rem;height:1.4rem;flex:none}.stars label{font-size:1.05rem}.star{color:#b7791f;letter-spacing:.1em}
textarea{width:100%;min-height:6rem;font:inherit;padding:.5rem;border:1px solid #8a929e;border-radius:.4rem}
.row{display:flex;flex-wrap:wrap;gap:0 1rem}.nps label{min-width:3.2rem}button{font:inherit;font-weight:600;
width:100%;padding:.85rem;border:0;border-radius:.5rem;background:#1f5fbf;color:#fff;cursor:pointer}
button:focus,input:focus,textarea:focus{outline:3px solid #f0b429;outline-offset:2px}
.error{background:#fdecea;border:1px solid #c0392b;color:#7b1d12;padding:.6rem;border-radius:.4rem}
.muted{color:#555;font-size:.9rem}.comment{white-space:pre-wrap;background:#fff;padding:.6rem;border-radius:.4rem}
"""


@lru_cache(maxsize=1)
def messages() -> dict:
    with MESSAGES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def text(section: str, key: str, **values: object) -> str:
    """A message, its {placeholders} filled with already-escaped values."""
    template = messages()[section][key]
    return template.format(**{k: escape(str(v)) for k, v in values.items()}) if values else escape(template)


def tag_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    tags = messages()["tags"]
    return tuple(tags["went_well"]), tuple(tags["to_improve"])


def _document(title: str, body: str) -> str:
    lang = escape(messages().get("lang", "en"))
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{title}</title><style>{_STYLE}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )


def message_page(section: str, title_key: str, body_key: str, *, extra: str = "") -> str:
    title = text(section, title_key)
    return _document(title, f"<h1>{title}</h1><p>{text(section, body_key)}</p>{extra}")


def thanks_page(*, replaced: bool, comment: str = "") -> str:
    title = text("thanks", "title")
    body = text("thanks", "replaced" if replaced else "body")
    quoted = f'<p class="comment" data-testid="comment">{escape(comment)}</p>' if comment else ""
    return _document(title, f'<h1 data-testid="thanks">{title}</h1><p>{body}</p>{quoted}')


def _checked(on: bool) -> str:
    return " checked" if on else ""


def survey_form(
    *,
    action: str,
    form_token: str,
    agent: str,
    team: str,
    stars: int | None = None,
    went_well: tuple[str, ...] = (),
    to_improve: tuple[str, ...] = (),
    comment: str = "",
    resolved: bool | None = None,
    nps: int | None = None,
    error: str = "",
) -> str:
    """The survey form; ``stars`` preselects (a star link from an email), the rest re-fills after an error."""
    went_tags, improve_tags = tag_lists()
    parts = [f"<h1>{text('survey', 'title')}</h1>", f"<p>{text('survey', 'intro', agent=agent, team=team)}</p>"]
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    parts.append(f'<form method="post" action="{escape(action)}">')
    parts.append(f'<input type="hidden" name="form_token" value="{escape(form_token)}">')
    stars_html = "".join(
        f'<label><input type="radio" name="stars" value="{n}" required{_checked(stars == n)}>'
        f'<span class="star" aria-hidden="true">{"★" * n}</span> {text("survey", f"star_{n}")}</label>'
        for n in range(5, 0, -1)
    )
    parts.append(f'<fieldset class="stars"><legend>{text("survey", "stars_legend")}</legend>{stars_html}</fieldset>')
    for name, legend, tags, chosen in (
        ("went_well", "went_well_legend", went_tags, went_well),
        ("to_improve", "to_improve_legend", improve_tags, to_improve),
    ):
        boxes = "".join(
            f'<label><input type="checkbox" name="{name}" value="{escape(tag)}"{_checked(tag in chosen)}>'
            f"{escape(tag)}</label>"
            for tag in tags
        )
        parts.append(f'<fieldset><legend>{text("survey", legend)}</legend><div class="row">{boxes}</div></fieldset>')
    parts.append(
        f'<fieldset><legend>{text("survey", "resolved_legend")}</legend><div class="row">'
        f'<label><input type="radio" name="resolved" value="yes"{_checked(resolved is True)}>'
        f'{text("survey", "resolved_yes")}</label>'
        f'<label><input type="radio" name="resolved" value="no"{_checked(resolved is False)}>'
        f'{text("survey", "resolved_no")}</label></div></fieldset>'
    )
    parts.append(
        f'<p><label for="comment" style="display:block">{text("survey", "comment_label")}</label>'
        f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT}">{escape(comment)}</textarea></p>'
    )
    nps_html = "".join(
        f'<label><input type="radio" name="nps" value="{n}"{_checked(nps == n)}>{n}</label>' for n in range(11)
    )
    nps_html += f'<label><input type="radio" name="nps" value=""{_checked(nps is None)}>{text("survey", "nps_none")}</label>'
    parts.append(
        f'<fieldset class="nps"><legend>{text("survey", "nps_legend")}</legend><div class="row">{nps_html}</div></fieldset>'
    )
    parts.append(f'<button type="submit">{text("survey", "submit")}</button></form>')
    parts.append(f'<p class="muted">{text("survey", "privacy")}</p>')
    return _document(text("survey", "title"), "".join(parts))


def followup_text(key: str, **values: object) -> str:
    return text("followup", key, **values)


def followup_form(*, action: str, form_token: str, agent: str, team: str, stars: int | None = None,
                  comment: str = "", error: str = "") -> str:
    """The recovery follow-up: the survey page, marked as a follow-up, asking for stars and a comment."""
    parts = [
        f'<p class="muted" data-testid="followup">{followup_text("marker")}</p>',
        f"<h1>{followup_text('title')}</h1>",
        f"<p>{followup_text('intro', agent=agent, team=team)}</p>",
    ]
    if error:
        parts.append(f'<p class="error" role="alert">{escape(error)}</p>')
    parts.append(f'<form method="post" action="{escape(action)}">')
    parts.append(f'<input type="hidden" name="form_token" value="{escape(form_token)}">')
    stars_html = "".join(
        f'<label><input type="radio" name="stars" value="{n}" required{_checked(stars == n)}>'
        f'<span class="star" aria-hidden="true">{"★" * n}</span> {text("survey", f"star_{n}")}</label>'
        for n in range(5, 0, -1)
    )
    parts.append(f'<fieldset class="stars"><legend>{followup_text("stars_legend")}</legend>{stars_html}</fieldset>')
    parts.append(
        f'<p><label for="comment" style="display:block">{followup_text("comment_label")}</label>'
        f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT}">{escape(comment)}</textarea></p>'
    )
    parts.append(f'<button type="submit">{followup_text("submit")}</button></form>')
    parts.append(f'<p class="muted">{text("survey", "privacy")}</p>')
    return _document(followup_text("title"), "".join(parts))


def followup_thanks_page() -> str:
    title = followup_text("thanks_title")
    return _document(title, f'<h1 data-testid="thanks">{title}</h1><p>{followup_text("thanks_body")}</p>')
