"""Fixtures for the between-sessions tests: a migrated SQLite database per test (copied from
one migrated template) and the local stand-in servers from fakes.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.storage.db import make_engine, upgrade_database
from tests.between.fakes import FakeCm, FakePushService, SmtpServer


@pytest.fixture(scope="session")
def between_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("between-db") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(between_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "koers.db"
    shutil.copy(between_template, target)
    return f"sqlite:///{target}"


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
