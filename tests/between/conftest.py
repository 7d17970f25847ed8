"""Fixtures for the between-sessions tests: a migrated SQLite database per test (copied from
one migrated template), also PostgreSQL when KOERS_TEST_POSTGRES_URL is set, and the local
stand-in servers from fakes.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.db import make_engine, upgrade_database
from bot.storage.models import metadata
from tests.between.fakes import FakeCm, FakePushService, SmtpServer

POSTGRES_URL = os.environ.get("KOERS_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def between_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("between-db") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


def _drop_everything(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not POSTGRES_URL, reason="KOERS_TEST_POSTGRES_URL is not set"),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, between_template: Path, tmp_path: Path):
    """A migrated database: a copy of the SQLite template, or the test PostgreSQL database
    (KOERS_TEST_POSTGRES_URL) emptied and migrated."""
    if request.param == "sqlite":
        target = tmp_path / "koers.db"
        shutil.copy(between_template, target)
        yield f"sqlite:///{target}"
        return
    assert POSTGRES_URL is not None
    _drop_everything(POSTGRES_URL)
    upgrade_database(POSTGRES_URL)
    yield POSTGRES_URL
    _drop_everything(POSTGRES_URL)


@pytest.fixture
def engine(db_url: str):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    yield server
    server.close()


@pytest.fixture
def smtp_tls_server(tmp_path):
    server = SmtpServer(tls_dir=tmp_path)
    yield server
    server.close()


@pytest.fixture
def cm():
    server = FakeCm()
    yield server
    server.close()


@pytest.fixture
def push_service():
    server = FakePushService()
    yield server
    server.close()
