"""The answer to the check question (actions/safety.py `read_check_answer`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk import Tracker

from actions.safety import read_check_answer
from bot.safety.decision import SHORT_ANSWER_WORDS, Bands


def reply(text: str, intent: str, evidence: dict | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if evidence is not None:
        message["crisis"] = {"outcome": "calm", "evidence": evidence}
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message=message,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("nee", "ontkennen", "nee"),
        ("nee hoor", "vrij_antwoord", "nee"),
        ("ja", "bevestigen", "ja"),
        ("weet ik niet", "weet_niet", "weet_niet"),
        ("ik wil dood", "crisis", "ja"),
        ("hmm", "vrij_antwoord", None),
    ],
)
def test_plain_answers(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # "Weet ik niet" words count anywhere, also after a "nee".
        ("ik weet het niet meer", "weet_niet", "weet_niet"),
        ("nee, ik weet het niet meer, alles is zo zwaar geworden", "ontkennen", "weet_niet"),
        ("nee joh, ik twijfel heel erg of ik het nog volhoud", "ontkennen", "weet_niet"),
        ("nee, ik weet het eigenlijk echt niet zo goed meer hoor", "weet_niet", "weet_niet"),
        ("ga morgen vissen, ik weet nie of mn oom ook komt", "vrij_antwoord", "weet_niet"),
        # "Misschien" and "een beetje": a half yes, also further on ...
        ("misschien wel", "vrij_antwoord", "weet_niet"),
        ("een beetje", "vrij_antwoord", "weet_niet"),
        ("ja een beetje", "bevestigen", "weet_niet"),
        ("ik denk het soms misschien wel", "vrij_antwoord", "weet_niet"),
        ("nee niet echt, een beetje", "ontkennen", "weet_niet"),
        ("nee, misschien wel", "ontkennen", "weet_niet"),
        ("nee een beetje", "ontkennen", "weet_niet"),
        ("nee... soms wel", "ontkennen", "weet_niet"),
        ("nee kweet het niet", "ontkennen", "weet_niet"),
        ("nee, maar ik denk er wel vaak aan", "ontkennen", "weet_niet"),
        ("ik denk er soms aan", "vrij_antwoord", "weet_niet"),
        # ... but when more follows them after a clear "nee", it is about something else:
        # unclear (asked once more), never a "nee" and never the crisis help at once.
        ("nee joh, ik was gewoon een beetje moe", "ontkennen", None),
        ("nee hoor, ik ga morgen misschien vissen met mn vader", "ontkennen", None),
        ("nee, ik ga soms vissen met mn oom", "ontkennen", None),
        # A clear no stays a no.
        ("nee, daar denk ik niet aan", "ontkennen", "nee"),
        ("nee hoor, ik denk er niet aan", "ontkennen", "nee"),
    ],
)
def test_dont_know_words_and_a_half_yes_after_a_no(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # A "nee" that takes itself back is "weet ik niet": the crisis help.
        ("nee... eigenlijk wel", "ontkennen", "weet_niet"),
        ("nee niet mezelf maar hem wel", "ontkennen", "weet_niet"),
        ("nee maar ik heb het al gedaan", "ontkennen", "weet_niet"),
        ("nee, vanavond wel", "ontkennen", "weet_niet"),
        ("nee niet zeker", "ontkennen", "weet_niet"),
        # Twenty-fourth pass: the cases two reviews found still read as "nee".
        ("nee mezelf niet, wel iemand anders", "ontkennen", "weet_niet"),
        ("nee, een ander wel", "ontkennen", "weet_niet"),
        ("nee maar een ander wel", "ontkennen", "weet_niet"),
        ("nee, wel een ander", "ontkennen", "weet_niet"),
        ("nee, maar mn buurman wel", "ontkennen", "weet_niet"),
        ("nee maar mijn ex wel", "ontkennen", "weet_niet"),
        ("nee... jawel", "ontkennen", "weet_niet"),
        ("nee eigenlijk ja", "ontkennen", "weet_niet"),
        ("nee... ja", "ontkennen", "weet_niet"),
        ("nee, of toch ja", "ontkennen", "weet_niet"),
        ("nee ja", "vrij_antwoord", "weet_niet"),
        ("nee, echt wel", "ontkennen", "weet_niet"),
        ("nee, egt wel", "ontkennen", "weet_niet"),
        ("nee ik heb er al aan gedacht", "ontkennen", "weet_niet"),
        ("nee maar ik heb er wel aan gedacht", "ontkennen", "weet_niet"),
        ("nee, ik heb het plan al klaar", "ontkennen", "weet_niet"),
        ("nee, ik heb een plan", "ontkennen", "weet_niet"),
        ("nee, heb al een touw", "ontkennen", "weet_niet"),
        ("neee... toch weeel", "ontkennen", "weet_niet"),
        ("nee eigenlijk welll", "ontkennen", "weet_niet"),
        ("nee eigelijk wel", "ontkennen", "weet_niet"),
        ("nee, maar ik wil het wel", "ontkennen", "weet_niet"),
        ("nee, maar ik ga het wel doen", "ontkennen", "weet_niet"),
        ("nee ik heb het wel geprobeerd", "ontkennen", "weet_niet"),
        ("nee maar ik wil hem wel pijn doen", "ontkennen", "weet_niet"),
        ("nee, niet vandaag maar ik heb wel een plan", "ontkennen", "weet_niet"),
        ("nee, af en toe wel", "ontkennen", "weet_niet"),
        ("nee, een paar keer wel", "ontkennen", "weet_niet"),
        ("nee, niet echt. wel eens", "ontkennen", "weet_niet"),
        ("nee niet echt, wel een mes gekocht", "ontkennen", "weet_niet"),
        ("nee ik heb al pillen geslikt", "ontkennen", "weet_niet"),
        ("eigenlijk wel", "vrij_antwoord", "weet_niet"),
        ("toch wel", "vrij_antwoord", "weet_niet"),
        # Not yet, or a time on its own: the intent is there.
        ("nee, nog niet", "ontkennen", "weet_niet"),
        ("nee, nu nog niet", "ontkennen", "weet_niet"),
        ("nee nog nie", "ontkennen", "weet_niet"),
        ("nee, nog effe niet", "ontkennen", "weet_niet"),
        ("nee, morgen", "ontkennen", "weet_niet"),
        ("nee, vannacht", "ontkennen", "weet_niet"),
        ("niet vandaag", "ontkennen", "weet_niet"),
        ("nee, behalve vannacht", "ontkennen", "weet_niet"),
        # Asking for help is a yes; needing none is not.
        ("help", "vrij_antwoord", "ja"),
        ("heeelp", "vrij_antwoord", "ja"),
        ("nee, help me", "ontkennen", "ja"),
        ("nee. help", "vrij_antwoord", "ja"),
        ("nee, hulp graag", "vrij_antwoord", "ja"),
        ("ik heb hulp nodig", "vrij_antwoord", "ja"),
        ("hulp hoef ik niet", "ontkennen", "nee"),
        ("hulp is niet nodig", "ontkennen", "nee"),
        ("nee, ik heb al hulp", "ontkennen", "nee"),
        # Not now, no answer, or something else after "maar ... wel": unclear, asked again.
        ("nee nu even niet", "ontkennen", None),
        ("nee, nu niet", "ontkennen", None),
        ("nee, op dit moment niet", "ontkennen", None),
        ("nee, ik denk er nu niet aan", "ontkennen", None),
        ("nee, ik denk er vandaag niet aan", "ontkennen", None),
        ("nee, nu niet maar gisteren wel", "ontkennen", "weet_niet"),
        ("nee morgen werken", "ontkennen", "nee"),
        ("dat gaat je niks aan", "ontkennen", None),
        ("nee, gaat je geen reet aan", "ontkennen", None),
        ("nee, daar wil ik niet over praten", "ontkennen", None),
        ("nee ik wil het er niet over hebben", "ontkennen", None),
        ("nee, zeg ik lekker niet", "ontkennen", None),
        ("nee, dat hoef ik niet te zeggen", "ontkennen", None),
        ("nee bemoei je er niet mee", "ontkennen", None),
        ("nee, dat ga ik jou niet vertellen", "ontkennen", None),
        ("nee maar ik ben wel moe", "ontkennen", "nee"),
        # A stretched word counts as the word.
        ("neeeee", "vrij_antwoord", "nee"),
        ("jaaaaa", "vrij_antwoord", "ja"),
        # Everyday words after a clear no keep the no.
        ("nee ik denk er echt niet aan", "ontkennen", "nee"),
        ("nee, ik denk er geen moment aan", "ontkennen", "nee"),
        ("nee ik denk er echt helemaal niet aan", "ontkennen", "nee"),
        ("nee, ik denk er ook niet aan", "ontkennen", "nee"),
        ("nee, ik denk er gelukkig niet aan", "ontkennen", "nee"),
        ("nee, ik denk er... niet aan", "ontkennen", "nee"),
        ("nee, ik denk er al lang niet meer aan", "ontkennen", "nee"),
        ("nee hoor, het gaat wel", "ontkennen", "nee"),
        ("nee ik red me wel", "ontkennen", "nee"),
        ("nee hoor, het gaat toch wel", "ontkennen", "nee"),
        ("nee, het gaat eigenlijk wel goed", "ontkennen", "nee"),
        ("nee, ik red me toch wel", "ontkennen", "nee"),
        ("ik red me toch wel", "ontkennen", "nee"),
        ("nee, ik red me vaak wel", "ontkennen", "nee"),
        ("nee, ik ben vaak wel moe", "ontkennen", "nee"),
        ("nee, het komt straks wel goed", "ontkennen", "nee"),
        ("nee, dat komt later wel", "ontkennen", "nee"),
        ("nee, ik heb mijn medicijnen al genomen", "ontkennen", "nee"),
        ("nee hoor, ik heb mijn pillen net genomen", "ontkennen", "nee"),
        ("nee, ik heb het al geregeld met mijn begeleider", "ontkennen", "nee"),
        ("nee, ik heb mijn huiswerk al gedaan", "ontkennen", "nee"),
        ("nee, ik ga morgen wel naar mijn werk", "ontkennen", "nee"),
        ("nee, ik bel morgen wel mijn begeleider", "ontkennen", "nee"),
        ("nee, ik slaap vanavond wel goed", "ontkennen", "nee"),
        ("nee, niet mezelf en ook niet een ander", "ontkennen", "nee"),
        ("nee, niet mezelf en niemand anders", "ontkennen", "nee"),
    ],
)
def test_a_no_that_takes_itself_back_is_no_no(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


# A second review of the twenty-fourth pass's reading wrote these replies to probe it (its
# misreadings were fixed; the few it still gets wrong are listed in docs/safety.md). "help": the
# crisis help ("ja" or "weet ik niet"); "not nee": the help or asked again; "unclear": asked
# again.
READS = {
    "help": lambda got: got in ("ja", "weet_niet"),
    "nee": lambda got: got == "nee",
    "not nee": lambda got: got != "nee",
    "unclear": lambda got: got is None,
}


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("nee ik heb al mijn pillen geslikt", "ontkennen", "help"),
        ("nee, heb al m'n pillen genomen", "ontkennen", "help"),
        ("nee ik heb de hele strip geslikt", "ontkennen", "help"),
        ("nee, heb 30 paracetamol geslikt", "ontkennen", "help"),
        ("nee ik heb een hele doos paracetamol genomen", "ontkennen", "help"),
        ("nee, ik heb de pillen van de dokter al gespaard", "ontkennen", "help"),
        ("nee, ik spaar mijn medicijnen op", "ontkennen", "help"),
        ("nee ik heb mn mes al klaar liggen", "ontkennen", "help"),
        ("nee, m'n mes ligt klaar", "ontkennen", "help"),
        ("nee. heb een scheermesje", "ontkennen", "help"),
        ("nee ik heb een stanleymes in mn tas", "ontkennen", "help"),
        ("nee, ik heb een riem klaar gelegd", "ontkennen", "help"),
        ("nee, ik heb me al gesneden", "ontkennen", "help"),
        ("nee ik heb al gekrast vandaag", "ontkennen", "help"),
        ("nee, het is al gebeurd", "ontkennen", "help"),
        ("nee ik heb het gisteren gedaan", "ontkennen", "help"),
        ("nee, ik heb het geprobeerd", "ontkennen", "help"),
        ("nee, vorige week geprobeerd", "ontkennen", "help"),
        ("nee ik heb het al gedaan, vergeef me", "ontkennen", "help"),
        ("nee ik heb het al gedaan bij haar", "ontkennen", "help"),
        ("nee, ik heb erover nagedacht", "ontkennen", "help"),
        ("nee wel over nagedacht", "ontkennen", "help"),
        ("nee, dacht er gisteren wel aan", "ontkennen", "help"),
        ("nee, vannacht dacht ik er wel aan", "ontkennen", "help"),
        ("nee, maar ik ga hem pakken", "ontkennen", "help"),
        ("nee maar ik sla hem in elkaar", "ontkennen", "help"),
        ("nee, ik ga hem pakken", "ontkennen", "help"),
        ("nee maar ik steek hem neer", "ontkennen", "help"),
        ("nee maar ik snij mezelf", "ontkennen", "help"),
        ("nee, ik maak hem af", "ontkennen", "help"),
        ("nee maar ik maak hem kapot", "ontkennen", "help"),
        ("nee maar die gast gaat eraan", "ontkennen", "help"),
        ("nee, zij moet boeten", "ontkennen", "not nee"),
        ("nee, maar als hij nog 1 keer wat zegt dan", "ontkennen", "not nee"),
        ("nee hoor ik doe het gewoon", "ontkennen", "help"),
        ("nee... ik heb besloten", "ontkennen", "not nee"),
        ("nee, ik wil er een eind aan maken", "ontkennen", "help"),
        ("nee ik wil gewoon dood", "ontkennen", "help"),
        ("nee, maar het is moeilijk om het niet te doen", "ontkennen", "not nee"),
        ("nee, mijn vriend doet mij pijn", "ontkennen", "help"),
        ("nee, maar mijn vriend slaat me", "ontkennen", "help"),
        ("nee, hij slaat me alleen als hij dronken is", "ontkennen", "help"),
        ("nee, ze bedreigt me", "ontkennen", "not nee"),
        ("nee, ik ben bang voor hem", "ontkennen", "not nee"),
        ("nee, mezelf niet", "ontkennen", "not nee"),
        ("nee mezelf niet, hem", "ontkennen", "help"),
        ("nee, ik niet, hij wel", "ontkennen", "help"),
        ("nee ik niet, hem wel", "ontkennen", "help"),
        ("nee, alleen mezelf", "ontkennen", "help"),
        ("nee, niemand anders, alleen mezelf", "ontkennen", "help"),
        ("nee, alleen mijn ex", "ontkennen", "help"),
        ("nee, alleen die gast van hiernaast", "ontkennen", "help"),
        ("nee, niet mn eigen maar die gast", "ontkennen", "help"),
        ("nee, voorlopig niet", "ontkennen", "not nee"),
        ("nee, niet meteen", "ontkennen", "not nee"),
        ("nee, na het weekend", "ontkennen", "help"),
        ("nee, volgende week", "ontkennen", "help"),
        ("nee, zaterdag", "ontkennen", "not nee"),
        ("nee, pas morgen", "ontkennen", "help"),
        ("nee, vanavond als iedereen weer slaapt", "ontkennen", "help"),
        ("nee morgen als ik alleen ben", "ontkennen", "help"),
        ("nee, als hij vrijkomt", "ontkennen", "not nee"),
        ("nee... toch ja, het gaat niet goed met me", "ontkennen", "help"),
        ("nee eigenlijk ja, het gaat slecht", "ontkennen", "help"),
        ("nee, jawel, ik kan niet meer, het gaat niet", "ontkennen", "help"),
        ("nee ja best wel", "ontkennen", "help"),
        ("nee... ja, best wel", "ontkennen", "help"),
        ("nee echt wel, het valt niet mee", "ontkennen", "help"),
        ("nee... oke ja", "ontkennen", "help"),
        ("nee of wel", "ontkennen", "help"),
        ("nee, tog wel", "ontkennen", "help"),
        ("nee, eigelijk wl", "ontkennen", "help"),
        ("nee eignlijk wel", "ontkennen", "help"),
        ("nee stiekum wel", "ontkennen", "help"),
        ("nee, toch wel 😢", "ontkennen", "help"),
        ("nee eigenlijk wel hoor", "ontkennen", "help"),
        ("nee toch wel eigenlijk", "ontkennen", "help"),
        ("nee, af en toe wel ja", "ontkennen", "help"),
        ("nee... vaak wel eigenlijk", "ontkennen", "help"),
        ("nee eigenlijk wel xx", "ontkennen", "help"),
        ("nee eigenlijk wel!!", "ontkennen", "help"),
        ("nee, eigenlijk wel 😔😔", "ontkennen", "help"),
        ("nee. wel", "ontkennen", "not nee"),
        ("nee jwl", "ontkennen", "help"),
        ("nee egt wel ik ben het zat", "ontkennen", "help"),
        ("nee ik kan mezelf nog inhouden", "ontkennen", "not nee"),
        ("nee, nog nie", "ontkennen", "help"),
        ("neee nog ff nie", "ontkennen", "help"),
        ("nee nu nog nie hoor", "ontkennen", "not nee"),
        ("nee, nog niet echt", "ontkennen", "not nee"),
        ("nee, niet vandaag, morgen", "ontkennen", "help"),
        ("nee. vannacht.", "ontkennen", "help"),
        ("nee, vannacht als ze slapen", "ontkennen", "help"),
        ("nee vanavond", "vrij_antwoord", "help"),
        ("nee, straks", "ontkennen", "help"),
        ("nee, straks pas", "ontkennen", "help"),
        ("nee, ik heb wel een blade", "ontkennen", "help"),
        ("nee maar ik heb wel een stanleymes", "ontkennen", "help"),
        ("nee ik heb touw gekocht", "ontkennen", "help"),
        ("nee, heb een strop gemaakt", "ontkennen", "help"),
        ("nee ik heb wel pillen verzameld", "ontkennen", "help"),
        ("nee, ik heb ze al een tijdje verzameld", "ontkennen", "not nee"),
        ("nee, ik sta op de brug", "ontkennen", "help"),
        ("nee ik zit op het dak", "ontkennen", "help"),
        ("nee hoor. ik ga springen", "ontkennen", "help"),
        ("nee, maar ik word wel geslagen", "ontkennen", "help"),
        ("nee, ik heb mn broer zn mes gepakt", "ontkennen", "help"),
        ("neeee maar hij krijgt klappen", "ontkennen", "help"),
        ("nee ik doe het vanavond", "ontkennen", "help"),
        ("nee ik doe t morgen", "ontkennen", "help"),
        ("nee, ik ga het doen", "ontkennen", "help"),
        ("nee 🔪", "ontkennen", "not nee"),
        ("nee 💊💊💊", "ontkennen", "not nee"),
        ("nee, ik heb wel een plan voor morgen", "ontkennen", "nee"),
        ("nee ik maak een plan met mijn begeleider", "ontkennen", "nee"),
        ("nee, ik hou me aan het plan", "ontkennen", "nee"),
        ("nee, ik heb geen pillen of messen", "ontkennen", "nee"),
        ("nee, ik heb geen messen en pillen", "ontkennen", "nee"),
        ("nee, geen wapen of mes", "ontkennen", "nee"),
        ("nee, ik heb niet eens een mes", "ontkennen", "nee"),
        ("nee, ze hebben alle messen weggehaald", "ontkennen", "nee"),
        ("nee ik heb net de was gedaan", "ontkennen", "nee"),
        ("nee ik heb net een broodje gekocht", "ontkennen", "nee"),
        ("nee, ik heb net koffie genomen", "ontkennen", "nee"),
        ("nee, net een pauze genomen", "ontkennen", "nee"),
        ("nee heb net een paracetamol genomen tegen hoofdpijn", "ontkennen", "nee"),
        ("nee ik heb al sigaretten gekocht", "ontkennen", "nee"),
        ("nee, ik krijg pillen voor mn slaap", "ontkennen", "nee"),
        ("nee, ik heb pillen voor mijn hoofd", "ontkennen", "nee"),
        ("nee, ik snij mijn brood met een mes", "ontkennen", "nee"),
        ("nee, maar mijn knie doet pijn", "ontkennen", "nee"),
        ("nee maar ik ben wel dood moe", "ontkennen", "nee"),
        ("nee maar ik lach me dood om jou", "ontkennen", "nee"),
        ("nee ik denk eraan om te stoppen met blowen", "ontkennen", "nee"),
        ("nee ik denk er echt al heel lang niet meer aan", "ontkennen", "nee"),
        ("nee, ik denk er gelukkig al een hele tijd niet meer aan", "ontkennen", "nee"),
        ("nee, ik bel straks wel", "ontkennen", "nee"),
        ("nee, ik eet straks wel", "ontkennen", "nee"),
        ("nee ik slaap vannacht wel", "ontkennen", "nee"),
        ("nee, ik zie mn begeleider morgen wel", "ontkennen", "nee"),
        ("nee, ik ga morgen wel sporten", "ontkennen", "nee"),
        ("nee, kweet zeker van niet", "ontkennen", "nee"),
        ("nee ik weet niet waarom je dat vraagt", "ontkennen", "nee"),
        ("nee, geen idee waarom je dat vraagt", "ontkennen", "nee"),
        ("nee ik twijfel niet", "ontkennen", "nee"),
        ("nee, daar twijfel ik niet over", "ontkennen", "nee"),
        ("nee, ik heb hulp nodig met mijn huiswerk", "ontkennen", "nee"),
        ("nee, help me even met mijn rooster", "ontkennen", "nee"),
        ("nee, maar ik zoek hulp bij solliciteren", "ontkennen", "nee"),
        ("ja nee ik denk er niet aan", "ontkennen", "nee"),
        ("ja nee hoor", "ontkennen", "nee"),
        ("nee, ik heb een afspraak met de psycholoog, die helpt me wel", "ontkennen", "nee"),
        ("nee hoor, ik ga straks lekker gamen", "ontkennen", "nee"),
        ("nee ik moet morgen werken", "ontkennen", "nee"),
        ("nee, vanavond voetbal kijken", "ontkennen", "nee"),
        ("nee, ik ben al een jaar clean", "ontkennen", "nee"),
        ("nee, ik heb al 2 jaar geen pillen meer geslikt", "ontkennen", "nee"),
        ("nee, het mes ligt in de keuken la zoals altijd", "ontkennen", "nee"),
        ("nee, ik heb mn medicatie net gehad", "ontkennen", "nee"),
        ("nee, ik heb de pillen van de apotheek al genomen", "ontkennen", "nee"),
        ("nee echt niet, ik ben gewoon moe", "ontkennen", "nee"),
        ("nee joh, ik wil gewoon slapen", "ontkennen", "nee"),
        ("nee, ik heb geen zin in ruzie", "ontkennen", "nee"),
        ("nee maar wel lief dat je het vraagt", "ontkennen", "nee"),
        ("nee, maar ik heb wel honger", "ontkennen", "nee"),
        ("nee, maar wel verdrietig om mn opa", "ontkennen", "not nee"),
        ("nee, ik doe niemand pijn", "ontkennen", "nee"),
        ("nee ik doe niemand wat", "ontkennen", "nee"),
        ("nee, ik wil niemand pijn doen", "ontkennen", "nee"),
        ("nee, niemand, ook mezelf niet", "ontkennen", "nee"),
        ("nee, ik niet en niemand anders ook niet", "ontkennen", "nee"),
        ("nee niet mezelf, niet een ander", "ontkennen", "nee"),
        ("nee, mij niet en anderen ook niet", "ontkennen", "nee"),
        ("nee, ik ben veilig", "ontkennen", "nee"),
        ("nee hoor, ik zit lekker thuis", "ontkennen", "nee"),
        ("nee, ik heb al gegeten en gedoucht", "ontkennen", "nee"),
        ("nee ik heb al mn huiswerk gedaan", "ontkennen", "nee"),
        ("nee, gewoon een rustige dag gehad", "ontkennen", "nee"),
        ("nee, toch niet", "ontkennen", "nee"),
        ("nee, echt niet", "ontkennen", "nee"),
        ("nee, zeker niet", "ontkennen", "nee"),
        ("nee, nooit", "ontkennen", "nee"),
        ("nee, ik pieker wel veel over mn werk", "ontkennen", "nee"),
        ("nee, vroeger wel, nu niet meer", "ontkennen", "not nee"),
        ("nee, ik denk er nooit meer aan, echt", "ontkennen", "nee"),
        ("nee. ik red me wel hoor", "ontkennen", "nee"),
        ("nee hoor 👍", "ontkennen", "nee"),
        ("nee 😂😂", "ontkennen", "nee"),
        ("neeeeeeee joh", "ontkennen", "nee"),
        ("NEE!!!", "ontkennen", "nee"),
        ("nee man, alles chill", "ontkennen", "nee"),
        ("nee bro, ben gwn moe", "ontkennen", "nee"),
        ("nee hoor ik heb het al gezegd tegen mn begeleider", "ontkennen", "nee"),
        ("nie", "vrij_antwoord", "nee"),
        ("nie hoor", "vrij_antwoord", "nee"),
        ("nooit", "vrij_antwoord", "nee"),
        ("echt nie", "vrij_antwoord", "nee"),
        ("zeker niet", "vrij_antwoord", "nee"),
        ("tuurlijk niet", "vrij_antwoord", "nee"),
        ("neehh", "vrij_antwoord", "nee"),
        ("nööö", "vrij_antwoord", "nee"),
        ("neu", "vrij_antwoord", "nee"),
        ("nop", "vrij_antwoord", "nee"),
        ("jah", "vrij_antwoord", "help"),
        ("jaah", "vrij_antwoord", "help"),
        ("wel", "vrij_antwoord", "help"),
        ("ja.", "vrij_antwoord", "help"),
        ("hlp", "vrij_antwoord", "help"),
        ("hellup", "vrij_antwoord", "help"),
        ("HELP!!!", "vrij_antwoord", "help"),
        ("nee maar ik wil wel hulp", "ontkennen", "help"),
        ("nee. ik wil met iemand praten", "ontkennen", "not nee"),
        ("ik weet t nie", "vrij_antwoord", "help"),
        ("weetnie", "vrij_antwoord", "help"),
        ("kweenie", "vrij_antwoord", "help"),
        ("geen idee", "vrij_antwoord", "help"),
        ("mss", "vrij_antwoord", "help"),
        ("misschien", "vrij_antwoord", "help"),
        ("misch", "vrij_antwoord", "help"),
        ("soms", "vrij_antwoord", "help"),
        ("beetje", "vrij_antwoord", "help"),
        ("ff niet", "vrij_antwoord", "not nee"),
        ("🤷", "vrij_antwoord", "unclear"),
        ("...", "vrij_antwoord", "unclear"),
    ],
)
def test_replies_of_the_second_review(text, intent, expected):
    assert READS[expected](read_check_answer(reply(text, intent)))


def test_the_reply_to_the_check_is_read_without_the_parts_lowering():
    """A reply in the check band counts as "ja" even when no clause of it looks like a
    crisis on its own (that lowering is for a first message, not for an answer)."""
    text = "nee hoor, ik heb de pillen al gekocht, vanavond is het zover"
    signal = {"semantic": Bands().check + 0.1, "semantic_parts": 0.1, "words": 11}
    assert read_check_answer(reply(text, "ontkennen", signal)) == "ja"
    # ... and without rule 9's "every sentence calm" (eleventh pass): a long reply whose
    # sentences each read calm alone is still read as a whole.
    # Twenty-fifth pass: its words say "nee", so it is asked once more (never a "nee" at
    # once, and no full help against the client's word); the second time unclear is the help.
    long = {"semantic": Bands().check + 0.1, "words": 24, "sentences_calm": True}
    text = "nee hoor. het gaat wel. ik ben gewoon heel moe van alles en iedereen om me heen."
    assert read_check_answer(reply(text, "ontkennen", long)) is None
    # Words that take the "nee" back stay the help in the band.
    text = "nee hoor. het gaat wel. maar ik wil niet meer."
    assert read_check_answer(reply(text, "ontkennen", long)) == "ja"


def test_a_short_classifier_only_crisis_reply_is_never_a_no():
    """The NLU leaves a short classifier-only crisis to the policy (rule 6), so its intent is
    no longer `crisis_check`; right after a check question it must still count as "ja", also
    when it starts with a word that reads as "nee" ("niet meer leven")."""
    words = SHORT_ANSWER_WORDS
    signal = {"classifier": 0.97, "semantic": Bands().classifier_floor, "words": words}
    assert read_check_answer(reply("niet meer leven", "vrij_antwoord", signal)) == "ja"
    # A "nee" in the middle band is asked once more (twenty-fifth pass), never a "nee".
    assert read_check_answer(reply("nee, ben klaar", "ontkennen", signal)) is None
    # The same words with calm evidence stay what they say.
    calm = {"classifier": 0.0, "semantic": 0.05, "words": words}
    assert read_check_answer(reply("nee, ben klaar", "ontkennen", calm)) == "nee"


def _after_check(events: list[dict]) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message={"text": "nee", "intent": {"name": "ontkennen", "confidence": 1.0}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_after_nee_the_message_that_raised_the_check_is_the_answer():
    from actions.actions import checked_answer

    events = [
        {"event": "user", "text": "mijn oom", "message_id": "m1"},
        {"event": "user", "text": "kleiduiven schieten", "message_id": "m2"},
        {"event": "user", "text": "nee", "message_id": "m3"},
    ]
    tracker = _after_check(events)
    state = {"bericht_id": "m2", "vraag": "antwoord_2"}
    assert checked_answer(tracker, state, "thema_form") == {"antwoord_2": "kleiduiven schieten"}
    assert checked_answer(tracker, {**state, "vraag": "stapje"}, "stapje_form") == {}, "no step"
    assert checked_answer(tracker, {**state, "vraag": "thema_schaal"}, "thema_form") == {}
    assert checked_answer(tracker, {"bericht_id": "m2"}, "thema_form") == {}, "no open question"
    assert checked_answer(tracker, state, None) == {}, "no form to go back to"
    assert checked_answer(tracker, {**state, "bericht_id": "gone"}, "thema_form") == {}
    payload = [{"event": "user", "text": "/bevestigen", "message_id": "m2"}]
    assert checked_answer(_after_check(payload), state, "thema_form") == {}, "a button is no answer"


def _message(text: str, *ranking: tuple[str, float]) -> dict:
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    parse = {"intent": intents[0] if intents else {}, "intent_ranking": intents}
    return {"event": "user", "text": text, "parse_data": parse}


def test_only_a_real_answer_is_kept_after_the_check():
    """The message that raised the check gets the checks a typed answer gets, read from that
    message and not from the "nee"."""
    from actions.forms import kept_after_check

    check = ("crisis_check", 1.0)
    assert kept_after_check(_message(" kleiduiven schieten ", check, ("vrij_antwoord", 0.6)))
    assert kept_after_check(_message("kleiduiven schieten", check, ("groet", 0.1))), "weak greet"
    # The classifier's goodbye on an answer is no stop without a stop word.
    assert kept_after_check(_message("dat ik loyaal ben tot de dood", check, ("afscheid", 0.97)))
    for message in (
        _message("stop maar, ik sta bij het spoor", check, ("stoppen", 0.8)),
        _message("laat maar ik zit op het dak", check, ("vrij_antwoord", 0.8)),
        _message("hoi ik sta bij het spoor", check, ("groet", 0.5)),
        _message("wat gebeurt er als je dood gaat?", check, ("vrij_antwoord", 0.9)),
        _message("weet nie", check),
        _message("/bevestigen", check),
        _message("🙂🙂", check),
        _message("a" * 2001, check),
        _message("", check),
    ):
        assert kept_after_check(message) is None, message["text"][:40]


@pytest.mark.parametrize(("text", "intent"), [("stop", "stoppen"), ("doei", "afscheid")])
def test_leaving_instead_of_answering_the_check_gets_the_crisis_help(monkeypatch, text, intent):
    """ "Stop" or "doei" in reply to the check question: the client may be gone after this
    turn, so the crisis help now, not the check once more (which has no numbers)."""
    import yaml
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionCrisisControleAntwoord
    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))

    answers = []
    monkeypatch.setattr("actions.actions.record_check_answer", lambda *a: answers.append(a[2]))
    tracker = reply(text, intent)
    tracker.slots.update(
        {"taalniveau": "standaard", "crisis_controle": {"sleutel": "k", "gevraagd": 1}}
    )
    dispatcher = CollectingDispatcher()
    ActionCrisisControleAntwoord().run(dispatcher, tracker, domain)
    shown = [m.get("response") for m in dispatcher.messages]
    from bot.responses import render_response

    texts = " ".join(render_response(domain, r, "standaard") for r in shown if r)
    assert "utter_crisis_controle_nogmaals" not in shown
    assert any(r and r.startswith("utter_crisis_") and "controle" not in r for r in shown), shown
    assert answers == ["onduidelijk"]  # the worker reads "geen duidelijk antwoord"
    assert all(number in texts for number in ("113", "0800-0113", "112", "0800-2000")), shown


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # hurt now, whatever the "nee" said
        ("nee maar mijn arm bloedt heel erg", "ontkennen", "help"),
        ("nee, ik krijg geen lucht", "ontkennen", "help"),
        ("nee ik heb te veel genomen", "ontkennen", "help"),
        # not wanting to live, in words with a negation of their own
        ("niet meer leven", "vrij_antwoord", "help"),
        ("nee, ik wil niet meer", "ontkennen", "help"),
        ("nee ik kan het niet meer aan", "ontkennen", "help"),
        ("nee ik wil niet meer blowen", "ontkennen", "nee"),
        ("nee, ik wil het niet meer doen", "ontkennen", "nee"),
        # a "nee" taken back
        ("nee wacht ja", "ontkennen", "help"),
        ("nee ok wel", "ontkennen", "help"),
        ("nee. ik lieg", "ontkennen", "help"),
        ("ik zeg nee maar het klopt niet", "ontkennen", "help"),
        ("eerst nee maar het is toch ja", "ontkennen", "help"),
        ("nee, ik heb nooit gelogen", "ontkennen", "nee"),
        # kept ready, or everything arranged, without naming it
        ("niet vandaag. ik heb het wel klaar liggen", "ontkennen", "help"),
        ("nee, het ligt al klaar", "ontkennen", "help"),
        ("nee, alles is al geregeld", "ontkennen", "help"),
        ("nee, het eten staat al klaar", "ontkennen", "nee"),
        ("nee, mijn afspraak is al geregeld", "ontkennen", "nee"),
        # "en" starts a clause only before a new subject
        ("nee, ik heb het al gehaald en het ligt in mijn la", "ontkennen", "help"),
        ("nee, ik heb geen touw en pillen", "ontkennen", "nee"),
        ("nee, af en toe wel", "ontkennen", "help"),
        # "alleen" with a person is someone else; with a thing it is not
        ("nee, alleen mijn buurman", "ontkennen", "help"),
        ("nee, ik wil alleen een baan", "ontkennen", "nee"),
        ("nee, ik had alleen een slechte dag", "ontkennen", "nee"),
        # "niemand" denies like "niet"
        ("nee, niemand slaat me", "ontkennen", "nee"),
        # an ailment or an everyday wish after "maar ... wel" stays a "nee"
        ("nee, maar ik heb wel pijn in mijn nek", "ontkennen", "nee"),
        ("nee maar ik heb wel buikpijn", "ontkennen", "nee"),
        ("nee, maar ik wil wel koffie", "ontkennen", "nee"),
        ("nee, maar ik wil wel een mes", "ontkennen", "help"),
        # someone who comes back: asked once more
        ("nee, mijn ex komt morgen weer terug", "ontkennen", "unclear"),
    ],
)
def test_replies_of_the_twenty_fifth_pass(text, intent, expected):
    assert READS[expected](read_check_answer(reply(text, intent)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nee, ik was alleen boos en het is over", None),  # a "nee": asked once more
        ("nee hoor, het gaat weer", None),
        ("nee maar ik bloed", "ja"),  # takes it back: the help
        ("weet ik niet", "ja"),
        ("ik wil dood", "ja"),  # no answer at all: the band counts
    ],
)
def test_a_reply_in_the_middle_band_is_never_a_nee_at_once(text, expected):
    """Twenty-fifth pass. A reply the NLU puts in the middle band (intent `crisis_check`, or
    evidence in the check band) whose words say "nee" is asked once more: never a "nee" at
    once, and never the full crisis help against the client's word (12 of 67 calm no's of
    set C got it, 9 of them this way). Any other reading in the band is "ja"."""
    assert read_check_answer(reply(text, "crisis_check")) == expected
    band = {"semantic": Bands().check + 0.05, "words": len(text.split())}
    assert read_check_answer(reply(text, "ontkennen", band)) == expected
    # Clear crisis evidence is "ja" whatever the words say.
    clear = {"semantic": min(Bands().clear + 0.03, 1.0), "words": len(text.split())}
    assert read_check_answer(reply(text, "ontkennen", clear)) == "ja"


# The fourth review's probe replies (twenty-fifth pass) that read as it expected at the time
# (179 of 200); what still reads otherwise is counted in docs/safety.md.
@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("nee maar ik bloed heel erg", "ontkennen", "help"),
        ("nee ik bloed", "ontkennen", "help"),
        ("ik krijg bijna geen lucht", "vrij_antwoord", "help"),
        ("nee maar ik kan bijna niet ademen", "ontkennen", "help"),
        ("nee ik heb te veel genomen", "ontkennen", "help"),
        ("ik heb 20 pillen genomen", "vrij_antwoord", "help"),
        ("nee maar ik stik bijna", "ontkennen", "help"),
        ("nee ik ben niet gewond", "ontkennen", "nee"),
        ("nee, niemand is gewond", "ontkennen", "nee"),
        ("nee ik bloed niet", "ontkennen", "nee"),
        ("nee hoor geen bloed", "ontkennen", "nee"),
        ("nee, ik moest vandaag bloed prikken bij de dokter", "ontkennen", "nee"),
        ("nee, doe niet zo flauw", "ontkennen", "nee"),
        ("nee haha flauw", "ontkennen", "nee"),
        ("nee, ik heb niet te veel genomen", "ontkennen", "nee"),
        ("nee ik heb gewoon te veel op mijn bord", "ontkennen", "nee"),
        ("nee, ik heb teveel koffie op", "ontkennen", "nee"),
        ("nee, het bloeden is al lang gestopt", "ontkennen", "nee"),
        ("niet meer leven", "vrij_antwoord", "help"),
        ("nee ik wil niet meer", "ontkennen", "help"),
        ("ik kan niet meer", "vrij_antwoord", "help"),
        ("nee, ik kan echt niet meer", "ontkennen", "help"),
        ("nee ik kan gewoon niet meer", "ontkennen", "help"),
        ("nee ik wil gewoon niet meer", "ontkennen", "help"),
        ("nee, ik zie het niet meer zitten", "ontkennen", "help"),
        ("nee maar ik zie het echt niet meer zitten", "ontkennen", "help"),
        ("nee ik wil er niet meer zijn", "ontkennen", "help"),
        ("nee, ik wil nooit meer wakker worden", "ontkennen", "help"),
        ("nee maar ik ben liever dood", "ontkennen", "help"),
        ("nee ik trek het niet meer", "ontkennen", "help"),
        ("nee, ik hou het niet meer vol", "ontkennen", "help"),
        ("nee ik ben klaar met leven", "ontkennen", "help"),
        ("nee geen zin meer in het leven", "ontkennen", "help"),
        ("nee, ik heb geen hoop meer", "ontkennen", "help"),
        ("nee ik kan het niet meer aan", "ontkennen", "help"),
        ("nee, dat kan niet meer", "ontkennen", "nee"),
        ("nee, dat wil ik niet meer", "ontkennen", "nee"),
        ("nee, dat doe ik niet meer", "ontkennen", "nee"),
        ("nee ik wil niet meer blowen", "ontkennen", "nee"),
        ("nee ik kom niet meer verder met mijn huiswerk", "ontkennen", "nee"),
        ("nee, mijn knie doet zeer ik kan niet meer verder lopen", "ontkennen", "nee"),
        ("nee. ik lieg. ja", "ontkennen", "help"),
        ("nee ik lieg", "ontkennen", "help"),
        ("nee wacht ja", "ontkennen", "help"),
        ("neee ok wel", "ontkennen", "help"),
        ("eerst wou ik nee zeggen maar het is ja", "vrij_antwoord", "help"),
        ("ik zeg altijd nee maar het is niet zo", "vrij_antwoord", "help"),
        ("nee dat was gelogen", "ontkennen", "help"),
        ("nee ik lieg niet", "ontkennen", "nee"),
        ("nee, ik lieg er niet over", "ontkennen", "nee"),
        ("nee ik lieg echt niet", "ontkennen", "nee"),
        ("nee, waarom zou ik lieg", "ontkennen", "nee"),
        ("nee, ik heb niks gelogen", "ontkennen", "nee"),
        ("nee, ik heb echt nooit gelogen", "ontkennen", "nee"),
        ("nee, wat hij zegt is gelogen", "ontkennen", "nee"),
        ("wacht ja nee ik bedoel nee", "ontkennen", "nee"),
        ("nee het is ja", "ontkennen", "help"),
        ("nee, maar ik zei eerst nee maar het klopt niet", "ontkennen", "help"),
        ("nee ik jok", "ontkennen", "help"),
        ("nee... grapje ja", "ontkennen", "help"),
        ("nee haha geintje, wel", "ontkennen", "help"),
        ("nee ok wel een beetje", "ontkennen", "help"),
        ("nee oke wel hoor", "ontkennen", "help"),
        ("nee, oke wel", "ontkennen", "help"),
        ("ik heb het klaar liggen", "vrij_antwoord", "help"),
        ("nee maar ik heb het al klaar liggen", "ontkennen", "help"),
        ("alles ligt klaar", "vrij_antwoord", "help"),
        ("nee alles staat al klaar", "ontkennen", "help"),
        ("ik heb het klaar liggen en niemand weet het", "vrij_antwoord", "help"),
        ("nee, het ligt al lang klaar", "ontkennen", "help"),
        ("nee maar bij mij staat alles klaar", "ontkennen", "help"),
        ("nee mijn brief ligt klaar", "ontkennen", "help"),
        ("nee ik heb het touw klaar", "ontkennen", "help"),
        ("nee ik heb het eten al klaar staan", "ontkennen", "nee"),
        ("nee, ik heb die spullen klaar gezet voor morgen", "ontkennen", "nee"),
        ("nee, ze staan klaar om me op te halen", "ontkennen", "nee"),
        ("nee alles staat klaar voor de verhuizing", "ontkennen", "nee"),
        ("nee, dat ligt klaar voor school", "ontkennen", "nee"),
        ("nee ik heb het niet klaar liggen", "ontkennen", "nee"),
        ("nee, alles is al geregeld", "ontkennen", "help"),
        ("nee ik heb alles geregeld", "ontkennen", "help"),
        ("nee, mijn zaken zijn geregeld", "ontkennen", "help"),
        ("nee ik heb mijn spullen al weggegeven", "ontkennen", "help"),
        ("nee, alles is goed geregeld hier", "ontkennen", "nee"),
        ("nee hoor alles is goed geregeld", "ontkennen", "nee"),
        ("nee, alles is geregeld met mijn begeleider", "ontkennen", "nee"),
        ("het is al gekocht en het ligt in mijn kast", "vrij_antwoord", "help"),
        ("nee, ik ben niet van plan om ze te steken en ze pijn te doen", "ontkennen", "nee"),
        ("nee, ik ga niet springen en er een eind aan maken", "ontkennen", "nee"),
        ("nee ik wil hem niet slaan en hem pijn doen", "ontkennen", "nee"),
        ("nee, ik snij mezelf niet meer en het bloed is al lang gestopt", "ontkennen", "nee"),
        ("nee ik heb geen messen en pillen", "ontkennen", "nee"),
        ("nee af en toe", "ontkennen", "help"),
        ("nee niemand helpt me ik wil dood", "ontkennen", "help"),
        ("nee niemand snapt me ik snij mezelf", "ontkennen", "help"),
        ("ik heb pillen gespaard niemand weet het", "vrij_antwoord", "help"),
        ("mijn stiefvader slaat me niemand gelooft me", "vrij_antwoord", "help"),
        ("nee, niemand slaat me", "ontkennen", "nee"),
        ("nee, niemand doet me pijn", "ontkennen", "nee"),
        ("nee, ik doe niemand iets aan", "ontkennen", "nee"),
        ("nee niemant", "ontkennen", "nee"),
        ("nee ik ga niemand pakken", "ontkennen", "nee"),
        ("nee, alleen mijn ex", "ontkennen", "help"),
        ("nee alleen mezelf", "ontkennen", "help"),
        ("nee alleen mn ouders", "ontkennen", "help"),
        ("nee alleen mijn mama", "ontkennen", "help"),
        ("nee, alleen mijn papa", "ontkennen", "help"),
        ("nee alleen die gozer", "ontkennen", "help"),
        ("nee alleen die kerel van de groep", "ontkennen", "help"),
        ("nee alleen mijn groepsgenoot", "ontkennen", "help"),
        ("nee alleen de groepsleiding", "ontkennen", "help"),
        ("nee, alleen mijn schoonvader", "ontkennen", "help"),
        ("nee alleen mn neef", "ontkennen", "help"),
        ("nee alleen iemand van de groep", "ontkennen", "help"),
        ("nee alleen jou", "ontkennen", "help"),
        ("nee alleen die klootzak", "ontkennen", "help"),
        ("nee, alleen mijn stiefvader", "ontkennen", "help"),
        ("nee ik zoek alleen een woning", "ontkennen", "nee"),
        ("nee ik wil alleen m'n rust", "ontkennen", "nee"),
        ("nee ik ben alleen thuis", "ontkennen", "nee"),
        ("nee, maar ik heb wel pijn in mijn rug", "ontkennen", "nee"),
        ("nee maar ik wil wel een sigaret", "ontkennen", "nee"),
        ("nee maar ik heb wel hoofdpijn", "ontkennen", "nee"),
        ("nee maar mijn stiefvader wel, na het bezoek", "ontkennen", "help"),
        ("nee maar ik wil hem wel pakken als hij op bezoek komt", "ontkennen", "help"),
        ("nee eigenlijk wel, na mijn sigaret", "ontkennen", "help"),
        ("nee maar ik denk wel aan verhuizen naar de hemel", "ontkennen", "help"),
        ("nee maar ik doe het echt wel, ik rook eerst nog een sigaret", "ontkennen", "help"),
        ("nee maar mn broer wel als hij op bezoek komt", "ontkennen", "help"),
        ("nee maar ik wil wel koffie", "ontkennen", "nee"),
        ("nee maar ik heb wel buikpijn", "ontkennen", "nee"),
        ("nee maar ik heb wel pijn in mijn hart", "ontkennen", "unclear"),
        ("nee maar ik heb wel pijn in mijn pols", "ontkennen", "unclear"),
        ("nee, mn stiefvader komt vanavond weer", "ontkennen", "unclear"),
        ("nee hoor, mijn moeder komt morgen weer op bezoek", "ontkennen", "nee"),
        ("nee, de zon komt weer terug", "ontkennen", "nee"),
        ("nee, het komt wel weer goed", "ontkennen", "nee"),
        ("nee", "ontkennen", "nee"),
        ("nee hoor", "ontkennen", "nee"),
        ("nee joh het gaat goed", "ontkennen", "nee"),
        ("nee, ik ben rustig", "ontkennen", "nee"),
        ("nee, niet mezelf en ook niet een ander", "ontkennen", "nee"),
        ("nee ik heb geen mes", "ontkennen", "nee"),
        ("nee ik heb mijn medicijnen al genomen", "ontkennen", "nee"),
        ("nee ik ben veilig", "ontkennen", "nee"),
        ("nee ik zit gewoon op mijn kamer", "ontkennen", "nee"),
        ("nee, het gaat prima", "ontkennen", "nee"),
        ("nee ik ga zo eten en dan slapen", "ontkennen", "nee"),
        ("nee, ik ben niet in gevaar en niemand doet me wat", "ontkennen", "nee"),
        ("nee ik voel me veilig en ik ga zo slapen", "ontkennen", "nee"),
        ("nee ik heb nergens last van", "ontkennen", "nee"),
        ("nee, ik heb gister te veel gegeten", "ontkennen", "nee"),
        ("nee ik heb de afwas al gedaan", "ontkennen", "nee"),
        ("nee ik red me wel", "ontkennen", "nee"),
        ("nee, alles is oke", "ontkennen", "nee"),
        ("nee dat ben ik niet van plan", "ontkennen", "nee"),
        ("nee, ik ben gestopt met snijden en het gaat goed", "ontkennen", "nee"),
        ("nee, ik wil niet meer snijden", "ontkennen", "nee"),
        ("nee ik wil het niet meer", "ontkennen", "unclear"),
        ("nee ik ben niet flauwgevallen", "ontkennen", "nee"),
        ("nee, de wond bloedt niet meer", "ontkennen", "nee"),
        ("nee hij slaat me niet meer en hij woont ver weg", "ontkennen", "nee"),
        ("nee ik niet, hij wel", "ontkennen", "help"),
        ("nee maar mn buurman wel", "ontkennen", "help"),
        ("nee maar mijn vriendin wil zich iets aandoen", "ontkennen", "help"),
        ("nee, maar mijn zus snijdt zichzelf", "ontkennen", "help"),
        ("nee maar hij heeft een mes", "ontkennen", "help"),
        ("nee maar hij zegt dat hij me gaat vermoorden", "ontkennen", "help"),
        ("nee maar ik ben bang voor mijn ex", "ontkennen", "help"),
        ("nee ik ga hem pakken", "ontkennen", "help"),
        ("nee, maar hij staat voor de deur met een mes", "ontkennen", "help"),
        ("nee maar hij slaat mijn moeder", "ontkennen", "help"),
        ("nee ik ga er een eind aan maken", "ontkennen", "help"),
        ("nee ik ga springen", "ontkennen", "help"),
        ("nee ik sta op de brug", "ontkennen", "help"),
        ("nee, ik heb het al gedaan", "ontkennen", "help"),
        ("nee ik heb mezelf gesneden", "ontkennen", "help"),
        ("nee maar ik heb me gesneden niemand weet het", "ontkennen", "help"),
        ("nee ik heb niemand verteld dat ik pillen heb gespaard", "ontkennen", "help"),
    ],
)
def test_replies_of_the_fourth_review(text, intent, expected):
    assert READS[expected](read_check_answer(reply(text, intent)))


@pytest.mark.parametrize(
    ("text", "evidence", "expected"),
    [
        # the models alone read the harm words, the reply denies them: asked once more
        ("nee ik doe niemant pijn", {"semantic": 0.99, "words": 5}, None),
        ("ik wil niemand pijn doen, mezelf ook niet", {"semantic": 0.99, "words": 8}, None),
        # a word-list hit stays the help
        (
            "nee ik doe niemand pijn",
            {"semantic": 0.99, "words": 5, "matcher_category": "danger_to_others"},
            "ja",
        ),
        # the words take the denial back: the help
        ("nee ik doe niemand pijn maar ik wil dood", {"semantic": 0.99, "words": 9}, "ja"),
        ("niemand doet me wat, alleen mezelf", {"semantic": 0.99, "words": 6}, "ja"),
        # no denial of harm: a clear crisis is "ja" as before
        ("nee ik ben klaar met alles", {"semantic": 0.99, "words": 6}, "ja"),
    ],
)
def test_a_clear_crisis_of_the_models_on_a_reply_that_denies_harm(text, evidence, expected):
    """Twenty-fifth pass. Two calm no's of set C got the full crisis help because the models
    read "pijn doen" as a clear crisis and the intent was `crisis`. When no word-list hit is
    among the evidence and the reply denies harm in so many words, it is read as in the
    middle band: a "nee" is asked once more, anything else is "ja"."""
    assert read_check_answer(reply(text, "crisis", evidence)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nee ik doe niemand pijn behalve mezelf", "help"),
        ("nee, niemand op mezelf na", "help"),
        ("nee, ik let goed op mezelf", "nee"),
    ],
)
def test_only_me_after_a_denial(text, expected):
    """A review of the denial rule: "niemand ... behalve mezelf" is only me (the help); the
    models' clear crisis on it is no longer asked once more."""
    assert READS[expected](read_check_answer(reply(text, "ontkennen")))
    if expected == "help":
        clear = {"semantic": 0.99, "words": 7}
        assert read_check_answer(reply(text, "crisis", clear)) == "ja"


