"""AppTest helpers: the real app (app.py + st.navigation), signed in as a given user."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from db.engine import make_engine
from db.models import Agent, User
from pages.access import AUTH_KEY

APP = str(Path(__file__).resolve().parent.parent / "app.py")  # AppTest resolves paths from the test file


def ensure_user(username: str, *, role: str = "admin", agent: str | None = None, db_url: str | None = None) -> int:
    """The id of ``username`` in the test database (created with ``role`` if missing)."""
    engine = make_engine(db_url or os.environ["DATABASE_URL"])
    try:
        with Session(engine) as session:
            user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
            if user is None:
                user = User(username=username, display_name=username, role=role)
                session.add(user)
                session.commit()
                session.refresh(user)
            if agent:
                row = session.exec(select(Agent).where(Agent.name == agent)).one()
                row.user_id = user.id
                session.add(row)
                session.commit()
            return int(user.id)
    finally:
        engine.dispose()


def app_as(username: str | None = "admin", *, role: str = "admin", timeout: int = 60, **params: str) -> AppTest:
    """An AppTest of the whole app, signed in as ``username`` (None: signed out)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if username is not None:
        at.session_state[AUTH_KEY] = {"user_id": ensure_user(username, role=role), "auth_version": 0, "last_seen": time.time()}
    for key, value in params.items():
        at.query_params[key] = value
    return at
