"""The wall's HTML: big, dark, high-contrast, readable from five metres.

Sizes are in viewport units so the same markup fills a 1920×1080 and a
3840×2160 screen alike. Every user string goes through ``_user``: escaped
(``html_text``), stripped of bidirectional controls and isolated in ``<bdi>``, so
a right-to-left override in a comment reverses nothing. Hostile or long text
never pushes anything off screen: long words break anywhere, grid tracks never
grow to fit content (``minmax(0, 1fr)``), and a long list of rows (``top`` up to
25, and ties beyond it) goes into two or three columns with type sized to the
rows' height (container query units of the panel's body).
"""

from __future__ import annotations

import base64
from datetime import datetime
from math import ceil

from leaderboard.text import html_text as esc
from leaderboard.wall import PANEL_TITLES, WallData, time_ago

# One unit: scales with the smaller of width and height (16:9 screens).
U = "min(1vw, 1.78vh)"

STYLE = f"""
<style>
  header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stSidebarNav"], footer, #MainMenu {{ display: none !important; }}
  html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{
    background: #070b16 !important; color: #f4f6fb; overflow: hidden;
  }}
  .block-container, [data-testid="stMainBlockContainer"] {{ padding: 0 !important; max-width: 100% !important; }}
  [data-testid="stVerticalBlock"] {{ gap: 0 !important; }}
  .sb-wall {{ font-family: "DejaVu Sans", "Segoe UI", Roboto, sans-serif; height: 100vh; display: flex;
    flex-direction: column; padding: calc(1.2 * {U}) calc(3 * {U}); box-sizing: border-box; }}
  .sb-top {{ display: flex; align-items: center; justify-content: space-between; gap: calc(2 * {U});
    margin-bottom: calc(1 * {U}); }}
  .sb-brand {{ font-size: calc(2 * {U}); font-weight: 700; color: #ffd54a; letter-spacing: .02em; flex: 1;
    min-width: 0; }}
  .sb-brand small {{ display: block; color: #9aa7c7; font-weight: 500; font-size: .8em; white-space: nowrap;
    overflow: hidden; text-overflow: ellipsis; }}
  .sb-title {{ font-size: calc(3.6 * {U}); font-weight: 800; text-align: center; flex: 2; line-height: 1.2; }}
  .sb-clock {{ font-size: calc(2 * {U}); color: #c9d3ee; font-variant-numeric: tabular-nums; flex: 1;
    text-align: right; }}
  .sb-live {{ display: inline-block; width: calc(1 * {U}); height: calc(1 * {U}); border-radius: 50%;
    background: #35d07f; margin-right: calc(.6 * {U}); vertical-align: middle; }}
  .sb-reconnecting {{ font-size: calc(1.4 * {U}); color: #ffb04a; margin-right: calc(1 * {U}); }}
  .sb-reconnecting .sb-live {{ background: #ffb04a; }}
  /* The server itself is away (a restart): Streamlit opens its "Connection error" dialog
     (data-testid="stDialog"; the wall has no dialog of its own). A TV never shows it: it is
     hidden and the live dot turns into the small "reconnecting" mark until the connection is
     back (Streamlit reconnects and reruns the page by itself). */
  [data-testid="stDialog"] {{ display: none !important; }}
  body:has([data-testid="stDialog"]) .sb-clock > .sb-live {{ background: #ffb04a; }}
  body:has([data-testid="stDialog"]) .sb-clock::before {{ content: "reconnecting…"; color: #ffb04a;
    display: block; font-size: calc(1.4 * {U}); line-height: 1.2; }}
  .sb-body {{ flex: 1; overflow: hidden; min-height: 0; container-type: size; }}
  .sb-wall bdi {{ unicode-bidi: isolate; }}
  /* Rows fill columns top to bottom; each row at most 6.5 units high, smaller when many. */
  .sb-list {{ --gap: calc(.6 * {U}); height: 100%; display: grid; grid-auto-flow: column;
    grid-template-columns: repeat(var(--cols), minmax(0, 1fr));
    grid-template-rows: repeat(var(--k), minmax(0, calc(6.5 * {U})));
    gap: var(--gap) calc(1.4 * {U}); align-content: start;
    font-size: min(calc(2.6 * {U}), calc((100cqh - (var(--k) - 1) * var(--gap)) / var(--k) * .52)); }}
  .sb-row {{ min-height: 0; min-width: 0; display: grid;
    grid-template-columns: 2.3em minmax(0, 1fr) 5.4em 5em; align-items: center;
    background: #111a30; border-radius: calc(1 * {U}); padding: 0 .6em; font-size: 1em; line-height: 1.2;
    overflow: hidden; }}
  .sb-row.r1 {{ background: linear-gradient(90deg, #6b5000, #111a30 65%); }}
  .sb-row.r2 {{ background: linear-gradient(90deg, #4a5263, #111a30 65%); }}
  .sb-row.r3 {{ background: linear-gradient(90deg, #5e3818, #111a30 65%); }}
  .sb-rank {{ font-weight: 800; color: #ffd54a; font-variant-numeric: tabular-nums; }}
  .sb-name {{ font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; min-width: 0; }}
  .sb-team {{ font-size: .6em; font-weight: 500; color: #9aa7c7; margin-left: .45em; }}
  .sb-stars {{ text-align: right; color: #ffd54a; font-weight: 700; font-variant-numeric: tabular-nums; }}
  .sb-count {{ text-align: right; color: #c9d3ee; font-size: .7em; font-variant-numeric: tabular-nums; }}
  .sb-up {{ color: #35d07f; font-size: .6em; margin-left: .4em; }}
  .sb-cards {{ height: 100%; display: grid; grid-template-columns: repeat(2, minmax(0, 1fr));
    grid-template-rows: repeat(var(--k, 2), minmax(0, 1fr)); gap: calc(1.4 * {U}); }}
  .sb-card {{ background: #111a30; border-radius: calc(1.2 * {U}); padding: calc(1.4 * {U}) calc(2 * {U});
    min-width: 0; min-height: 0; overflow: hidden; display: flex; flex-direction: column; gap: calc(.8 * {U});
    overflow-wrap: anywhere; }}
  .sb-card .sb-quote {{ font-size: min(calc(2.8 * {U}), 5.2cqh); line-height: 1.3; font-style: italic;
    color: #ffffff; display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden;
    flex: 0 1 auto; min-height: 0; }}
  .sb-card .sb-who {{ font-size: min(calc(1.9 * {U}), 3.6cqh); line-height: 1.25; color: #9aa7c7;
    display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; flex: none; }}
  .sb-card .sb-who b {{ color: #f4f6fb; }}
  .sb-card .sb-gold {{ color: #ffd54a; font-size: min(calc(2.2 * {U}), 4cqh); letter-spacing: .1em; flex: none; }}
  .sb-badge {{ flex-direction: row; align-items: center; gap: calc(1.5 * {U}); font-size: min(calc(2.6 * {U}), 5cqh); }}
  .sb-badge .sb-icon {{ font-size: 1.8em; flex: none; line-height: 0; }}
  .sb-svg {{ width: 1em; height: 1em; display: inline-block; vertical-align: -0.12em; flex: none; }}
  .sb-badge > div {{ min-width: 0; }}
  .sb-badge .sb-who {{ -webkit-line-clamp: 2; }}
  .sb-badge b {{ display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }}
  .sb-empty {{ flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center;
    text-align: center; }}
  .sb-empty .sb-big {{ font-size: calc(6 * {U}); font-weight: 800; color: #ffd54a; }}
  .sb-empty .sb-sub {{ font-size: calc(2.6 * {U}); color: #c9d3ee; margin-top: calc(1.5 * {U}); }}
  .sb-empty .sb-sub .sb-live {{ background: #ffb04a; }}
  .sb-dots {{ text-align: center; padding-top: calc(.8 * {U}); font-size: calc(1.4 * {U}); color: #3a4766; }}
  .sb-dots .on {{ color: #ffd54a; }}
  /* The banner takes its place in the column, between the header and the panel, which shrinks
     to make room (its type is sized to its own height): nothing is covered or pushed off screen. */
  .sb-celebrate {{ flex: none; position: relative; z-index: 10; margin-bottom: calc(1 * {U});
    padding: calc(1.2 * {U}) calc(2 * {U}); border-radius: calc(1.2 * {U});
    background: linear-gradient(90deg, #ffb300, #ff6f00); color: #1b1200; box-shadow: 0 .5vh 2vh rgba(0,0,0,.5);
    animation: sb-drop .6s ease-out; overflow: hidden; overflow-wrap: anywhere; }}
  .sb-celebrate .sb-head {{ font-size: calc(3.2 * {U}); font-weight: 900; line-height: 1.2; display: -webkit-box;
    -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }}
  .sb-celebrate .sb-quote {{ font-size: calc(2.2 * {U}); line-height: 1.3; font-style: italic; margin-top: calc(.4 * {U});
    display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }}
  @keyframes sb-drop {{ from {{ opacity: 0; transform: translateY(-30%); }} to {{ opacity: 1; transform: translateY(0); }} }}
</style>
"""

