"""Fixtures for the web tests: a real SQLite database built by the Alembic migrations (copied
per test from one migrated template), the real Flask app and its test client."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bot.settings import get_settings
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.web import create_app
from tests.web import seed

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("webdb") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(migrated_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "koers.db"
    shutil.copy(migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(db_url: str, tmp_path: Path):
    return dataclasses.replace(
        get_settings(),
        database_url=db_url,
        var_dir=tmp_path,
        secret_key="test-secret-key-not-for-production",
        rasa_port=9,
    )  # nothing listens on port 9


@pytest.fixture
def app(settings):
    app = create_app(settings=settings)
    yield app
    app.extensions["koers_engine"].dispose()


@pytest.fixture
def engine(app):
    return app.extensions["koers_engine"]


@pytest.fixture
def data(engine) -> seed.Seeded:
    with session_scope(engine) as session:
        return seed.seed(session, "test-secret-key-not-for-production")


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username: str, password: str = seed.PASSWORD):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def token(client, path: str) -> str:
    """The CSRF token from a page (what a browser would submit)."""
    return csrf_from(client.get(path).get_data(as_text=True))


__all__ = ["csrf_from", "login", "token", "make_engine"]