def test_the_typed_replies_reach_the_worker_also_when_asked_once_more(monkeypatch):
    """The first typed reply is kept in the check's slot while the question is asked once
    more; the answer is stored with both replies (a button stores none)."""
    import yaml
    from rasa_sdk.events import SlotSet
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import CHECK_SLOT, ActionCrisisControleAntwoord
    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    stored = []
    monkeypatch.setattr("actions.actions.record_check_answer", lambda *a: stored.append(a[2:]))
    first = reply("hoezo vraag je dat", "vrij_antwoord")
    first.slots.update({"taalniveau": "standaard", CHECK_SLOT: {"sleutel": "k", "gevraagd": 1}})
    events = ActionCrisisControleAntwoord().run(CollectingDispatcher(), first, domain)
    state = next(e["value"] for e in events if e == SlotSet(CHECK_SLOT, e["value"]))
    assert state["antwoorden"] == ["hoezo vraag je dat"] and stored == []
    second = reply("pff", "vrij_antwoord")
    second.slots.update({"taalniveau": "standaard", CHECK_SLOT: state})
    ActionCrisisControleAntwoord().run(CollectingDispatcher(), second, domain)
    [(answer, _shown, typed)] = stored
    assert (answer, typed) == ("onduidelijk", "hoezo vraag je dat\npff")
    # A button press stores no typed reply.
    button = reply("/ontkennen", "ontkennen")
    button.slots.update({"taalniveau": "standaard", CHECK_SLOT: {"sleutel": "k", "gevraagd": 1}})
    ActionCrisisControleAntwoord().run(CollectingDispatcher(), button, domain)
    assert stored[-1][0] == "nee" and stored[-1][2] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nee, toch wel na de koffie", "help"),
        ("nee stiekem wel met koffie", "help"),
        ("nee toch wel goed hoor", "nee"),
        ("nee maar hij gaat haar wat aandoen", "help"),
        ("nee ik ga niemand wat aandoen", "nee"),
    ],
)
def test_the_last_misreads_of_the_fourth_review(text, expected):
    assert READS[expected](read_check_answer(reply(text, "ontkennen")))


