"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from actions import durable
from bot.storage.outbox import Outbox


@pytest.fixture
def outbox(monkeypatch, tmp_path):
    """The actions' database sessions go through issue 13's actions.durable: its outbox in
    this test's folder, and no cool-down left over from another test."""
    box = Outbox(tmp_path / "outbox")
    monkeypatch.setattr(durable, "outbox", lambda: box)
    durable.breaker.recovered()
    yield box
    durable.breaker.recovered()
