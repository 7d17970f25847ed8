"""End to end (the trained model, the real action server, a real database, the web app): the
worker's sheet shows each question exactly as the client read it, in that language level,
also when the client switched to simple language halfway through a reflection (issue 12).
And the crisis reminder at a stop comes once, without "Kom gerust terug." twice."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.settings import get_settings
from bot.storage import repository as repo
from bot.storage.models import Client, Worker
from bot.web import create_app
from bot.web.security import hash_password

pytestmark = pytest.mark.slow
PASSWORD = "e2e-wachtwoord-123"


def asked(bot, sender: str) -> list[content.Prompt]:
    tracker = bot.tracker(sender)
    theme = tracker.get_slot("thema")
    return [content.prompt(theme, key) for key in tracker.get_slot("vragen") or []]


def test_the_sheet_shows_the_wording_the_client_saw(bot, engine, database_url, tmp_path):
    sender = bot.new_sender("e2e-shown")
    assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
    bot.texts(sender, "4")
    bot.texts(sender, "2")  # Over anderen
    reply = bot.texts(sender, "1")  # Mensen om je heen
    first, second = asked(bot, sender)
    assert first.standaard in reply
    assert second.standaard in bot.texts(sender, "boodschappen voor mijn buurman")
    simple = bot.texts(sender, "makkelijker")  # halfway: simple language from here
    assert second.eenvoudig in simple
    scale_simple = content.scale_question("verbinding", "eenvoudig")
    assert scale_simple in bot.texts(sender, "met mijn moeder")
    for text in ("4", "nee", "ja", "ja"):  # scale, no step, the read-back is right, share
        bot.texts(sender, text)

    with Session(engine) as session:
        [saved] = repo.list_reflections(session, sender)
        assert [(a.question_text, a.language_level) for a in saved.answers] == [
            (first.standaard, "standaard"),
            (second.eenvoudig, "eenvoudig"),
        ]
        assert (saved.scale_question, saved.scale_level) == (scale_simple, "eenvoudig")
        # Put the client on a worker's caseload, then read the sheet as that worker.
        worker = Worker(
            username="e2e.shown", display_name="E2E (nep)", password_hash=hash_password(PASSWORD)
        )
        session.add(worker)
        session.flush()
        client = session.execute(select(Client).where(Client.chat_id == sender)).scalar_one()
        client.worker_id = worker.id
        client_id = client.id
        session.commit()

    settings = dataclasses.replace(
        get_settings(), database_url=database_url, var_dir=tmp_path, secret_key="e2e-shown"
    )
    app = create_app(settings=settings)
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    web.post("/login", data={"username": "e2e.shown", "password": PASSWORD, "csrf_token": token})
    sheet = web.get(f"/begeleider/client/{client_id}/voorbereiding").get_data(as_text=True)
    app.extensions["koers_engine"].dispose()
    assert f'{first.standaard} <span class="level">(standaard taal)</span>' in sheet
    assert f'{second.eenvoudig} <span class="level">(eenvoudige taal)</span>' in sheet
    assert f'“{scale_simple}” <span class="level">(eenvoudige taal)</span>' in sheet
    assert first.eenvoudig not in sheet
    assert content.scale_question("verbinding", "standaard") not in sheet


def test_a_stop_after_a_crisis_reminds_once(bot):
    sender = bot.new_sender("e2e-stop")
    bot.texts(sender, "hoi")
    bot.texts(sender, "makkelijker")
    assert "113" in bot.texts(sender, "ik wil niet meer leven")
    first = bot.texts(sender, "stop")
    # utter_crisis_herinnering: every number once more, at the first stop only.
    assert "De hulp blijft er" in first and "0800-2000" in first
    assert first.count("Kom gerust terug") <= 1
    second = bot.texts(sender, "stop")
    assert "De hulp blijft er" not in second and second.count("Kom gerust terug") <= 1
