"""Issue 14's browser test end to end: a customer answers on a phone, the floor sees it on the wall.

A server of its own (tests/http_util.py ``live``: a fresh database, so this answer is the
newest praise there is), Chromium at 390×844 for the survey and a second page at 1920×1080
for the wall (a display token made with `python -m leaderboard displays add`). The hostile
comment must arrive on the wall as text: no element made of it, no script run.
"""

from __future__ import annotations

import pytest

from db import survey_store
from tests.browser_util import ARTIFACTS, assert_no_exception, chromium  # noqa: F401  (fixture)
from tests.cli_util import run_cli
from tests.http_util import live  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"


def test_a_five_star_survey_comment_shows_on_the_wall_as_text(live, chromium):  # noqa: F811
    interaction_id = live.take()
    alerts: list[str] = []
    phone = chromium.new_context(viewport={"width": 390, "height": 844})
    tv = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        survey = phone.new_page()
        survey.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        survey.goto(live.link(interaction_id), wait_until="load")
        assert survey_store.stored_rating(engine=live.engine, interaction_id=interaction_id) is None  # opening alone
        survey.get_by_label("5 stars: excellent").check()
        survey.get_by_label("Anything you would like to add? (optional)").fill(HOSTILE)
        survey.get_by_role("button", name="Send my answer").click()
        survey.wait_for_selector('[data-testid="thanks"]')
        assert survey.locator('[data-testid="comment"]').inner_text() == HOSTILE
        stored = survey_store.stored_rating(engine=live.engine, interaction_id=interaction_id)
        assert stored is not None and (stored["stars"], stored["comment"]) == (5, HOSTILE)

        made = run_cli("displays", "add", "survey-test-tv", db=live.db_url)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        wall = tv.new_page()
        wall.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        wall.goto(f"{live.url}/wall?display={token}&panel=shoutouts&refresh=2", wait_until="domcontentloaded")
        wall.wait_for_selector(".sb-wall", state="visible", timeout=60_000)
        shown = wall.locator(".sb-wall").get_by_text(HOSTILE).first
        shown.wait_for(state="visible", timeout=60_000)
        assert_no_exception(wall)
        assert "Maria S." in wall.locator(".sb-wall").inner_text()  # the public name beside it
        # Text, not markup: no image element anywhere on the wall, no alert in either page.
        assert wall.locator(".sb-wall img").count() == 0
        assert wall.locator('img[src="x"]').count() == 0 and survey.locator('img[src="x"]').count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        wall.screenshot(path=str(ARTIFACTS / "survey_comment_on_wall.png"))
        assert alerts == []
    finally:
        phone.close()
        tv.close()