# --- A first message whose words deny harm (rules 1c and 2c, twenty-sixth pass) -----------------

DENIALS = [
    "ik zou nooit iemand iets aandoen",
    "ik heb nooit aan zelfmoord gedacht",
    "ik ben niet van plan mezelf iets aan te doen",
    "nee ik ben niet van plan om iemand te steken",
    "ik wil niemand pijn doen",
    "nee ik doe niemant pijn",
    "ik ga niemand slaan",
    "ik ben geen gevaar voor anderen",
    "ik doe mezelf niks aan hoor",
    "nee hij slaat me niet",
    "niemand bedreigt me",
    # Spellings of the thirty-fifth pass: the verb before the negation, "lastig", "heeft me
    # geslagen", too many pills, "ik wil niet dood", "suicidaal".
    "ik denk niet aan zelfmoord",
    "denk nie meer aan doodgaan",
    "ik heb nooit aan doodgaan gedacht",
    "nee, niemand valt me lastig",
    "niemand zit meer achter me aan",
    "niemand heeft me geslagen",
    "hij heeft me nooit geslagen",
    "ik heb niet te veel pillen genomen",
    "ik wil niet dood",
    "nee ik ben niet suïcidaal hoor",
    "nee ik wil niet dood",
    "ik zou mijn kind nooit iets aandoen",
    # A calm reason in closed words beside it (thirty-sixth pass): a tiredness, an everyday
    # feeling, a bad day, anger told as past, the normal dose, "niet bang"; and "echt",
    # "helemaal" before the no, drink and drugs denied.
    "ik denk niet aan zelfmoord, ik ben gewoon moe van het werk",
    "ik ben gwn moe, ik denk niet aan zelfmoord",
    "ik wil niemand pijn doen, had gewoon een rotdag",
    "ik doe mezelf niks aan, ik ben een beetje verdrietig vandaag",
    "ik was kwaad op mn broer maar ik ga hem niks doen",
    "ik heb niet te veel pillen genomen, gwn mn normale dosis",
    "niemand bedreigt me, ik ben niet bang",
    "hij doet me helemaal niks",
    "ik ben nie dronken",
    "nee niets genomen",
]
# Crises with a negation, a denial taken back, or a denial beside a danger: never a denial.
NOT_DENIALS = [
    "ik wil niet meer leven",
    "ik kan niet meer, niemand zal me missen",
    "ik zie geen uitweg meer",
    "ik wil nooit meer wakker worden",
    "niemand mag weten dat hij me slaat",
    "niemand weet dat ik weer snij",
    "nee hoor. de mesjes liggen wel klaar",
    "ik heb niks genomen, alleen een hele strip oxazepam",
    "ik wil hem geen pijn doen maar ik ben bang dat ik het vanavond doe",
    "nee ik doe niks, maar als hij weer komt steek ik hem",
    "ik zou nooit iemand iets aandoen, tot vandaag",
    "ik heb nooit aan zelfmoord gedacht, nu wel",
    "ik doe niemand pijn behalve mezelf",
    "ik ga niemand slaan, ik ga hem steken",
    "ik ben geen gevaar voor anderen, alleen voor mezelf",
    "niemand slaat me, ik heb me gesneden",
    "hij slaat me niet, hij wurgt me",
    # Found by my own attempt to break it (twenty-sixth pass): a vetoed word each.
    "ik zou nooit iemand iets aandoen. hij verdient het gewoon",
    "ik heb nooit aan zelfmoord gedacht, ik heb het gewoon gepland",
    "ik doe mijn kind niks, het huilt al uren en ik schud het",
    # Calm, but a clause beside the denial keeps the help: only a bare denial is read.
    "ik doe mijn vriendin niks, ik hou van haar",
    "ik blijf rustig, ik sla niemand meer",
    # The thirty-fifth pass's spellings beside a danger, or put off.
    "ik denk niet aan zelfmoord, ik denk aan de brug",
    "ik wil niet dood, ik wil slapen en nooit meer wakker worden",
    "ik denk niet aan zelfmoord zodra hij weg is",
    "niemand heeft me geslagen vannacht",
    "ik heb niet te veel pillen genomen, bijna",
    "ik wil niet dood maar ik zie geen uitweg",
    # A second review (thirty-fifth pass): the danger inside the denial's own words, or a
    # hedge ("niet zo", "niet echt") instead of a no.
    "niks helpt ik wil mezelf pijn doen",
    "ik kan niet meer ik ga mezelf iets aandoen",
    "ik kan niet stoppen met aan zelfmoord denken",
    "ik kan niet stoppen met aan doodgaan denken",
    "ik ben niet zo suicidaal",
    "ik denk niet echt aan zelfmoord",
    # A reason beside the denial that is not in the closed words, holds a time, a condition or
    # more, or a "maar" with nothing calm after it (thirty-sixth pass).
    "ik doe mezelf niks aan, ik ben moe van het leven",
    "ik doe mezelf niks aan, ik ben alleen",
    "ik doe mezelf niks aan maar",
    "ik ga niemand slaan, ik ben kwaad vannacht",
    "ik ga niemand slaan maar ik ben boos, ik pak een mes",
    "ik denk niet aan zelfmoord, ik ben gewoon moe, ik wil nooit meer wakker worden",
    "ik doe mezelf niks aan, ik ben alleen verdrietig als hij komt",
    "hij doet me echt niks, hij is lief als hij niet drinkt",
    "ik heb niks genomen, alleen mn normale dosis en de rest van de strip",
    "ik ben niet high, ik heb alles genomen",
    # A second review's (thirty-sixth pass): a pain may be the harm itself, a plea, an urge,
    # a hedge, a farewell.
    "niemand slaat me, ik heb gewoon hoofdpijn",
    "ik wil niet dood!! ik wil niet dood",
    "nee nee ik wil niet dood",
    "ik wil niet meer snijden",
    "hij doet me niet echt pijn",
    "ik ben moe. niemand doet me meer pijn",
    "ik wou niet dood",
    # A third review's: a kind partner beside a denial of abuse, anger at a child, a plea, a
    # thought one wishes away, a menace with "meer", a yes glued to the no.
    "mn vriendin is echt lief voor me, ze slaat me niet",
    "ik was kwaad op de baby. ik doe hem niks",
    "mama ik wil niet dood",
    "ik wil niet dood. ik wil niet dood gaan",
    "ik wil niet meer aan zelfmoord denken",
    "mn ex zal niemand meer pijn doen",
    "hij slaat me niet neejawel",
    # A fourth review's: a plan denied in the past (the harm is done), irony, quotes.
    "ik was nie van plan om hem te vermoorden",
    "ik ga hem niks doen >:)",
    'hij doet me "niks"',
    "ik ga niet zomaar iemand iets aandoen",
    "ik doe mezelf niks aan, ik voel me ziek",
    "ik wil niet dood\uff01",
]
# A reviewer's 104 crises beside a denial (twenty-sixth pass), written to break the reading:
# 41 read as a denial before every clause had to be the denial itself. And 60 by another
# reviewer (thirty-fourth pass), written to break a wider reading that was tried and not
# adopted (a denial beside clauses the meaning reads as calm; docs/safety.md): a denial the
# patterns accept, beside a present danger told in everyday words. And 50 by a third (thirty-
# fifth pass), written to break the wider spellings of that pass: 21 read as a denial with
# the rule before it (the danger before the denial in one clause, or run on after it).
# And 51 by a fourth, 32 by a fifth, 40 by a sixth and 30 by a seventh (thirty-sixth pass),
# written to break the calm reason beside a denial: all read as one before their fixes
# ("neersteken" read as a "nee", a hedge beside "niemand", a reason that is the overdose
# itself, an emoji; a plea, an urge, "niet echt", a farewell or a menace with "meer", a kind
# partner beside a denial of abuse, a yes glued to the no; a plan denied in the past,
# irony). None reads as a denial.
REVIEW_CRISES = [
    line.strip()
    for name in (
        "denial_review_crises.txt",
        "denial_review_crises_34.txt",
        "denial_review_crises_35.txt",
        "denial_review_crises_36.txt",
    )
    for line in (Path(__file__).parent / name).read_text("utf-8").splitlines()
    if line.strip()
]


