"""End to end: the trained model, the real action server and a real SQLite database.

Each test talks to Koers as a client would (`bot.texts`), then checks what was stored.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.services import ACTIONS_SECRET_HEADER
from bot.storage import repository as repo
from bot.storage.models import Client, Reflection, utcnow
from bot.storage.repository import AnswerIn, PlanItemIn
from tests.conftest import ACTIONS_SECRET

pytestmark = pytest.mark.slow


def reflections(engine, sender: str) -> list[Reflection]:
    with Session(engine) as session:
        return repo.list_reflections(session, sender)


def asked(bot, sender: str) -> list[content.Prompt]:
    """The prompts Koers chose for the reflection in progress."""
    tracker = bot.tracker(sender)
    theme = tracker.get_slot("thema")
    return [content.prompt(theme, key) for key in tracker.get_slot("vragen") or []]


def check_in(bot, sender: str, mood: str = "4") -> str:
    first = bot.texts(sender, "hoi")
    assert "computerprogramma" in first, "first contact shows the disclosure"
    assert "Hoe gaat het vandaag?" in first
    messages = bot.say(sender, mood)
    buttons = [b["title"] for m in messages for b in m.get("buttons") or []]
    if "Waar wil je" in messages[-1].get("text", ""):
        # The menu's first step: four choices (issue 10).
        assert len(buttons) == 4 and buttons[0].endswith("Over mezelf")
        assert buttons[-1] == "4 🎲 Kies jij maar"
    return "\n".join(m.get("text") or "" for m in messages)


def menu_path(theme: str) -> list[str]:
    """The numbers a client types to reach `theme`: its group, then its place in the group."""
    group = content.group(theme)
    return [
        str(content.FIRST_STEP.index(group) + 1),
        str(content.themes_in_group(group).index(theme) + 1),
    ]


def start_theme(bot, sender: str, choice: str | list[str], theme: str) -> list[content.Prompt]:
    menu = check_in(bot, sender)
    assert "Waar wil je het over hebben?" in menu
    for step in [choice] if isinstance(choice, str) else choice:
        reply = bot.texts(sender, step)
    assert content.label(theme) in reply
    prompts = asked(bot, sender)
    assert len(prompts) == 2 and prompts[0].standaard in reply
    return prompts


def test_theme_by_number_with_step_readback_and_consent(bot, engine):
    sender = bot.new_sender("e2e")
    first, second = start_theme(bot, sender, menu_path("verbinding"), "verbinding")
    assert second.standaard in bot.texts(sender, "mijn broer <b>Tom</b>")
    assert content.scale_question("verbinding", "standaard") in bot.texts(sender, "met mijn moeder")
    assert "klein stapje" in bot.texts(sender, "3")
    assert "Wat is jouw stapje?" in bot.texts(sender, "ja")
    readback = bot.texts(sender, "zondag mijn zus bellen")
    assert "Mooi" in readback and "Ik heb dit opgeschreven" in readback
    assert "mijn broer <b>Tom</b>" in readback and "3 van de 5" in readback
    assert "zondag mijn zus bellen" in readback and "Klopt dat?" in readback
    assert "Mag je begeleider dit lezen?" in bot.texts(sender, "ja klopt")
    assert reflections(engine, sender) == [], "nothing is saved before consent"
    closing = bot.texts(sender, "ja")
    assert "Je begeleider kan het lezen" in closing and "nog een onderwerp" in closing
    assert "Tot de volgende keer" in bot.texts(sender, "nee")

    [saved] = reflections(engine, sender)
    assert saved.theme == "verbinding" and saved.status == "compleet"
    assert saved.shared_with_worker is True and saved.scale == 3
    assert [(a.question_key, a.question_text, a.answer_text) for a in saved.answers] == [
        (first.key, first.standaard, "mijn broer <b>Tom</b>"),
        (second.key, second.standaard, "met mijn moeder"),
    ]
    with Session(engine) as session:
        [step] = repo.list_steps(session, sender)
        assert [c.mood for c in repo.list_checkins(session, sender)] == [4]
    assert step.text == "zondag mijn zus bellen" and step.status == "open"
    assert step.shared_with_worker is True and step.reflection_id == saved.id

    # Asking to save again after success neither duplicates nor fails.
    assert "al bewaard" in bot.texts(sender, "/opnieuw_opslaan")
    assert len(reflections(engine, sender)) == 1


def test_neither_yes_nor_no_at_the_read_back_asks_again_and_keeps_the_reflection(bot, engine):
    """At "Klopt dat?" a thumb, "weet ik niet", "hoe bedoel je" or the step sent again (a
    client's resend after an outage, CI of 80f37c9) used to drop the reflection for the menu."""
    sender = bot.new_sender("e2e")
    start_theme(bot, sender, menu_path("verbinding"), "verbinding")
    for text in ("mijn broer", "met mijn moeder", "3", "ja"):
        bot.texts(sender, text)
    assert "Klopt dat?" in bot.texts(sender, "zondag mijn zus bellen")
    probes = (
        "👍",
        "weet ik niet",
        "zondag mijn zus bellen",
        "hoe bedoel je",
        "wat kan je",
        "dank je",
    )
    said_to = {}
    for text in (*probes, "makkelijker"):
        again = bot.say(sender, text)
        said = said_to[text] = "\n".join(m.get("text") or "" for m in again)
        assert "Tik op Ja of Nee" in said, (text, said)
        assert "mijn broer" in said and "zondag mijn zus bellen" in said, (text, said)
        assert [b["payload"] for b in again[-1]["buttons"]] == ["/bevestigen", "/ontkennen"]
        assert bot.tracker(sender).get_slot("stapje") == "zondag mijn zus bellen"
    # Help is answered before the read-back comes again; "makkelijker" switches it to simple.
    assert "computerprogramma" in said_to["wat kan je"] and "Klopt het?" in said
    assert bot.tracker(sender).get_slot("taalniveau") == "eenvoudig"
    with Session(engine) as session:
        stored = session.scalars(select(Client.language_level).where(Client.chat_id == sender))
        assert stored.one() == "eenvoudig", "the switch is stored at once, as in a form"
    assert "begeleider" in bot.texts(sender, "/bevestigen")
    bot.texts(sender, "nee")
    [saved] = reflections(engine, sender)
    assert [a.answer_text for a in saved.answers] == ["mijn broer", "met mijn moeder"]
    with Session(engine) as session:
        [step] = repo.list_steps(session, sender)
    assert step.text == "zondag mijn zus bellen"


@pytest.mark.parametrize("leave", ["stop", "doei"])
def test_stop_at_the_read_back_keeps_a_draft_and_verder_reads_it_back(bot, engine, leave):
    sender = bot.new_sender("e2e")
    start_theme(bot, sender, menu_path("verbinding"), "verbinding")
    for text in ("mijn broer", "met mijn moeder", "3", "ja", "zondag mijn zus bellen"):
        bot.texts(sender, text)
    assert "bewaard" in bot.texts(sender, leave)
    [draft] = reflections(engine, sender)
    assert draft.status == "onderbroken" and draft.shared_with_worker is False
    back = bot.texts(sender, "/hervatten")
    assert "zondag mijn zus bellen" in back and "Klopt dat?" in back
    assert "Mag je begeleider dit lezen?" in bot.texts(sender, "/bevestigen")
    bot.texts(sender, "ja")
    [saved] = reflections(engine, sender)
    assert saved.id == draft.id and saved.status == "compleet" and saved.shared_with_worker


def test_same_theme_again_gets_other_prompts_and_correction_works(bot, engine):
    sender = bot.new_sender("e2e")
    first_round = start_theme(bot, sender, "wie ben ik", "identiteit")
    for text in ("ik ben een goede vader", "ik kan goed koken", "4", "nee"):
        bot.texts(sender, text)
    which = bot.say(sender, "nee")  # the read-back is not right
    assert "Wat wil je aanpassen?" in which[-1]["text"]
    assert [b["payload"] for b in which[-1]["buttons"]] == ["1", "2", "3"]
    assert "Wat wil je daar nu zeggen?" in bot.texts(sender, "2")
    readback = bot.texts(sender, "ik kan goed luisteren")
    assert "ik kan goed luisteren" in readback and "ik kan goed koken" not in readback
    bot.texts(sender, "ja")
    assert "nog een onderwerp" in bot.texts(sender, "nee")  # private
    assert "Waar wil je het over hebben?" in bot.texts(sender, "ja")  # one more
    bot.texts(sender, menu_path("identiteit")[0])
    reply = bot.texts(sender, menu_path("identiteit")[1])
    second_round = asked(bot, sender)
    assert second_round[0].standaard in reply
    assert not {p.key for p in first_round} & {
        p.key for p in second_round
    }, "no prompt twice in a row for a theme"
    [saved] = reflections(engine, sender)
    assert saved.shared_with_worker is False
    assert saved.answers[1].answer_text == "ik kan goed luisteren"


def test_retried_save_does_not_duplicate(action_server, engine):
    """Rasa retries an action call when the action server is slow: same key, one row."""
    sender = "e2e-retry"
    keys = [p.key for p in content.prompts("hoop")[:2]]
    tracker = {
        "sender_id": sender,
        "slots": {
            "thema": "hoop",
            "vragen": keys,
            "antwoord_1": "de zomer",
            "antwoord_2": "werk",
            "thema_schaal": "4",
            "stapje": "cv maken",
            "delen": True,
            "reflectie_sleutel": "retry-key-1",
            "taalniveau": "standaard",
        },
        "latest_message": {"text": "ja", "intent": {"name": "bevestigen"}},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "toestemming_form",
    }
    body = {
        "next_action": "action_reflectie_opslaan",
        "sender_id": sender,
        "tracker": tracker,
        "domain": {"responses": {}},
    }
    # As Rasa calls it: with the action server's shared secret (bot/action_server.py).
    headers = {ACTIONS_SECRET_HEADER: ACTIONS_SECRET}
    replies = [
        requests.post(action_server, json=body, headers=headers, timeout=30).json()
        for _ in range(2)
    ]
    for reply in replies:
        assert [r["response"] for r in reply["responses"]] == [
            "utter_opgeslagen_gedeeld",
            "utter_nog_een",
        ]
    rows = reflections(engine, sender)
    assert len(rows) == 1 and rows[0].shared_with_worker is True
    with Session(engine) as session:
        assert [s.text for s in repo.list_steps(session, sender)] == ["cv maken"]


def test_crisis_typed_as_a_theme_answer(bot, engine):
    sender = bot.new_sender("e2e")
    first, _ = start_theme(bot, sender, "hoop", "hoop")
    message = "nergens naar, ik wil er niet meer zijn"
    reply = bot.texts(sender, message)
    assert "113" in reply and "0800-0113" in reply and "112" in reply
    assert "Wil je verder praten of liever stoppen?" in reply
    with Session(engine) as session:
        [event] = repo.list_safety_events(session, sender)
    assert event.category == "suicide" and event.message_text == message
    assert event.context == "thema_form" and "0800-0113" in event.response_text
    assert event.response_text in reply, "the stored text is exactly what was shown"
    assert reflections(engine, sender) == [], "the crisis message is not saved as an answer"
    # The client can go on with the same question afterwards.
    assert first.standaard in bot.texts(sender, "/hervatten")


def test_pause_mid_theme_and_continue_at_the_next_check_in(bot, engine):
    sender = bot.new_sender("e2e")
    _, second = start_theme(bot, sender, "zelf kiezen", "eigen_regie")
    bot.texts(sender, "wat ik eet")
    assert "we stoppen" in bot.texts(sender, "ik wil stoppen")
    [draft] = reflections(engine, sender)
    assert draft.status == "onderbroken" and draft.shared_with_worker is False
    assert [a.answer_text for a in draft.answers] == ["wat ik eet"]

    # The next check-in (a new session) offers to continue.
    bot.texts(sender, "/session_start")
    bot.texts(sender, "hoi")
    offer = bot.texts(sender, "3")
    assert "Vorige keer waren we nog niet klaar" in offer and "Zelf kiezen" in offer
    assert second.standaard in bot.texts(sender, "ja")
    for text in ("mijn eigen geld", "4", "nee, nu niet", "ja", "ja"):
        bot.texts(sender, text)
    [done] = reflections(engine, sender)
    assert done.id == draft.id and done.status == "compleet" and len(done.answers) == 2


@pytest.mark.parametrize(
    ("answer", "status", "says"),
    [
        ("ja", "gelukt", "Wat goed!"),
        ("een beetje", "beetje", "Een beetje is ook een stap"),
        ("nee", "niet_gelukt", "kleiner stapje"),
    ],
)
def test_last_times_step_is_asked_about(bot, engine, answer, status, says):
    sender = bot.new_sender("e2e")
    with Session(engine) as session:
        step, _ = repo.save_step(
            session, sender, "hoop", "de woningbouw bellen", True, f"stap-{sender}"
        )
        session.commit()
        step_id = step.id
    question = check_in(bot, sender)
    assert "Vorige keer koos je dit stapje: de woningbouw bellen" in question
    reply = bot.texts(sender, answer)
    assert says in reply and "Waar wil je het over hebben?" in reply
    with Session(engine) as session:
        [stored] = repo.list_steps(session, sender)
    assert stored.id == step_id and stored.status == status and stored.resolved_at


def test_kies_jij_maar_picks_the_theme_visited_least_recently(bot, engine):
    sender = bot.new_sender("e2e")
    long_ago = utcnow() - timedelta(days=30)
    with Session(engine) as session:
        for days, theme in enumerate(t for t in content.theme_keys() if t != "zingeving"):
            reflection, _ = repo.save_reflection(
                session,
                sender,
                theme,
                [AnswerIn("x", "Vraag?", "antwoord")],
                3,
                False,
                "compleet",
                f"{sender}-{theme}",
            )
            reflection.created_at = long_ago + timedelta(days=days)
        session.commit()
    check_in(bot, sender)
    reply = bot.texts(sender, "kies jij maar")
    assert "Dan kies ik voor jou: Wat vind jij belangrijk" in reply
    assert bot.tracker(sender).get_slot("thema") == "zingeving"


def test_venting_is_saved_as_its_own_kind_after_consent(bot, engine):
    sender = bot.new_sender("e2e")
    check_in(bot, sender)
    question = bot.texts(sender, "ik wil gewoon even kwijt wat er is")
    assert content.vent_question("standaard") in question
    reply = bot.texts(sender, "ik baal zo van het gedoe op de afdeling")
    assert "Dank je dat je het vertelt" in reply and "Klopt dat?" in reply
    assert "Sterke" not in reply and "stapje" not in reply, "no strengths turn forced on it"
    bot.texts(sender, "ja")
    bot.texts(sender, "nee")
    [saved] = reflections(engine, sender)
    assert saved.theme == "kwijt" and saved.shared_with_worker is False
    assert saved.answers[0].answer_text == "ik baal zo van het gedoe op de afdeling"


def _plan(engine, sender: str) -> None:
    with Session(engine) as session:
        repo.save_safety_plan(
            session,
            sender,
            [
                PlanItemIn("groen", "signaal", "ik slaap goed"),
                PlanItemIn("oranje", "signaal", "ik pieker veel"),
                PlanItemIn("oranje", "helpt", "een rondje lopen"),
                PlanItemIn("oranje", "contact", "mijn begeleider Sam"),
                PlanItemIn("rood", "helpt", "naar de huiskamer gaan"),
            ],
            updated_by="test",
        )
        session.commit()


def test_safety_plan_by_colour(bot, engine):
    sender = bot.new_sender("e2e")
    _plan(engine, sender)
    bot.texts(sender, "hoi")
    assert "Welke kleur past nu bij jou?" in bot.texts(sender, "wat helpt mij ook alweer?")
    orange = bot.texts(sender, "oranje")
    assert "ik pieker veel" in orange and "een rondje lopen" in orange
    assert "mijn begeleider Sam" in orange and "ik slaap goed" not in orange
    assert "Welke kleur" in bot.texts(sender, "mijn plan")
    red = bot.texts(sender, "/plan_rood")
    assert "naar de huiskamer gaan" in red and "113" in red and "0800-2000" in red
    with Session(engine) as session:
        [event] = repo.list_safety_events(session, sender)
    assert event.detected_by == "client" and "113" in event.response_text


def test_no_safety_plan_is_said_kindly(bot):
    sender = bot.new_sender("e2e")
    bot.texts(sender, "hoi")
    reply = bot.texts(sender, "laat mijn plan zien")
    assert "nog geen plan" in reply and "begeleider" in reply


def test_safety_theme_asks_the_colour_of_the_plan_first(bot, engine):
    sender = bot.new_sender("e2e")
    _plan(engine, sender)
    check_in(bot, sender)
    assert "Welke kleur past nu bij jou?" in bot.texts(sender, "veilig voelen")
    reply = bot.texts(sender, "groen")
    assert "ik slaap goed" in reply and asked(bot, sender)[0].standaard in reply


def test_simpler_wording_language_switch_and_bad_input(bot):
    sender = bot.new_sender("e2e")
    first, second = start_theme(bot, sender, menu_path("zingeving"), "zingeving")
    explained = bot.texts(sender, "ik snap het niet")
    # "Ik snap het niet": the question in other words (uitleg), an example, and a way out.
    assert first.voorbeeld in explained and first.explained("standaard") in explained
    assert "weet ik niet" in explained
    assert "Ik zie geen woorden" in bot.texts(sender, "🙂🙂")
    simple = bot.texts(sender, "makkelijker graag")
    assert "Ik zeg het nu makkelijk" in simple and first.eenvoudig in simple
    assert second.eenvoudig in bot.texts(sender, "mijn familie")
    assert second.voorbeeld in bot.texts(sender, "geef een voorbeeld")


def test_out_of_scope_and_help_keep_the_form_going(bot):
    sender = bot.new_sender("e2e")
    first, _ = start_theme(bot, sender, menu_path("hoop"), "hoop")
    reply = bot.texts(sender, "wat voor weer wordt het morgen")
    assert "Daar kan ik je niet mee helpen" in reply and first.standaard in reply
    reply = bot.texts(sender, "wat kan jij allemaal")
    assert "computerprogramma" in reply and first.standaard in reply


def test_answers_that_sound_like_a_request_are_answers(bot, engine):
    """Issue 10: "mijn collega" was read as the privacy question and "mijn collega hielp me
    met de planning" as a request for the plan, and the check-in was paused for them."""
    sender = bot.new_sender("e2e")
    first, second = start_theme(bot, sender, menu_path("verbinding"), "verbinding")
    reply = bot.texts(sender, "mijn collega")
    assert second.standaard in reply and "computerprogramma" not in reply
    reply = bot.texts(sender, "mijn collega hielp me met de planning")
    assert "0800-0113" not in reply and "plan" not in reply.lower(), reply
    tracker = bot.tracker(sender)
    assert tracker.get_slot("antwoord_1") == "mijn collega"
    assert tracker.get_slot("antwoord_2") == "mijn collega hielp me met de planning"
    assert tracker.active_loop_name == "thema_form", "the check-in goes on"
    # A real request in the middle of a question is still answered, and the question stays.
    sender = bot.new_sender("e2e")
    first, _ = start_theme(bot, sender, menu_path("hoop"), "hoop")
    reply = bot.texts(sender, "wie leest dit")
    assert "computerprogramma" in reply and first.standaard in reply


def test_unknown_menu_choice_gets_a_clear_message(bot):
    sender = bot.new_sender("e2e")
    check_in(bot, sender)
    assert "Dat onderwerp ken ik niet" in bot.texts(sender, "9")
    assert content.label("veiligheid") in bot.texts(sender, "veilig voelen")


def test_misspelt_theme_and_the_second_step_of_the_menu(bot):
    sender = bot.new_sender("e2e")
    check_in(bot, sender)
    assert content.label("verbinding") in bot.texts(sender, "famillie")
    sender = bot.new_sender("e2e")
    check_in(bot, sender)
    second = bot.say(sender, "over anderen")
    titles = [b["title"] for m in second for b in m.get("buttons") or []]
    assert len(titles) <= 4 and titles[0].endswith(content.label("verbinding"))
    assert "Waarover precies?" in second[-1]["text"]
    assert content.label("veiligheid") in bot.texts(sender, "2")


def test_a_new_client_can_do_all_six_themes_in_one_go(bot, engine):
    """The tried-as-a-new-user walk: every theme from the menu, no dead end, in simple mode."""
    sender = bot.new_sender("walk")
    check_in(bot, sender, "3")
    assert "Ik zeg het nu makkelijk" in bot.texts(sender, "makkelijker")
    for number, theme in enumerate(content.theme_keys(), start=1):
        group, place = menu_path(theme)
        assert "Wat kies je?" in bot.texts(sender, group)
        reply = bot.texts(sender, place)
        assert content.label(theme, "eenvoudig") in reply, (theme, reply)
        if theme == "veiligheid":
            assert "nog geen plan" in reply
        first, second = asked(bot, sender)
        assert first.eenvoudig in reply
        assert second.eenvoudig in bot.texts(sender, f"antwoord een over {theme}")
        assert content.scale_question(theme, "eenvoudig") in bot.texts(sender, "antwoord twee")
        assert "stapje" in bot.texts(sender, "4")
        assert "Ik schreef op" in bot.texts(sender, "nee")
        assert "begeleider" in bot.texts(sender, "ja")
        assert "nog over iets praten" in bot.texts(sender, "ja" if number % 2 else "nee")
        if number < 6:
            assert "Waar wil je over praten?" in bot.texts(sender, "ja")
    assert "Tot de volgende keer" in bot.texts(sender, "nee")
    saved = reflections(engine, sender)
    assert [r.theme for r in saved] == content.theme_keys()
    assert [r.shared_with_worker for r in saved] == [True, False] * 3


def test_not_safe_on_the_safety_scale_gets_the_help_and_tells_the_worker(bot, engine):
    """ "Hoe veilig voel je je nu?" answered 1 ("Niet veilig"): the fixed help at once and a
    safety event for the worker, whether or not the client shares the reflection; the
    questions go on. Any other score, or 1 on another theme's scale, is just the score."""
    from bot.responses import domain_responses, render_response
    from bot.storage.models import Client, SafetyEvent

    def safety_events(sender: str) -> list[SafetyEvent]:
        with Session(engine) as session:
            return list(session.query(SafetyEvent).join(Client).filter(Client.chat_id == sender))

    help_text = render_response(domain_responses(), "utter_schaal_niet_veilig", "standaard")
    for theme, score, helped in (
        ("veiligheid", "1", True),
        ("veiligheid", "2", False),
        ("hoop", "1", False),
    ):
        sender = bot.new_sender("e2e")
        start_theme(bot, sender, menu_path(theme), theme)
        bot.texts(sender, "thuis op mijn kamer")
        scale = bot.texts(sender, "mijn zus bellen")
        assert content.scale_question(theme, "standaard") in scale
        reply = bot.texts(sender, score)
        assert (help_text in reply) is helped, (theme, score, reply)
        events = safety_events(sender)
        assert len(events) == int(helped), (theme, score)
        # The questions go on; after "Niet veilig" the small step is for today.
        step = "utter_ask_stapje_willen_onveilig" if helped else "utter_ask_stapje_willen"
        assert render_response(domain_responses(), step, "standaard") in reply, reply
        if helped:
            today = render_response(domain_responses(), "utter_ask_stapje_onveilig", "standaard")
            assert today in bot.texts(sender, "ja")
        if helped:
            (event,) = events
            assert (event.category, event.detected_by) == ("unknown", "client")
            assert event.question_text and "veilig" in event.question_text
            assert "0800-0113" in event.response_text