# Badge icons as inline SVG: a Linux TV without an emoji font draws emoji as empty boxes.
# 24×24 shapes in the badge's colour; nothing to download, nothing to install.
_SHAPES = {
    "star": '<polygon points="12,2 14.9,8.6 22,9.3 16.6,14 18.2,21 12,17.3 5.8,21 7.4,14 2,9.3 9.1,8.6"/>',
    "bulb": '<path d="M12 2a7 7 0 0 0-4 12.7V17h8v-2.3A7 7 0 0 0 12 2z"/><rect x="8.5" y="18.5" width="7" height="2" rx="1"/>'
    '<rect x="9.5" y="21.2" width="5" height="1.8" rx=".9"/>',
    "people": '<circle cx="8" cy="7" r="3.2"/><circle cx="16.5" cy="8" r="2.8"/>'
    '<path d="M1.5 20c0-4 3-6.5 6.5-6.5s6.5 2.5 6.5 6.5z"/><path d="M14 13.6c.8-.3 1.6-.4 2.5-.4 3.2 0 6 2.2 6 6.8h-6.6c0-2.6-.7-4.8-1.9-6.4z"/>',
    "bolt": '<polygon points="13.5,1.5 3.5,14 11,14 9.5,22.5 20.5,9 13,9"/>',
    "shield": '<path d="M12 1.8l8.5 3.2v6.2c0 5.3-3.6 9.7-8.5 11.3-4.9-1.6-8.5-6-8.5-11.3V5z"/>',
    "heart": '<path d="M12 21.5S2.5 15.6 2.5 9.2A5 5 0 0 1 12 6.4a5 5 0 0 1 9.5 2.8c0 6.4-9.5 12.3-9.5 12.3z"/>',
    "clock": '<path fill-rule="evenodd" d="M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20zm-1.2 4v7.1l5.6 3.3 1.2-2-4.4-2.6V6z"/>',
    "flame": '<path d="M12.5 1.5c.8 4.2 6.5 6.6 6.5 12.6a7 7 0 0 1-14 0c0-3.3 1.8-5.6 3.4-7.4.1 2.8 1.2 4.4 2.6 4.7-.6-3.6.2-7 1.5-9.9z"/>',
    "hundred": '<rect x="1" y="5" width="22" height="14" rx="3"/>'
    '<text x="12" y="16.2" text-anchor="middle" font-size="10" font-weight="800" fill="#070b16" '
    'font-family="DejaVu Sans, sans-serif">100</text>',
    "trophy": '<path d="M6 2.5h12v6.5a6 6 0 0 1-12 0z"/><path d="M6 4H2.5v2.5A4 4 0 0 0 6.5 10.5M18 4h3.5v2.5a4 4 0 0 1-4 4" '
    'fill="none" stroke="currentColor" stroke-width="1.8"/><rect x="10.6" y="14.5" width="2.8" height="4"/>'
    '<rect x="6.5" y="18.8" width="11" height="3" rx="1"/>',
    "crown": '<polygon points="2,7 7.5,12 12,4 16.5,12 22,7 20,18 4,18"/><rect x="4" y="19.3" width="16" height="2.4" rx="1"/>',
    "chart": '<path d="M2.5 20.5h19" stroke="currentColor" stroke-width="2" fill="none"/>'
    '<polyline points="3.5,16 9,10.5 13,14 20,6.5" fill="none" stroke="currentColor" stroke-width="2.6" '
    'stroke-linecap="round" stroke-linejoin="round"/><polygon points="21.5,4.5 21.5,10.5 15.5,4.5"/>',
    "sparkle": '<polygon points="10,3 12.2,9.6 19,11.8 12.2,14 10,21 7.8,14 1,11.8 7.8,9.6"/>'
    '<polygon points="19,1.5 19.9,4.1 22.5,5 19.9,5.9 19,8.5 18.1,5.9 15.5,5 18.1,4.1"/>',
    "target": '<path fill-rule="evenodd" d="M12 1.5a10.5 10.5 0 1 1 0 21 10.5 10.5 0 0 1 0-21zm0 3.3a7.2 7.2 0 1 0 0 14.4 '
    '7.2 7.2 0 0 0 0-14.4zm0 3.3a3.9 3.9 0 1 1 0 7.8 3.9 3.9 0 0 1 0-7.8z"/>',
    "lifebuoy": '<path fill-rule="evenodd" d="M12 1.5a10.5 10.5 0 1 1 0 21 10.5 10.5 0 0 1 0-21zm0 5.5a5 5 0 1 0 0 10 '
    '5 5 0 0 0 0-10z"/>',
    "medal": '<polygon points="6,1.5 10.5,1.5 13,8 9,9.5"/><polygon points="18,1.5 13.5,1.5 11,8 15,9.5"/>'
    '<circle cx="12" cy="15" r="7"/>',
    "sun": '<circle cx="12" cy="12" r="5"/><g stroke="currentColor" stroke-width="2" stroke-linecap="round">'
    '<path d="M12 1.5v3M12 19.5v3M1.5 12h3M19.5 12h3M4.6 4.6l2.1 2.1M17.3 17.3l2.1 2.1M4.6 19.4l2.1-2.1M17.3 6.7l2.1-2.1"/></g>',
}
# badge code: (shape, colour)
BADGE_ICONS = {
    "creative": ("bulb", "#ffd54a"),
    "empowering": ("people", "#7cc4ff"),
    "nimble": ("bolt", "#ffb300"),
    "trustful": ("shield", "#6fd3a8"),
    "empathetic": ("heart", "#ff7a90"),
    "responsive": ("clock", "#9ad0ff"),
    "first_five_star": ("star", "#ffd54a"),
    "streak_10": ("flame", "#ff8a3d"),
    "ratings_100": ("hundred", "#ff6b6b"),
    "ratings_500": ("trophy", "#ffd54a"),
    "weekly_top": ("crown", "#ffd54a"),
    "most_improved": ("chart", "#35d07f"),
    "perfect_week": ("sparkle", "#fff3a0"),
    "fcr_champion": ("target", "#ff6b6b"),
    "recovery_hero": ("lifebuoy", "#ff9f6b"),
}
DEFAULT_ICON = ("medal", "#ffd54a")