def _hits(text: str) -> int:
    from bot.safety.matcher import get_matcher

    return len(get_matcher().find(text, remember=False))


@pytest.mark.parametrize("text", DENIALS)
def test_a_plain_denial_of_harm_is_read_as_one(text):
    from bot.safety.check_answer import words_deny_harm

    assert words_deny_harm(text, _hits)


@pytest.mark.parametrize("text", NOT_DENIALS)
def test_a_crisis_beside_a_denial_is_no_denial(text):
    from bot.safety.check_answer import words_deny_harm

    assert not words_deny_harm(text, _hits)


@pytest.mark.parametrize("text", REVIEW_CRISES)
def test_a_reviewers_crisis_beside_a_denial_is_no_denial(text):
    from bot.safety.check_answer import words_deny_harm

    assert not words_deny_harm(text, _hits)


def test_a_long_run_of_filler_words_is_read_at_once():
    """The shapes around a denial have one way to split a word (no backtracking that doubles
    with every word; a review, thirty-fifth pass): these return, and are no denial."""
    from bot.safety.check_answer import words_deny_harm

    for text in (
        "nee" * 40 + " xyz ik doe niemand pijn",
        "kind" * 40 + " xyz ik doe niemand pijn",
        "ik doe niemand pijn " + "aandoen" * 40 + " xyz",
    ):
        assert not words_deny_harm(text, _hits)


