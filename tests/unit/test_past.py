"""Rule 1b's reading of time (bot.safety.past) with the real word list: crisis words told as a
distant past that is over now, and the ways a message says it is not. The sentences are
written for these tests."""

from __future__ import annotations

import pytest

from bot.safety.matcher import get_matcher
from bot.safety.past import told_as_past


@pytest.fixture(scope="module")
def find():
    matcher = get_matcher()
    return lambda text: [h.text for h in matcher.find(text)]


@pytest.mark.parametrize(
    "text",
    [
        "ik heb ooit een overdosis gehad, nu ben ik al twee jaar clean",
        "mijn vader sloeg me vroeger, nu heb ik goed contact met mijn moeder",
        "ik heb twee jaar geleden een zelfmoordpoging gedaan, nu gaat het goed met me",
        "ik heb vroeger iemand bedreigd, daar heb ik nu spijt van",
        "toen ik 16 was sneed ik mezelf, inmiddels gaat het veel beter",
        "vroeger sneed ik mezelf, nu doe ik dat nooit meer en gaat het goed",
    ],
)
def test_a_past_that_is_over(find, text):
    assert find(text), "the word list reads a crisis word (else rule 1b has nothing to do)"
    assert told_as_past(text, find)


@pytest.mark.parametrize(
    "text",
    [
        # It came back, goes on, or is recent.
        "vroeger sneed ik mezelf, nu doe ik het weer",
        "vroeger wilde ik dood en nu eigenlijk ook weer",
        "ik heb ooit een overdosis gehad, nu gaat het goed maar soms denk ik eraan",
        "ik heb ooit een overdosis gehad, gisteren bijna weer",
        "vroeger sneed ik mezelf, ik denk er nog steeds aan maar nu gaat het goed",
        # "Now" is no recovery: the danger itself.
        "vroeger dacht ik aan zelfmoord, nu heb ik een plan",
        "ooit heb ik een overdosis genomen, nu heb ik alles klaarliggen",
        "toen ik klein was werd ik misbruikt en nu kan ik niet meer",
        # "Better", then a negation, a turn, a reason or a decision: calm after a decision is
        # a warning sign in itself.
        "vroeger wilde ik dood, nu gaat het niet goed",
        "ik heb ooit een overdosis gehad, nu ben ik niet meer clean",
        "vroeger nam ik een overdosis, inmiddels gaat het goed, maar ik heb pillen gekocht",
        "ooit deed ik een zelfmoordpoging, nu voel ik me rustig want ik weet wat ik ga doen",
        "ooit heb ik een poging gedaan zelfmoord, nu voel ik me veilig genoeg om het af te maken",
        "jaren geleden sneed ik mezelf, nu gaat het goed, ik heb alles al klaar gelegd",
        "vroeger dacht ik aan zelfmoord, nu ben ik rustig",
        # Farewell in the "now", or something told after it (fifteenth pass).
        "vroeger wilde ik dood, nu is alles goed geregeld voor mijn kat",
        "jaren geleden wilde ik dood, nu gaat het goed, dit is mijn laatste bericht",
        "toen ik 16 was wilde ik dood, nu ben ik trots op mezelf, ik ga het doen",
        "vroeger sneed ik mezelf, nu gaat het goed, ik heb een mesje in mijn tas",
        "vroeger wilde ik dood. nu gaat het goed, ik zeg iedereen gedag",
        # A long "now": room for a turn the word lists do not know.
        "ooit had ik een overdosis, nu gaat het goed en ik zit met mijn spullen op het dak van de flat",
        # A crisis word in the present part.
        "jaren geleden heb ik hem bedreigd en nu wil ik hem echt iets aandoen",
        # No distant past: last week is now.
        "vorige week sneed ik mezelf, nu gaat het goed",
        "ik sneed mezelf, nu gaat het goed",
        # The past is not said to be over.
        "vroeger sneed ik mezelf",
        "nu gaat het goed, vroeger sneed ik mezelf",
        # No crisis word at all: nothing for rule 1b.
        "vroeger was ik vaak boos, nu gaat het goed",
    ],
)
def test_not_a_past_that_is_over(find, text):
    assert not told_as_past(text, find)
