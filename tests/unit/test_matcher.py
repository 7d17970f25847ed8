"""The deterministic crisis matcher on its own (the whole-bot figures are in
tests/test_crisis_set.py). Sentences here are written for these unit tests only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.safety.matcher import (
    CATEGORIES,
    CrisisMatcher,
    compile_pattern,
    get_matcher,
    load_patterns,
    normalise,
)


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik wil dood", "suicide"),
        ("Kwil gewoon dood", "suicide"),
        ("ik denk aan zelfmoord", "suicide"),
        ("ZELFMOOOORD", "suicide"),
        ("ik wil er een eind aan maken", "suicide"),
        ("ik maak er een einde aan vanavond", "suicide"),
        ("soms wil ik er niet meer zijn", "suicide"),
        ("mijn leven heeft geen zin meer", "suicide"),
        ("ik snij mezelf", "self_harm"),
        ("ik heb weer in mijn armen gesneden", "self_harm"),
        ("ik heb al mijn pillen ingenomen", "overdose"),
        ("ik ga hem kapot maken", "danger_to_others"),
        ("ik steek die gast neer", "danger_to_others"),
        ("ze bedreigen me al weken", "threatened"),
        ("hij wil me vermoorden", "threatened"),
        ("mijn vriend slaat me", "abuse"),
        ("ik ben thuis mishandeld", "abuse"),
        ("ik ga zijn kop inslaan", "danger_to_others"),
        ("ik steek zijn auto in de fik", "danger_to_others"),
        ("ik sla 'm kapot", "danger_to_others"),
        ("ze breken mijn armen als ik niet betaal", "threatened"),
        ("hij kwam met een mes naar mijn huis", "threatened"),
        ("ik heb me eigen gesneden", "self_harm"),
        ("ik heb pillen opgespaard om ze in te nemen", "overdose"),
        ("mijn vriend zegt dat ik dood ben als ik praat", "threatened"),
        # Twenty-eighth pass: a noose, "me zelf" written apart, the verb split around it.
        ("de strop ligt klaar", "suicide"),
        ("heb een strop geknoopt", "suicide"),
        ("touw om mn nek", "suicide"),
        ("ik heb me zelf gesneden", "self_harm"),
        ("ik doe mezelf wat aan vannacht", "suicide"),
        ("straks doe ik mezelf nog wat aan", "suicide"),
        ("touw om mn hals", "suicide"),
        ("de strop hangt", "suicide"),
    ],
)
def test_crisis_language_is_found(matcher, text, category):
    assert matcher.category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "ik ben doodmoe",
        "mijn telefoon is dood",
        "ik lach me dood",
        "ik ga dood van de honger",
        "ik schrok me dood",
        "ik kijk uit naar het weekend",
        "ik ga je morgen bellen",
        "ik heb me gesneden bij het koken",
        "ik heb mijn medicatie ingenomen",
        "we zagen een film over huiselijk geweld",
        "ik ging bijna dood van de pijn",
        "",
        "   ",
        "😀😀",
        "<script>alert(1)</script>",
        "wat een strop, mn fiets is gestolen",
        "laat me zelf kiezen",
        "ik doe me jas aan",
        "ik kan het me zelf niet vergeven",
        # A second reader's review of the twenty-eighth pass.
        "wat een strop, maak je geen zorgen",
        "dat was een strop, knoop het maar in je oren",
        "oordopjes kabel om mn nek",
        "dat liedje deed me wat aan mn opa denken",
    ],
)
def test_everyday_language_is_not_crisis(matcher, text):
    assert matcher.category(text) is None


def test_matcher_hit_beats_priority_order(matcher):
    hits = matcher.find("hij slaat me en ik wil dood")
    assert [h.category for h in hits][0] == "suicide"
    assert {h.category for h in hits} == {"suicide", "abuse"}


def test_normalise_expands_contractions_and_squeezes_repeats(matcher):
    assert normalise("Kwil DOOOOD!!") == "ik wil dood"
    assert normalise("ZÉLFMOORD") == "zelfmoord"
    # A Turkish keyboard's dotted capital İ and dotless ı.
    assert normalise("İK WİL DOOD") == "ik wil dood"
    assert normalise("ık wıl dood") == "ik wil dood"
    assert normalise("heb me zelf gebrand, mij zelf") == "heb mezelf gebrand mijzelf"
    assert matcher.category("ık wıl zelfmoord plegen") == "suicide"


def test_word_list_is_well_formed():
    patterns = load_patterns()
    assert set(patterns) == {*CATEGORIES, "exclusions", "denials", "ask", "ask_not"}
    for key, lines in patterns.items():
        for line in lines:
            category, _, phrase = line.partition(": ") if key == "ask" else (key, "", line)
            assert category in CATEGORIES or key in ("exclusions", "denials", "ask_not"), line
            assert compile_pattern(phrase), line


@pytest.mark.parametrize("pattern", ["_ _", "/^(a|b c)/", "a||b", "a _? b"])
def test_malformed_pattern_is_rejected(pattern):
    with pytest.raises(ValueError):
        compile_pattern(pattern)


# Constructions added in November 2026 (indirect threats, revenge, weapons, abuse at home,
# self-harm relapse, "strip leeg", passive death wishes). Each has a positive and a
# negative sentence, both written for these tests only.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        # suicide
        ("ik hoop dat ik morgen niet meer wakker word", "suicide"),
        ("ik wou dat ik nooit geboren was", "suicide"),
        ("ik ben er liever niet meer", "suicide"),
        ("ik ben liever dood", "suicide"),
        ("ik heb geen reden meer om te leven", "suicide"),
        ("waarom leef ik eigenlijk nog", "suicide"),
        ("waarom zou ik nog verder leven", "suicide"),
        ("ik denk erover om er een einde aan te maken", "suicide"),
        ("ik ben klaar met het leven", "suicide"),
        ("ik zou het niet erg vinden als ik doodga", "suicide"),
        ("ik hoop dat er een trein over me heen gaat", "suicide"),
        # self_harm
        ("ik heb mijn arm opengehaald", "self_harm"),
        ("mijn armen zijn open gekrast", "self_harm"),
        ("ik heb gisteren weer gekrast", "self_harm"),
        ("ik heb vannacht gekerfd", "self_harm"),
        ("ik wil weer snijden", "self_harm"),
        ("de drang om te krassen is groot", "self_harm"),
        ("ik sla mezelf als ik boos ben", "self_harm"),
        ("ik doe mezelf weer pijn", "self_harm"),
        ("ik heb een terugval met krassen", "self_harm"),
        ("ik heb een scheermesje verstopt", "self_harm"),
        ("ik krab mijn huid open", "self_harm"),
        # overdose
        ("ik heb de hele strip leeg gegeten", "overdose"),
        ("ik heb 30 pillen genomen", "overdose"),
        ("ik heb al mijn pillen ineens genomen", "overdose"),
        ("ik heb de pillen achter elkaar geslikt", "overdose"),
        ("ik heb een handvol pillen genomen", "overdose"),
        ("ik heb een hele doos leeg", "overdose"),
        ("ik heb te veel van mijn slaappillen genomen", "overdose"),
        ("ik heb een dubbele dosis genomen", "overdose"),
        ("ik krijg zin om iemand te slaan", "danger_to_others"),
        ("ik ga iemand slaan", "danger_to_others"),
        ("ik heb een mes bij me", "danger_to_others"),
        ("ik ga hem laten lijden", "danger_to_others"),
        ("hij krijgt klappen van mij", "danger_to_others"),
        ("ik wurg hem", "danger_to_others"),
        ("ik kan niet meer instaan voor mezelf", "danger_to_others"),
        ("ik sta niet meer in voor mezelf", "danger_to_others"),
        ("straks gaan er klappen vallen", "danger_to_others"),
        ("dan vallen er klappen", "danger_to_others"),
        ("anders gebeuren er ongelukken", "danger_to_others"),
        ("ik ga hem een lesje leren", "danger_to_others"),
        ("ik sla hem het ziekenhuis in", "danger_to_others"),
        ("ik knal hem neer", "danger_to_others"),
        ("ik pleeg zo een moord", "danger_to_others"),
        ("ik ga de buurman slaan", "danger_to_others"),
        ("ik wil haar wurgen", "danger_to_others"),
        ("ik sla zijn tanden uit zijn bek", "danger_to_others"),
        ("ik heb net twintig oxazepam geslikt", "overdose"),
        ("ik heb drank en pillen door elkaar genomen", "overdose"),
        ("ik ben weer aan het krassen", "self_harm"),
        ("als ik niet betaal maken ze me af", "threatened"),
        ("ik ben bang voor mijn leven", "threatened"),
        ("hij pakt me bij mijn keel", "abuse"),
        ("doosje leeggegeten", "overdose"),
        ("ik heb alles wat ik had ingenomen", "overdose"),
        ("ik heb te veel geslikt", "overdose"),
        ("ik heb mijn pillen te veel genomen", "overdose"),
        # danger_to_others
        ("ik sla hem in elkaar", "danger_to_others"),
        ("ik wil die gozer in elkaar slaan", "danger_to_others"),
        ("kga die gozer slopen", "danger_to_others"),
        ("ik sloop hem", "danger_to_others"),
        ("ik ga hem zo hard slaan", "danger_to_others"),
        ("ik ga wraak nemen", "danger_to_others"),
        ("ik neem wraak op hem", "danger_to_others"),
        ("hij gaat ervoor boeten", "danger_to_others"),
        ("ze gaan bloeden", "danger_to_others"),
        ("ik heb een blaffer geregeld", "danger_to_others"),
        ("ik heb een mes op zak", "danger_to_others"),
        ("ik jaag een kogel door zijn kop", "danger_to_others"),
        ("als hij nog 1 keer wat zegt sla ik hem neer", "danger_to_others"),
        ("ik ga hem wat doen", "danger_to_others"),
        ("ik ga hem te grazen nemen", "danger_to_others"),
        ("ik trap zijn kop in", "danger_to_others"),
        ("ik ga met een mes naar zijn huis", "danger_to_others"),
        ("ik heb een mes voor die gast", "danger_to_others"),
        ("die gast is dood als ik hem zie", "danger_to_others"),
        ("als ik hem zie is hij dood", "danger_to_others"),
        ("ik ga hem laten voelen wat pijn is", "danger_to_others"),
        ("ik wil mijn ex wat aandoen", "danger_to_others"),
        # threatened
        ("ze weten waar ik woon", "threatened"),
        ("ik durf niet meer naar huis", "threatened"),
        ("ze hebben me opgewacht na school", "threatened"),
        ("ze jagen een kogel door mijn kop", "threatened"),
        ("hij zegt dat ik een kogel krijg", "threatened"),
        ("ze gaan me slopen", "threatened"),
        ("ze zeggen dat ik de volgende ben", "threatened"),
        ("ik moet onderduiken", "threatened"),
        ("betalen anders ben ik er geweest", "threatened"),
        ("hij zei dat ik er geweest ben", "threatened"),
        ("ze dreigen met mijn kinderen", "threatened"),
        ("ik krijg dreigberichten", "threatened"),
        ("iemand achtervolgt me", "threatened"),
        ("ik word gestalkt door mijn ex", "threatened"),
        # abuse
        ("hij sluit me op in de kamer", "abuse"),
        ("ik heb blauwe plekken van mijn vriend", "abuse"),
        ("hij duwde me van de trap", "abuse"),
        ("hij knijpt mijn keel dicht", "abuse"),
        ("mijn stiefvader doet dingen met me", "abuse"),
        ("mijn oom komt snachts op mijn kamer", "abuse"),
        ("thuis krijg ik klappen", "abuse"),
        ("ze gooit dingen naar mijn hoofd", "abuse"),
        ("hij heeft me tegen de muur gegooid", "abuse"),
        # third pass: short answers to a question (docs/conversation.md)
        ("ik wil ophouden met leve", "suicide"),
        ("stoppen met leven", "suicide"),
        ("ik wil eeuwige rust", "suicide"),
        ("ik wil voor altijd slapen", "suicide"),
        ("ik ga voor altijd slapen", "suicide"),
        ("naar mn dood", "suicide"),
        ("ik wil stoppen met dit leven", "suicide"),
        ("ik kijk uit naar mijn eigen dood", "suicide"),
    ],
)
def test_new_crisis_constructions_are_found(matcher, text, category):
    assert matcher.category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "ik hoop dat de baby niet wakker wordt",
        "ik ben geboren in Rotterdam",
        "ik ben er liever niet bij",
        "ik heb een reden om te stoppen met blowen",
        "waarom leef ik in deze stad",
        "ik ben klaar met mijn werk",
        "ik vind het niet erg als ik moet wachten",
        "de bus reed langs me heen",
        "ik heb mijn knie opengehaald bij het voetballen",
        "ik heb weer gekookt",
        "ik wil uien snijden",
        "ik sla mezelf voor mijn kop dat ik dat vergat",
        "ik moet scheermesjes kopen",
        "mijn strip is leeg dus naar de apotheek",
        "ik heb alles opgegeten",
        "ik neem 2 pillen per dag",
        "ik neem mijn pillen tegelijk met het eten",
        "ik moet een hoop pillen slikken",
        "mijn strip is op",
        "ik heb te veel van die chips gegeten",
        "de dokter gaf een extra dosis",
        "ik heb zin om te slapen",
        "ik heb zin om de bal te schieten",
        "ik ga iemand bellen",
        "ik sta er niet achter",
        "ik viel op de grond",
        "er gebeuren soms ongelukken in het verkeer",
        "de leraar gaf ons een lesje",
        "ik moest naar het ziekenhuis",
        "ik knal de deur dicht",
        "wie heeft de moord gepleegd in dat boek",
        "ik ga de buurman helpen",
        "ik heb een zakmes bij me voor het vissen",
        "laat maar zitten",
        "ik kreeg een klap van de deur",
        "hij wurgde bijna van het lachen",
        "ik ga mijn tanden poetsen",
        "ik krijg 20 mg tabletten",
        "ik haal door elkaar wat ik moet doen",
        "ik ben weer aan het koken",
        "dan maken ze me blij",
        "ik ben bang voor de rechter",
        "hij pakt me bij mijn hand",
        "ik vergeet soms mijn pillen in te nemen",
        "ik heb te veel hooi op mijn vork genomen",
        "we hebben ze in elkaar gezet die kast",
        "ik ga die kast slopen",
        "ik maak hem af met fifa",
        "ik sloop hem met fifa",
        "ik heb hem gesloopt op de training",
        "ik wil mijn opleiding afmaken",
        "ik wil de vragen afmaken",
        "wie wordt er vermoord in die nieuwe film",
        "ik wil geen wraak",
        "ik moet boeten voor wat ik gedaan heb",
        "mijn neus gaat bloeden",
        "ik heb een mes gekocht voor in de keuken",
        "ik ga hem even bellen",
        "mijn begeleider weet waar ik woon",
        "ik durf niet naar de tandarts",
        "mijn moeder wacht me op bij de bus",
        "ik heb een kogelvrij vest gezien in een film",
        "ik ben de volgende in de rij",
        "ik ben blij dat ik er geweest ben",
        "ik krijg klappen van het leven",
        "ik sluit de deur op slot",
        "ik heb blauwe plekken van het voetballen",
        "hij gooide de bal naar het doel",
        "ik wil leuke dingen met mijn kinderen doen",
        "ik ga iets doen met vrienden",
        "ik ga met een mes naar de keuken",
        "de buurman kwam snachts thuis",
        "ik ging dood in fortnite",
        "bij kickboksen sloeg ik hem knock out in de ring",
        "opa heeft nu eeuwige rust",
        "opa is overleden ik wens hem eeuwige rust",
        "mijn opa is voor altijd gaan slapen",
        "onze hond is voor altijd gaan slapen",
        "ik wil niet voor altijd slapen",
        "ik zou wel voor altijd willen slapen zo moe",
        "ik wil ophouden met leven in de criminaliteit",
        "ophouden met leven op straat",
        "ik wil stoppen met dat leven op straat",
        "ik ga naar mn dode oma",
    ],
)
def test_new_constructions_leave_everyday_language_alone(matcher, text):
    assert matcher.category(text) is None, matcher.find(text)


@pytest.mark.parametrize(
    "text",
    [
        "ik neem mijn pillen zoals voorgeschreven",
        "ik slik ze zoals de dokter zegt",
        "ik heb me gesneden bij het koken",
        "ik brandde me aan de koekenpan",
        "ik kreeg een klap bij het boksen",
        "in de film ging iedereen dood",
        "ik voel me rot maar ik ben niet in gevaar",
    ],
)
def test_everyday_context_counts_as_idiom(matcher, text):
    hits, idioms = matcher.analyse(text)
    assert not hits and idioms > 0


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik heb al mijn pillen genomen, niet zoals voorgeschreven", "overdose"),
        ("ik heb mezelf gesneden met een mesje", "self_harm"),
        ("ik wil dood, ik red me niet", "suicide"),
        ("ik steek hem neer na de wedstrijd", "danger_to_others"),
        ("ik wil dood maar ik doe niks raars", "suicide"),
        ("ik ben zo kwaad ik steek hem neer", "danger_to_others"),
    ],
)
def test_everyday_context_does_not_hide_a_crisis(matcher, text, category):
    assert matcher.category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "het is zwaar maar ik red me wel",
        "ik ben boos maar ik doe niks",
        "ik ben kwaad maar ik blijf rustig",
        "ik kom er wel doorheen",
    ],
)
def test_reassurance_is_not_an_exclusion(matcher, text):
    """Hedges like "maar ik doe niks" are no idiom: they must never silence the classifier
    (a passive death wish with "maar ik doe niks" still gets the crisis help)."""
    hits, idioms = matcher.analyse(text)
    assert not hits and idioms == 0


@pytest.mark.parametrize(
    "text",
    [
        "ik wil niet dood",
        "nee ik wil echt niet dood hoor",
        "ik wil eigenlijk niet dood",
        # Every clause a negation (a review of the twenty-seventh pass).
        "ik wil niet dood. ik wil echt niet dood hoor",
        "nee ik wil niet dood, echt niet, ik wil niet dood",
        # Twenty-eighth pass: "nie" as clients type it (a suicide hit before), small words
        # and emoji beside it.
        "nee joh ik wil echt niet dood hoor 🙂",
        "ik wil niet dood hoor, echt niet",
        "ik wil niet dood gaan",
    ],
)
def test_a_denied_wish_to_die_alone_counts_as_idiom(matcher, text):
    hits, idioms = matcher.analyse(text)
    assert not hits and idioms >= 1
    assert matcher.analyse(text, remember=False)[1] == idioms


@pytest.mark.parametrize(
    "text",
    [
        # dev8 (read): the balcony got nothing, as the negation stopped the whole meaning.
        "ik wil niet dood eigenlijk maar ik hou het niet meer uit en ik sta nu op het balkon",
        "ik wil niet dood, maar ik heb net al mijn pillen in mijn hand",
        "ik wou niet dood maar de stem zegt dat ik moet springen",
    ],
)
def test_a_denied_wish_beside_more_clauses_is_no_idiom(matcher, text):
    """Twenty-seventh pass: "ik wil niet dood" cancels the hit on "wil ... dood" still, but in
    a message of two or more clauses it no longer stops the meaning of the rest."""
    hits, idioms = matcher.analyse(text)
    assert not [h for h in hits if "dood" in h.text] and idioms == 0
    # ... while the clause that holds it is still an idiom on its own (rules 5b and 5c).
    assert matcher.analyse(text.split(",")[0].split(" maar ")[0])[1] == 1


@pytest.mark.parametrize(
    "text",
    [
        # Run-on typing, one clause to the clause split (a review of the twenty-seventh pass).
        "ik wil niet dood ik sta nu op het dak",
        "ik wil niet dood maar hou het nie meer vol",
        "ik wil niet dood help",
        "ik wil niet dood, gaat wel",
        # A clause beside a negation that is more than small words.
        "ik wil niet dood. ik wil echt niet dood, de pillen liggen klaar",
        # A piece under three words is no clause (a second reader's review).
        "ik wil niet dood. ik wil echt niet dood. 40 pillen",
        "nee ik wil niet dood, echt niet, ik wil niet dood, help",
    ],
)
def test_a_denied_wish_beside_other_words_is_no_idiom(matcher, text):
    """Twenty-eighth pass: the words beside a negation count, not only its clauses; a word
    beside it that is not a small word ("nee", "echt", "hoor") lets the meaning count."""
    hits, idioms = matcher.analyse(text)
    assert not [h for h in hits if "dood" in h.text] and idioms == 0


@pytest.mark.parametrize(
    "text",
    [
        "help ik wil niet sterven",
        "hij staat voor de deur, ik wil niet doodgaan",
        "ik wil nie dood maar wel",
        "ik wil niet overlijden aan die pillen",
    ],
)
def test_fear_of_dying_is_no_negation(matcher, text):
    """A second code review of the twenty-eighth pass: "niet sterven" and "niet doodgaan" may be
    fear in danger, and "nie dood" may be taken back: they keep their hit."""
    assert matcher.find(text), text


def test_an_everyday_idiom_beside_more_clauses_still_counts(matcher):
    hits, idioms = matcher.analyse("ik ga dood van de honger, maar het eten is zo klaar")
    assert not hits and idioms == 1


def test_a_wish_to_be_dead_told_with_ooit_is_no_idiom():
    """The exclusion "ooit ... dood" ("ooit gaan we allemaal dood") took "ooit wilde ik dood"
    too, and a crisis after it got nothing (fourteenth pass)."""
    matcher = get_matcher()
    assert matcher.category("ooit wilde ik dood, inmiddels weet ik hoe ik het ga doen")
    assert matcher.analyse("ooit gaan we allemaal dood") == ([], 2)
    assert matcher.analyse("iedereen gaat ooit dood")[0] == []


@pytest.mark.parametrize(
    "text",
    [
        "in de kliniek dacht ik dat het over was, maar ik wil nu weer echt dood",
        "ik wilde echt zo graag dood",
        "ik wou toch nog steeds dood",
    ],
)
def test_a_wish_to_be_dead_with_small_words_between_is_found(matcher, text):
    """Sixteenth pass: the word list allowed two words between "wil" and "dood"."""
    assert matcher.category(text) == "suicide"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik wil graag over de dood van mijn moeder praten", None),
        ("ik wil nog even de dood van mijn vader verwerken", None),
        ("ik wil echt nog niet dood", None),
        ("ik wil liever niet dood", None),
        ("ik wil mezelf snijden, niet dood", "self_harm"),
        ("ik wil hem neersteken, niet dood", "danger_to_others"),
        ("ik wilde vannacht dood, niet dood gegaan", "suicide"),
        # "Not yet" and "not now" only put it off (a review of the exclusion).
        ("ik wil nog niet dood, de pillen liggen klaar voor morgen", "suicide"),
        ("ik wil nu niet dood, pas morgen", "suicide"),
    ],
)
def test_small_words_between_leave_grief_and_negation_alone(matcher, text, category):
    """Second readers' sentences for the sixteenth pass's lines: open gaps took grief talk, an
    exclusion with open gaps took the crisis before "niet dood", and "nog niet" is not yet."""
    assert matcher.category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "ik wil elke dag weer dood",
        "ik wil de hele dag dood",
        "sinds de uitspraak wil ik echt iedere nacht weer dood",
        "kwil elke dag dood",
        "na het bezoek wil ik nu weer echt dood",
        # A second reader's review of the first version:
        "ik wil de laatste tijd echt dood",
        "ik wil bijna elke dag dood",
        "ik wil het hele jaar al dood",
        "ik wil eigenlijk altijd wel dood",
        "ik wil dag en nacht dood",
        "ik wilt elke dag dood",
        "ik wilt dood",
    ],
)
def test_a_wish_to_be_dead_told_with_how_often_is_found(matcher, text):
    """Seventeenth pass: a reviewer's "ik wil elke dag weer dood" got nothing (a time word
    is not one of the small words between "wil" and "dood")."""
    assert matcher.category(text) == "suicide"


@pytest.mark.parametrize(
    "text",
    [
        "ik wil elke dag naar mijn werk, ook al ben ik dood moe",
        "ik wil de hele dag slapen",
        "ik wil elke dag weer leven zoals nu",
        "ik wil de tijd dood slaan met een spelletje",
        "eerlijk gezegd wil ik echt liever niet dood",
        "kwil ff tijd dood slaan",
        "ik wil elke dag dood normaal doen tegen de begeleiding",
        "ik wil elke keer dood gaan van het lachen als ik hem zie",
        "ik wou elke keer dood van schaamte toen ik voor de rechter stond",
    ],
)
def test_how_often_leaves_everyday_days_alone(matcher, text):
    """The same lines' everyday neighbours, "de tijd dood slaan" (to kill time, written
    apart), "dood normaal" for "doodnormaal", and idioms with "dood gaan van"."""
    assert matcher.category(text) is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik wou lange tijd dood sloeg mezelf kapot", "suicide"),
        ("ik wil al een tijd dood sla mezelf", "self_harm"),
        ("hij dreigt me in no tijd dood te slaan", "danger_to_others"),
        ("ik wil dood eerlijk", "suicide"),
    ],
)
def test_the_new_exclusions_stay_narrow(matcher, text, category):
    """A second reader's review: the first "tijd dood slaan" exclusion ran into the next
    clause and cleared these hits."""
    assert matcher.category(text) == category


def test_the_word_list_on_the_held_out_how_often_set(matcher):
    """tests/crisis/crisis_set_howoften.yml (another hand, run once after the seventeenth
    pass's lines were tuned): 38 of 50 crises have a hit (34 with the old list), 7 of 50 calm
    look-alikes (6). Regression bars at those counts; only counts are shown."""
    path = Path(__file__).resolve().parents[1] / "crisis" / "crisis_set_howoften.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    crises = sum(bool(matcher.find(c["text"])) for c in data["crisis"])
    calm = sum(bool(matcher.find(c["text"])) for c in data["non_crisis"])
    assert (len(data["crisis"]), len(data["non_crisis"])) == (50, 50)
    assert crises >= 38, f"{crises} of 50 crises with a hit"
    assert calm <= 7, f"{calm} of 50 calm messages with a hit"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("die gasten laten me niet gaan", "threatened"),
        ("ik mag nie naar buiten van hem", "abuse"),
        ("ze houden me hier vast", "threatened"),
        ("hij had een pistool", "threatened"),
        ("er zijn mannen in mn huis", "threatened"),
        ("ze hebben ingebroken bij mij", "threatened"),
        # A second reader's review of the twenty-eighth pass.
        ("ik kan nie weg de deur is op slot", "threatened"),
        ("ik mag niet weg van hem", "abuse"),
        ("hij heeft n mes", "threatened"),
        ("die gast heeft een mes", "threatened"),
        ("hij laat me nooit gaan", "threatened"),
        ("hij houd me vast", "threatened"),
        # A second code review: an idiom or an everyday purpose elsewhere cancels nothing.
        ("hij heeft een mes, ik schrik me dood", "threatened"),
        ("mijn vriend laat me niet gaan naar mijn werk, hij heeft een mes", "threatened"),
        ("ik wil dood en hij laat me niet gaan", "threatened"),
    ],
)
def test_a_phrase_that_asks_is_found(matcher, text, category):
    """Twenty-eighth pass: patterns.yml `ask` (rule 7a): the check question, never a hit."""
    assert matcher.ask(text).category == category
    assert all(h.category != "threatened" for h in matcher.find(text))


@pytest.mark.parametrize(
    "text",
    [
        "ik laat me niet kennen",
        "hij heeft een nieuwe fiets",
        "ik ben binnen",
        # A second reader's review of the twenty-eighth pass.
        "ik laat me niet gaan hoor ik blijf rustig",
        "ze zijn binnen 10 minuten hier",
        "hij is binnengekomen met de post",
        "het laat me niet los",
        "hij heeft een mes gekocht voor de keuken",
        "mn begeleider laat me niet gaan naar het feest",
        "ik had een mes",
        "hij heeft een pistool in gta",
        "ze laten me niet weg op verlof",
        "",
        "  ",
        "🙂",
    ],
)
def test_everyday_words_ask_nothing(matcher, text):
    assert matcher.ask(text) is None


def test_an_ask_phrase_needs_a_known_category(matcher):
    with pytest.raises(ValueError, match="category"):
        CrisisMatcher(matcher.nlp, {"ask": ["boos: laat me niet gaan"]})
    with pytest.raises(ValueError, match="category"):
        CrisisMatcher(matcher.nlp, {"ask": ["laat me niet gaan"]})


# Twenty-ninth pass: spoken "nie" for "niet" in every line but the negations.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("k wil nie meer leven", "suicide"),
        ("zie het echt nie meer zitten", "suicide"),
        ("als ik er nie meer ben is het rustig", "suicide"),
        ("k durf nie naar huis, hij wacht daar", "threatened"),
        ("voel me nie veilig thuis", "threatened"),
    ],
)
def test_spoken_nie_is_read_as_niet(matcher, text, category):
    assert category in {h.category for h in matcher.find(text, remember=False)}


@pytest.mark.parametrize(
    "text",
    ["ik wil nie meer roken", "k wil nie meer naar die dagbesteding", "nie in gevaar hoor"],
)
def test_spoken_nie_leaves_everyday_messages_alone(matcher, text):
    assert matcher.find(text, remember=False) == []


def test_spoken_nie_is_no_negation(matcher):
    # "nie" stays out of the negations (twenty-eighth pass): the hit keeps its help.
    assert matcher.find("ik wil nie dood", remember=False)
    assert matcher.find("ik wil niet dood", remember=False) == []


def test_spoken_adds_nie_beside_niet_only():
    from bot.safety.matcher import spoken

    assert spoken("wil niet? meer leven") == "wil niet|nie? meer leven"
    assert spoken("/^niet$/ zo|niet") == "/^niet$/ zo|niet|nie"
    assert spoken("ik wil dood") == "ik wil dood"


# Twenty-ninth pass: short reports of control, money taken, someone else's opioid, going to
# get someone (they ask), and the word list's new hits and idioms.
@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik mag hier niet weg van haar", "abuse"),
        ("ik mag van hem nooit met mn zus bellen", "abuse"),
        ("mijn vriendin pakt elke week mijn loon af", "abuse"),
        ("die dealer heeft mijn bankpas", "abuse"),
        ("ik ga die gast vanavond pakken", "danger_to_others"),
        ("oxazepam van mijn huisgenoot geslikt", "overdose"),
    ],
)
def test_new_ask_phrases_are_found(matcher, text, category):
    assert matcher.ask(text).category == category


@pytest.mark.parametrize(
    "text",
    [
        "de bewindvoerder heeft mijn pinpas",
        "mijn bewindvoerder houdt mn geld bij",
        "ik mag van haar niet roken binnen",
        "ik ga de bus pakken",
        "medicatie opgehaald bij de apotheek",
        "mijn pillen van de apotheek ingenomen",
    ],
)
def test_new_ask_phrases_leave_everyday_messages_alone(matcher, text):
    assert matcher.ask(text) is None


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("die gast gaat nog boeten", True),
        ("hij gaat vandaag bloeden", True),
        ("die wond gaat weer bloeden", False),
        ("mn neus gaat vaak bloeden", False),
        ("ik versloeg hem met schaken", False),
        ("ik ga hem afmaken met fifa", False),
        ("hij sloeg me bij het voetbal", True),
        ("hij sloeg me met een stoel", True),
    ],
)
def test_new_hits_and_game_idioms(matcher, text, hit):
    assert bool(matcher.find(text, remember=False)) is hit


def test_k_alone_is_ik():
    assert normalise("k sta bij zn deur") == "ik sta bij zn deur"
    assert normalise("'k ga") == "ik ga"
    assert normalise("500 k") == "500 k"


# The second reader's review of the twenty-ninth pass.
@pytest.mark.parametrize(
    ("text", "hit", "asked"),
    [
        ("hij sloeg me bij het kaarten", True, None),
        ("mn vader sloeg me in het spel", True, None),
        ("mn neus, hij gaat weer bloeden", False, None),
        ("de man zal boeten voor zijn daden zei de rechter", False, None),
        ("die k jongen gaat vandaag bloeden", True, None),
        ("mn ex gaat bloeden", True, None),
        ("k sta bij zn deur met een mes", True, None),
        ("hij zit op de bank hij heeft een mes", False, "threatened"),
        ("ik zat op de bank en hij pakte mn pinpas", False, "abuse"),
        ("hij heeft al mn geld afgepakt", False, "abuse"),
        ("ik mag nie van hem met jullie praten", False, "abuse"),
        ("die gast ga ik pakken", False, "danger_to_others"),
        ("methadon van mn maat gedronken", False, "overdose"),
        ("de pinautomaat heeft mijn pinpas ingeslikt", False, None),
        ("ik nam mijn geld mee naar de stad", False, None),
        ("ik mag van hun niet buiten roken", False, None),
        ("ik ga mn vriend een biertje pakken", False, None),
        # A second review of the fixed lines.
        ("hij laat me niet gaan, mag nie roken", False, "threatened"),
        ("ik mag van hem niet bellen en niet roken", False, "abuse"),
        ("op de bank pakt hij altijd mn pinpas", False, "abuse"),
        ("hij neemt elke keer mn geld mee", False, "abuse"),
        ("ik mag van hem niet na 10 uur weg", False, "abuse"),
        ("hij pakte mn pas", False, "abuse"),
        # "me" is "mijn" in phone Dutch, so "me pas" keeps asking: a check on "only just" is
        # the accepted cost (a held-out crisis lost its ask phrase without it).
        ("hij heeft me pas gisteren gebeld", False, "abuse"),
        ("mn neus hij gaat nog bloeden", False, None),
        ("de wond hij gaat straks bloeden", False, None),
        ("m'n k ex gaat bloeden", True, None),
        ("ik sta bij hem voor de deur met een mes", True, None),
        ("ik sta voor zn huis met een mes", True, None),
        ("benzo's van mn vriend geslikt", False, "overdose"),
        ("omdat ik niet meer wil leven", True, None),
        ("ik zei dat k nie meer wil leven", True, None),
        ("de bank heeft mn pinpas geblokkeerd", False, None),
    ],
)
def test_second_reading_of_the_twenty_ninth_pass(matcher, text, hit, asked):
    assert bool(matcher.find(text, remember=False)) is hit
    found = matcher.ask(text)
    assert (found.category if found else None) == asked


# Thirty-seventh pass: plain words of a present danger that got nothing on the development
# sets (a killing of oneself with "te" or the verb first, a burn held on purpose, a large
# amount of an opioid; they help at once) and injuries, blood, food withheld and someone back
# at the door (they ask), with a second reader's review of every line.
@pytest.mark.parametrize(
    ("text", "hit", "asked"),
    [
        ("ik heb gedachtes om mezelf te doden", True, None),
        ("ik dood mezelf vanavond", True, None),
        ("dan dood ik mezelf", True, None),
        ("ik vermoord mezelf", True, None),
        ("ik ga mezelf om het leven brengen", True, None),
        ("ik heb mn arm tegen de kookplaat gedrukt", True, None),
        ("aansteker tegen mn arm gehouden", True, None),
        ("ik hou mn hand in de vlam", True, None),
        ("sigaretten uitgedrukt op mn arm", True, None),
        ("mn hand op het fornuis gelegd tot het brandde", True, None),
        ("ik heb zo veel oxa geslikt", True, None),
        ("mega veel methadon opgemaakt", True, None),
        ("ik krijg zo veel oxa op recept", False, None),
        ("mn handen op de kachel gehouden tot ze warm waren", False, None),
        ("zoveel tramadol genomen", True, None),
        ("ik heb veel tramadol genomen", False, "overdose"),
        ("ik hoest bloed", False, "overdose"),
        ("bloed opgehoest na die pillen", False, "overdose"),
        ("het stopt niet met bloeden", False, "self_harm"),
        ("mn arm blijft maar bloeden", False, "self_harm"),
        ("de wond gaat nie meer dicht", False, "self_harm"),
        ("het bloedt heel erg", False, "self_harm"),
        ("ik krijg geen eten als ik niet luister", False, "abuse"),
        ("als ik niet luister mag ik niet eten", False, "abuse"),
        ("mn ex staat alweer beneden", False, "threatened"),
        # The reviewer's everyday messages: nothing, or no more than before.
        ("na zijn dood mezelf de schuld gegeven", False, None),
        ("ik schaam me dood mezelf zo te zien", False, None),
        ("per ongeluk mn hand op de kookplaat gelegd auw", False, None),
        ("handen boven het vuur gehouden want ijskoud", False, None),
        ("mn vinger in de kaars gehouden voor de grap", False, None),
        ("ik bloed heel veel als ik ongesteld ben", False, None),
        ("ik kan nie slapen als ik nie luister naar muziek", False, None),
        ("mn fiets die staat weer beneden", False, None),
        ("ze staan weer bij de ingang te roken", False, None),
        ("mn neus hij gaat weer bloeden", False, None),
        ("ik werk mezelf dood voor die baas", False, None),
        ("ik lach mezelf dood om die video", False, None),
        ("ik werk mezelf dood en ik wil mezelf doden", True, None),
    ],
)
def test_plain_words_of_a_present_danger(matcher, text, hit, asked):
    hits = matcher.find(text, remember=False)
    assert bool(hits) is hit
    # An ask phrase counts only where the word list has no hit (CrisisGuard.evidence).
    found = None if hits else matcher.ask(text)
    assert (found.category if found else None) == asked
