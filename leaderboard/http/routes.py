"""Every plain HTTP route, handed to ``st.App(..., routes=ROUTES)`` in app.py."""

from __future__ import annotations

from starlette.routing import Route

from leaderboard.hooks import SOURCES
from leaderboard.http import api, auth, followup, hooks, unsubscribe

ROUTES = [
    Route("/api/v1/health", api.health, methods=["GET"]),
    Route("/api/v1/ratings", api.ratings, methods=["POST"]),
    Route("/api/v1/interactions", api.interactions, methods=["POST"]),
    # /s/f.<token> is the recovery follow-up; any other token the survey (leaderboard/http/followup.py).
    Route("/s/{token}", followup.get, methods=["GET"]),
    Route("/s/{token}", followup.post, methods=["POST"]),
    Route("/auth/session", auth.session_get, methods=["GET"]),
    Route("/auth/signout", auth.signout_get, methods=["GET"]),
    *(Route(f"/api/v1/hooks/{source}", hooks.receiver(source), methods=["POST"]) for source in SOURCES),
    Route("/u/{token}", unsubscribe.unsubscribe_get, methods=["GET"]),
    Route("/u/{token}", unsubscribe.unsubscribe_post, methods=["POST"]),
]