def icon_svg(shape: str, colour: str = "#ffd54a") -> str:
    """One icon as an ``<img>`` of inline SVG (a data: URI), sized by the ``em`` of its parent.

    st.html sanitises with DOMPurify, which drops ``<svg>`` elements but keeps an image's
    data: URI, so the SVG travels inside the image: no request, no font, no emoji.
    """
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="{colour}">'
        f'{_SHAPES[shape].replace("currentColor", colour)}</svg>'
    )
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="sb-svg" alt="" src="data:image/svg+xml;base64,{data}">'


def badge_icon(code: object) -> str:
    return icon_svg(*BADGE_ICONS.get(str(code or ""), DEFAULT_ICON))


def _stars(n: int) -> str:
    return "★" * int(n)


# Explicit bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): a customer's
# right-to-left override must not reverse the quote; natural right-to-left text needs none.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _user(value: object, *, max_length: int | None = None) -> str:
    """One user string (a name, a team, a comment): escaped, without bidi controls, in its own <bdi>."""
    text = "" if value is None else str(value).translate(_BIDI_CONTROLS)
    return f"<bdi>{esc(text, max_length=max_length)}</bdi>"


def _columns(n: int) -> int:
    """Columns for ``n`` rows: one up to 10, then two (each row keeps a readable height), three past 30."""
    return 1 if n <= 10 else 2 if n <= 30 else 3


