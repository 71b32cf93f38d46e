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
  .sb-badge .sb-icon {{ font-size: 1.8em; flex: none; }}
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
  .sb-celebrate {{ position: fixed; left: 0; right: 0; top: 0; z-index: 1000; padding: calc(2 * {U}) calc(3 * {U});
    background: linear-gradient(90deg, #ffb300, #ff6f00); color: #1b1200; box-shadow: 0 1vh 4vh rgba(0,0,0,.5);
    animation: sb-drop .6s ease-out; }}
  .sb-celebrate {{ overflow-wrap: anywhere; }}
  .sb-celebrate .sb-head {{ font-size: calc(4 * {U}); font-weight: 900; display: -webkit-box; -webkit-line-clamp: 2;
    -webkit-box-orient: vertical; overflow: hidden; }}
  .sb-celebrate .sb-quote {{ font-size: calc(2.4 * {U}); font-style: italic; margin-top: calc(.6 * {U});
    display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }}
  @keyframes sb-drop {{ from {{ transform: translateY(-100%); }} to {{ transform: translateY(0); }} }}
</style>
"""

BADGE_ICONS = {
    "creative": "💡",
    "empowering": "🤝",
    "nimble": "⚡",
    "trustful": "🛡️",
    "empathetic": "💛",
    "responsive": "⏱️",
    "first_five_star": "⭐",
    "streak_10": "🔥",
    "ratings_100": "💯",
    "ratings_500": "🏆",
    "weekly_top": "👑",
    "most_improved": "📈",
    "perfect_week": "🌟",
    "fcr_champion": "🎯",
    "recovery_hero": "🦸",
}


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
        icon = BADGE_ICONS.get(str(b.get("badge_code", "")), "🏅")
        cards.append(
            f'<div class="sb-card sb-badge"><span class="sb-icon">{icon}</span><div>'
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


def panel_html(data: WallData, panel: str | None, *, now: datetime, local_clock: str, reconnecting: bool) -> str:
    """The whole wall for one moment: header, the current panel, rotation dots."""
    panels = data.panels()
    status = (
        '<span class="sb-reconnecting"><span class="sb-live"></span>reconnecting…</span>'
        if reconnecting
        else '<span class="sb-live" title="live"></span>'
    )
    brand = f'<div class="sb-brand">★ Starboard<small>{_user(data.scope_label)}</small></div>'
    clock = f'<div class="sb-clock">{status}{esc(local_clock)}</div>'
    title = f'<div class="sb-title">{esc(PANEL_TITLES[panel])}</div>' if panel else '<div class="sb-title"></div>'
    head = f'<div class="sb-top">{brand}{title}{clock}</div>'

    if panel is None:
        body = (
            '<div class="sb-empty"><div class="sb-big">A fresh day on the floor ☀️</div>'
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
        head = f"🏅 {_user(event['agent'])} just earned {_user(event['text'])}!"
        quote = ""
    else:
        head = f"🎉 New 5★ for {_user(event['agent'])}!"
        quote = f'<div class="sb-quote">“{_user(event["text"], max_length=200)}”</div>' if event.get("text") else ""
    return f'<div class="sb-celebrate" data-event="{esc(event["key"])}"><div class="sb-head">{head}</div>{quote}</div>'
