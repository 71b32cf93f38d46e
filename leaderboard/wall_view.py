"""The wall's HTML: big, dark, high-contrast, readable from five metres.

Sizes are in viewport units so the same markup fills a 1920×1080 and a
3840×2160 screen alike. Every user string goes through ``html_text``.
"""

from __future__ import annotations

from datetime import datetime

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
  .sb-brand {{ font-size: calc(2 * {U}); font-weight: 700; color: #ffd54a; letter-spacing: .02em; flex: 1; }}
  .sb-brand small {{ display: block; color: #9aa7c7; font-weight: 500; font-size: .8em; }}
  .sb-title {{ font-size: calc(3.6 * {U}); font-weight: 800; text-align: center; flex: 2; line-height: 1.2; }}
  .sb-clock {{ font-size: calc(2 * {U}); color: #c9d3ee; font-variant-numeric: tabular-nums; flex: 1;
    text-align: right; }}
  .sb-live {{ display: inline-block; width: calc(1 * {U}); height: calc(1 * {U}); border-radius: 50%;
    background: #35d07f; margin-right: calc(.6 * {U}); vertical-align: middle; }}
  .sb-reconnecting {{ font-size: calc(1.4 * {U}); color: #ffb04a; margin-right: calc(1 * {U}); }}
  .sb-reconnecting .sb-live {{ background: #ffb04a; }}
  .sb-body {{ flex: 1; display: flex; flex-direction: column; gap: calc(.6 * {U}); overflow: hidden; min-height: 0; }}
  .sb-row {{ flex: 1 1 0; max-height: calc(6.5 * {U}); min-height: 0; display: grid;
    grid-template-columns: calc(6 * {U}) 1fr calc(14 * {U}) calc(13 * {U}); align-items: center;
    background: #111a30; border-radius: calc(1 * {U}); padding: 0 calc(1.6 * {U}); font-size: calc(2.6 * {U});
    overflow: hidden; }}
  .sb-row.r1 {{ background: linear-gradient(90deg, #6b5000, #111a30 65%); }}
  .sb-row.r2 {{ background: linear-gradient(90deg, #4a5263, #111a30 65%); }}
  .sb-row.r3 {{ background: linear-gradient(90deg, #5e3818, #111a30 65%); }}
  .sb-rank {{ font-weight: 800; color: #ffd54a; font-variant-numeric: tabular-nums; }}
  .sb-name {{ font-weight: 700; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
  .sb-team {{ font-size: .6em; font-weight: 500; color: #9aa7c7; margin-left: calc(1.2 * {U}); }}
  .sb-stars {{ text-align: right; color: #ffd54a; font-weight: 700; font-variant-numeric: tabular-nums; }}
  .sb-count {{ text-align: right; color: #c9d3ee; font-size: .7em; font-variant-numeric: tabular-nums; }}
  .sb-up {{ color: #35d07f; font-size: .6em; margin-left: calc(1 * {U}); }}
  .sb-cards {{ display: grid; grid-template-columns: 1fr 1fr; gap: calc(1.4 * {U}); }}
  .sb-card {{ background: #111a30; border-radius: calc(1.2 * {U}); padding: calc(1.6 * {U}) calc(2 * {U}); }}
  .sb-card .sb-quote {{ font-size: calc(2.9 * {U}); line-height: 1.3; font-style: italic; color: #ffffff;
    display: -webkit-box; -webkit-line-clamp: 4; -webkit-box-orient: vertical; overflow: hidden; }}
  .sb-card .sb-who {{ margin-top: calc(1 * {U}); font-size: calc(1.9 * {U}); color: #9aa7c7; }}
  .sb-card .sb-who b {{ color: #f4f6fb; }}
  .sb-card .sb-gold {{ color: #ffd54a; font-size: calc(2.2 * {U}); letter-spacing: .1em; }}
  .sb-badge {{ display: flex; align-items: center; gap: calc(1.5 * {U}); font-size: calc(2.6 * {U}); }}
  .sb-badge .sb-icon {{ font-size: 1.8em; }}
  .sb-empty {{ flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center;
    text-align: center; }}
  .sb-empty .sb-big {{ font-size: calc(6 * {U}); font-weight: 800; color: #ffd54a; }}
  .sb-empty .sb-sub {{ font-size: calc(2.6 * {U}); color: #c9d3ee; margin-top: calc(1.5 * {U}); }}
  .sb-dots {{ text-align: center; padding-top: calc(.8 * {U}); font-size: calc(1.4 * {U}); color: #3a4766; }}
  .sb-dots .on {{ color: #ffd54a; }}
  .sb-celebrate {{ position: fixed; left: 0; right: 0; top: 0; z-index: 1000; padding: calc(2 * {U}) calc(3 * {U});
    background: linear-gradient(90deg, #ffb300, #ff6f00); color: #1b1200; box-shadow: 0 1vh 4vh rgba(0,0,0,.5);
    animation: sb-drop .6s ease-out; }}
  .sb-celebrate .sb-head {{ font-size: calc(4 * {U}); font-weight: 900; }}
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


def _rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        up = f'<span class="sb-up">▲ {r["movement"]}</span>' if r.get("movement") and r["movement"] > 0 else ""
        cls = f"r{r['rank']}" if r["rank"] <= 3 else ""
        out.append(
            f'<div class="sb-row {cls}"><div class="sb-rank">{r["rank"]}</div>'
            f'<div class="sb-name">{esc(r["agent"])}{up}<span class="sb-team">{esc(r["team"])}</span></div>'
            f'<div class="sb-stars">{r["avg_stars"]:.2f} ★</div>'
            f'<div class="sb-count">{r["ratings"]} ratings</div></div>'
        )
    return "".join(out)


def _team_rows(rows: list[dict]) -> str:
    out = []
    for r in rows:
        cls = f"r{r['rank']}" if r["rank"] <= 3 else ""
        out.append(
            f'<div class="sb-row {cls}"><div class="sb-rank">{r["rank"]}</div>'
            f'<div class="sb-name">{esc(r["team"])}<span class="sb-team">{esc(r["site"])}</span></div>'
            f'<div class="sb-stars">{r["avg_stars"]:.2f} ★</div>'
            f'<div class="sb-count">{r["ratings"]} ratings</div></div>'
        )
    return "".join(out)


def _shoutouts(items: list[dict], now: datetime) -> str:
    cards = []
    for s in items[:4]:
        cards.append(
            f'<div class="sb-card"><div class="sb-gold">{_stars(s["stars"])}</div>'
            f'<div class="sb-quote">“{esc(s["comment"], max_length=260)}”</div>'
            f'<div class="sb-who">for <b>{esc(s["agent"])}</b> · {esc(s["team"])} · '
            f'{esc(time_ago(s["rated_at"], now))}</div></div>'
        )
    return f'<div class="sb-cards">{"".join(cards)}</div>'


def _badges(items: list[dict], now: datetime) -> str:
    cards = []
    for b in items[:6]:
        icon = BADGE_ICONS.get(str(b.get("badge_code", "")), "🏅")
        cards.append(
            f'<div class="sb-card sb-badge"><span class="sb-icon">{icon}</span><div>'
            f'<b>{esc(b["agent"])}</b><div class="sb-who"><span class="sb-gold">{esc(b["badge"])}</span> · {esc(b["team"])} · '
            f'{esc(time_ago(b["awarded_at"], now))}</div></div></div>'
        )
    return f'<div class="sb-cards">{"".join(cards)}</div>'


def panel_html(data: WallData, panel: str | None, *, now: datetime, local_clock: str, reconnecting: bool) -> str:
    """The whole wall for one moment: header, the current panel, rotation dots."""
    panels = data.panels()
    status = (
        '<span class="sb-reconnecting"><span class="sb-live"></span>reconnecting…</span>'
        if reconnecting
        else '<span class="sb-live" title="live"></span>'
    )
    brand = f'<div class="sb-brand">★ Starboard<small>{esc(data.scope_label)}</small></div>'
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
        head = f"🏅 {esc(event['agent'])} just earned {esc(event['text'])}!"
        quote = ""
    else:
        head = f"🎉 New 5★ for {esc(event['agent'])}!"
        quote = f'<div class="sb-quote">“{esc(event["text"], max_length=200)}”</div>' if event.get("text") else ""
    return f'<div class="sb-celebrate" data-event="{esc(event["key"])}"><div class="sb-head">{head}</div>{quote}</div>'