def _list(rows: list[str]) -> str:
    cols = _columns(len(rows))
    per_column = max(1, ceil(len(rows) / cols))
    return f'<div class="sb-list" style="--cols:{cols};--k:{per_column}">{"".join(rows)}</div>'


def _rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        up = f'<span class="sb-up">▲ {r["movement"]}</span>' if r.get("movement") and r["movement"] > 0 else ""
        cls = f"r{r['rank']}" if r["rank"] <= 3 else ""
        out.append(
            f'<div class="sb-row {cls}"><div class="sb-rank">{r["rank"]}</div>'
            f'<div class="sb-name">{_user(r["agent"])}{up}<span class="sb-team">{_user(r["team"])}</span></div>'
            f'<div class="sb-stars">{r["avg_stars"]:.2f} ★</div>'
            f'<div class="sb-count">{r["ratings"]} ratings</div></div>'
        )
    return _list(out)


def _team_rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        cls = f"r{r['rank']}" if r["rank"] <= 3 else ""
        out.append(
            f'<div class="sb-row {cls}"><div class="sb-rank">{r["rank"]}</div>'
            f'<div class="sb-name">{_user(r["team"])}<span class="sb-team">{_user(r["site"])}</span></div>'
            f'<div class="sb-stars">{r["avg_stars"]:.2f} ★</div>'
            f'<div class="sb-count">{r["ratings"]} ratings</div></div>'
        )
    return _list(out)