@pytest.mark.parametrize(
    "text, denies",
    [
        ("nee niemand doet me iets", True),
        ("niemand slaat me", True),
        ("ik wil niemand pijn doen", True),
        # nobody helps, or nobody is told: no denial of harm
        ("niemand doet ook niks", False),
        ("niemand hier doet iets", False),
        ("nee niemand pakt de telefoon op", False),
        ("hij misbruikt me ik ga niemand iets zeggen", False),
    ],
)
def test_nobody_denies_only_a_harm(text, denies):
    from bot.safety.check_answer import denies_harm

    assert denies_harm(text) is denies


def test_a_harm_beside_a_nobody_takes_the_no_back():
    from bot.safety.check_answer import normalise, takes_it_back

    assert takes_it_back(normalise("niemand doet me iets hij slaat haar")) is True
    assert takes_it_back(normalise("nee niemand doet me iets")) is False


def test_a_word_list_hit_outside_the_denial_keeps_the_help():
    """Every hit must lie in a denial clause, counted: a hit the clauses do not hold (across
    two of them) keeps the help."""
    from bot.safety.check_answer import words_deny_harm

    text = "ik zou nooit iemand iets aandoen, nee hoor"

    def in_denial_only(piece: str) -> int:
        return 1 if "aandoen" in piece else 0

    def one_more_in_the_whole(piece: str) -> int:
        return 2 if piece == text else in_denial_only(piece)

    def one_in_the_other_clause(piece: str) -> int:
        return 1 if piece in (text, "nee hoor") else 0

    assert words_deny_harm(text, in_denial_only)
    assert not words_deny_harm(text, one_more_in_the_whole)
    assert not words_deny_harm(text, one_in_the_other_clause)


@pytest.mark.parametrize(
    "text, expected",
    [
        # a "nee" as typed (thirty-sixth pass) ...
        ("neeuh", "nee"),
        ("neenee", "nee"),
        ("nee joh", "nee"),
        # ... not glued to a yes, not a bare "ne" before more words, not "neer"
        ("neejawel", None),
        ("ne ik hoor stemmen", "weet_niet"),
        ("neeerr", None),
        # voices, being forced, a maybe, bleeding now take the no back (a fourth review)
        ("nee ik hoor stemmen", "weet_niet"),
        ("nee ik moet van hem", "weet_niet"),
        ("nee kan zijn", "weet_niet"),
        ("nee ik denk het wel", "weet_niet"),
        ("nee ik ben aan het bloeden", "weet_niet"),
        ("nee ik hoor geen stemmen", "nee"),
    ],
)
def test_typed_replies_of_the_thirty_sixth_pass(text, expected):
    from bot.safety.check_answer import read_typed_answer

    assert read_typed_answer(text, None) == expected