def _cards(cards: list[str]) -> str:
    return f'<div class="sb-cards" style="--k:{max(1, ceil(len(cards) / 2))}">{"".join(cards)}</div>'


def _shoutouts(items: list[dict], now: datetime) -> str:
    cards = []
    for s in items[:4]:
        cards.append(
            f'<div class="sb-card"><div class="sb-gold">{_stars(s["stars"])}</div>'
            f'<div class="sb-quote">“{_user(s["comment"], max_length=260)}”</div>'
            f'<div class="sb-who">for <b>{_user(s["agent"])}</b> · {_user(s["team"])} · '
            f'{esc(time_ago(s["rated_at"], now))}</div></div>'
        )
    return _cards(cards)


def _badges(items: list[dict], now: datetime) -> str:
    cards = []
    for b in items[:6]:
        cards.append(
            f'<div class="sb-card sb-badge"><span class="sb-icon">{badge_icon(b.get("badge_code"))}</span><div>'
            f'<b>{_user(b["agent"])}</b><div class="sb-who"><span class="sb-gold">{_user(b["badge"])}</span> · '
            f'{_user(b["team"])} · {esc(time_ago(b["awarded_at"], now))}</div></div></div>'
        )
    return _cards(cards)


def reconnecting_html() -> str:
    """The quiet screen of a wall whose database is away and that has nothing to show yet."""
    return (
        '<div class="sb-wall" data-panel="reconnecting"><div class="sb-empty"><div class="sb-big">★ Starboard</div>'
        '<div class="sb-sub sb-reconnecting"><span class="sb-live"></span>reconnecting…</div></div></div>'
    )


def panel_html(
    data: WallData, panel: str | None, *, now: datetime, local_clock: str, reconnecting: bool, banner: str = ""
) -> str:
    """The whole wall for one moment: header, a celebration ``banner`` if any, the current panel, rotation dots."""
    panels = data.panels()
    status = (
        '<span class="sb-reconnecting"><span class="sb-live"></span>reconnecting…</span>'
        if reconnecting
        else '<span class="sb-live" title="live"></span>'
    )
    brand = f'<div class="sb-brand">★ Starboard<small>{_user(data.scope_label)}</small></div>'
    clock = f'<div class="sb-clock">{status}{esc(local_clock)}</div>'
    title = f'<div class="sb-title">{esc(PANEL_TITLES[panel])}</div>' if panel else '<div class="sb-title"></div>'
    head = f'<div class="sb-top">{brand}{title}{clock}</div>{banner}'

    if panel is None:
        body = (
            f'<div class="sb-empty"><div class="sb-big">A fresh day on the floor {icon_svg("sun", "#ffd54a")}</div>'
            '<div class="sb-sub">The first five-star moments of today will light up this screen.</div></div>'
        )
        return f'<div class="sb-wall" data-panel="empty">{head}{body}</div>'
    if panel in ("today", "week"):
        inner = _rows(getattr(data, panel))
    elif panel == "teams":
        inner = _team_rows(data.teams)
    elif panel == "shoutouts":
        inner = _shoutouts(data.shoutouts, now)
    else:
        inner = _badges(data.badges, now)
    dots = "".join(f'<span class="{"on" if p == panel else ""}"> ● </span>' for p in panels)
    return (
        f'<div class="sb-wall" data-panel="{panel}">{head}'
        f'<div class="sb-body">{inner}</div><div class="sb-dots">{dots}</div></div>'
    )


def celebration_html(event: dict) -> str:
    if event["kind"] == "badge":
        head = f"{icon_svg('medal', '#1b1200')} {_user(event['agent'])} just earned {_user(event['text'])}!"
        quote = ""
    else:
        head = f"{icon_svg('star', '#1b1200')} New 5★ for {_user(event['agent'])}!"
        quote = f'<div class="sb-quote">“{_user(event["text"], max_length=200)}”</div>' if event.get("text") else ""
    return f'<div class="sb-celebrate" data-event="{esc(event["key"])}"><div class="sb-head">{head}</div>{quote}</div>'
