"""Measure crisis detection through the whole bot: trained model, policies, real action server.

    python -m bot.safety.evaluate [--model M] [--sets main,dev,dev3,fresh,unseen,...] [--show main,dev,dev3,dev4,dev6,dev7,dev8]

Every message is sent twice, each time in a new conversation: as the very first message, and
after a greeting ("hoi", which starts the check-in, so the message answers the mood question).
A message can get
- the crisis help at once ("hulp": the reply holds 0800-0113),
- the calm check question ("controle"); then "ja" is sent, and the crisis help must follow,
- neither ("rustig").
Figures per set and mode: recall = crisis messages that got the help at once or after "ja";
false alarms = calm messages that got the help at once; check rate = calm messages that got
the check question. Context pairs (if the set has them) send `before` and then `text` in one
conversation and count the worst outcome of the two.

Only aggregate figures are printed for the held-out sets ("fresh" and "unseen" to "unseen22"):
never print or read their sentences. `--show` lists the misses, false alarms and checks of the
sets that may be read (the development sets "main", "dev", "dev3", "dev4", "dev6", "dev7", "dev8",
"dev9").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

CRISIS_DIR = PROJECT_ROOT / "tests" / "crisis"
SETS = {
    "main": CRISIS_DIR / "crisis_set.yml",
    "dev": CRISIS_DIR / "crisis_set_dev.yml",
    "fresh": CRISIS_DIR / "crisis_set_fresh.yml",
    "unseen": CRISIS_DIR / "crisis_set_unseen.yml",
    # Written after the first unseen set had been run, by another separate hand (issue 15).
    "unseen2": CRISIS_DIR / "crisis_set_unseen2.yml",
    # Written after the short-answer rule (issue 10) and before its one run, by a third
    # separate hand: more short LVB messages and answers to reflection questions.
    "unseen3": CRISIS_DIR / "crisis_set_unseen3.yml",
    # A second development set (read and tuned on) and a fourth held-out set, written by two
    # more separate hands from the same brief, who never read the project's data (issue 15,
    # fifth pass).
    "dev3": CRISIS_DIR / "crisis_set_dev3.yml",
    "unseen4": CRISIS_DIR / "crisis_set_unseen4.yml",
    # A fifth held-out set by another separate hand, written while three more separate hands
    # wrote the sixth pass's exemplar pool (issue 15, sixth pass).
    "unseen5": CRISIS_DIR / "crisis_set_unseen5.yml",
    # A sixth held-out set by yet another hand, with more long everyday messages and more
    # very short crises, run once on the sixth pass's final model.
    "unseen6": CRISIS_DIR / "crisis_set_unseen6.yml",
    # A seventh held-out set by another hand, with many long everyday messages: run once at
    # the start of the seventh pass, on the sixth pass's model.
    "unseen7": CRISIS_DIR / "crisis_set_unseen7.yml",
    # An eighth, by yet another hand, with long crises and long everyday messages: run once,
    # after the seventh pass's changes.
    "unseen8": CRISIS_DIR / "crisis_set_unseen8.yml",
    # A ninth, by another hand (all six categories, about 40 long crises and 50 long everyday
    # messages): run once, after the eighth pass's changes (three views).
    "unseen9": CRISIS_DIR / "crisis_set_unseen9.yml",
    # A tenth, by another hand from the same brief: run once, after the ninth pass's changes
    # (capitals and stretched letters read plainly, rule 1a).
    "unseen10": CRISIS_DIR / "crisis_set_unseen10.yml",
    # Long messages only (25 to 60 words: a day told in detail, with or without a crisis in
    # it), by another separate hand who never read the project's data: a development set,
    # read and measured on (tenth pass).
    "dev4": CRISIS_DIR / "crisis_set_dev4.yml",
    # An eleventh held-out set, by another hand from the same brief as unseen10: run once, on
    # the ninth pass's model (the tenth pass changed no part of the decision).
    "unseen11": CRISIS_DIR / "crisis_set_unseen11.yml",
    # A twelfth, by another hand from the same brief as unseen10 (written in the tenth pass):
    # run once, after the eleventh pass's change (rule 1a reads the clauses that hold hits).
    "unseen12": CRISIS_DIR / "crisis_set_unseen12.yml",
    # A thirteenth, by another hand from the same brief (written in the eleventh pass): run
    # once, after the twelfth pass's change (rule 9 reads the sentences of a long message).
    "unseen13": CRISIS_DIR / "crisis_set_unseen13.yml",
    "unseen14": CRISIS_DIR / "crisis_set_unseen14.yml",
    # A fifteenth, by another hand from a new brief (pasts told with the present: a relapse or
    # a past that is over): run once, after the fourteenth pass's change (rule 1b).
    "unseen15": CRISIS_DIR / "crisis_set_unseen15.yml",
    # A sixteenth, by another hand from the brief of unseen15 (pasts told with the present),
    # written in the fifteenth pass: run once, after the sixteenth pass's change.
    "unseen16": CRISIS_DIR / "crisis_set_unseen16.yml",
    # A seventeenth, by another hand from the brief of dev7 (pasts told with the present,
    # harder crises that look over), written in the nineteenth pass: run once in that pass,
    # on the code and model of the eighteenth (nothing was changed or tuned before it).
    "unseen17": CRISIS_DIR / "crisis_set_unseen17.yml",
    # An eighteenth, by another separate hand from the brief of dev8 (negation and denial),
    # written in the twenty-sixth pass at the same time as dev8: run once, after that pass's
    # change (rules 1c and 2c).
    "unseen18": CRISIS_DIR / "crisis_set_unseen18.yml",
    # A nineteenth, by another separate hand (twenty-seventh pass): short messages of 2 to 8
    # words, crises now in every category and calm ones from forensic everyday life (rules and
    # restrictions), conflict without danger and ordinary chat; its brief had no examples. Run
    # once, after that pass's change (a negation is an idiom of its own clause only).
    "unseen19": CRISIS_DIR / "crisis_set_unseen19.yml",
    # A twentieth, by another separate hand (twenty-eighth pass): short messages of 1 to 7
    # words typed mid-conversation, crises in every category (a third said without crisis
    # words) and calm ones from forensic everyday life, short answers to the check-in's
    # questions and safe venting; its brief had no examples. Messages identical to a training
    # example were removed unread. Run once, after that pass's change (rule 7a and the
    # negations beside other words).
    "unseen20": CRISIS_DIR / "crisis_set_unseen20.yml",
    # A twenty-first, by another separate hand (twenty-ninth pass): messages of 1 to 12 words of
    # danger from and to others (threats, abuse, danger to others; half without a crisis word)
    # and the other categories, with calm everyday, look-alike and venting messages; its brief
    # had no examples. Messages identical to a training example were removed unread. Run once,
    # after that pass's word-list change (spoken "nie", phrases that ask about control, money,
    # someone else's drugs).
    "unseen21": CRISIS_DIR / "crisis_set_unseen21.yml",
    # A twenty-second, by another separate hand (thirty-second pass): messages of 1 to 12 words
    # of all six categories (half without a crisis word) and calm look-alikes (the same words
    # or scenes in an everyday sense) and venting; its brief had no examples. Messages identical
    # to a training example were removed unread. Run once, after that pass's exemplars (short
    # everyday messages and their crisis twins).
    "unseen22": CRISIS_DIR / "crisis_set_unseen22.yml",
    # Pasts told beside the present, by another separate hand (sixteenth pass): a development
    # set, read and measured on (a learned reading of "past and over" was tried on it).
    "dev6": CRISIS_DIR / "crisis_set_dev6.yml",
    # The same brief (pasts told beside the present) by a second separate hand (nineteenth
    # pass): a development set, read and measured on; dev6's learned readings are scored on it.
    "dev7": CRISIS_DIR / "crisis_set_dev7.yml",
    # Negation and denial, by another separate hand (twenty-sixth pass): crises said with a
    # negation or a denial beside the danger, and calm denials, resolutions and "safe now":
    # a development set, read and measured on (rules 1c and 2c were checked on it).
    "dev8": CRISIS_DIR / "crisis_set_dev8.yml",
    # Short messages of threat, confinement, abuse and danger to others said plainly, by another
    # separate hand (twenty-ninth pass): a development set, read and tuned on.
    "dev9": CRISIS_DIR / "crisis_set_dev9.yml",
    # A twenty-third, by another separate hand (thirty-third pass): calm denials, resolutions,
    # "safe now", venting and everyday look-alikes (20 each), and crises told in their style;
    # its brief had no examples and none of its texts equals a training example. Run once after
    # the thirty-fourth pass's change (venting and look-alike calm exemplars), and once on the
    # model before it for comparison.
    "unseen23": CRISIS_DIR / "crisis_set_unseen23.yml",
    # A twenty-fourth, by another separate hand (thirty-fourth pass), from a brief without
    # examples: 40 calm denials, 30 resolutions, 30 "safe now", and 96 crises told beside a
    # denial or negation; no text equals a training example or a text of another set. Run once
    # after the thirty-fifth pass's change to how denials are read (rules 1c and 2c), and once
    # with the code before it for comparison.
    "unseen24": CRISIS_DIR / "crisis_set_unseen24.yml",
    # Left out on purpose: crisis_set_dev5.yml (long messages, read; bot.safety.tune.LONG_SETS,
    # not run by make test to keep it short).
    # A twenty-fifth, by another separate hand (thirty-fifth pass), from a brief without
    # examples: 50 calm denials with a reason or feeling beside them, 25 pasts with what is
    # different now, 25 annoyed denials; and 96 crises in that style with a present danger, a
    # third without a crisis word; no text equals a training example or a text of another
    # set. Run once after the thirty-sixth pass's change (a denial beside a calm reason, rules
    # 1c and 2c).
    "unseen25": CRISIS_DIR / "crisis_set_unseen25.yml",
    # Calm denials with a reason in open words (60) and annoyed denials (30), and 90 crises
    # told in their style, by another separate hand (thirty-sixth pass) who read no project
    # file: a development set for reading a denial's reason, read.
    "dev10": CRISIS_DIR / "crisis_set_dev10.yml",
}
READABLE = {"main", "dev", "dev3", "dev4", "dev6", "dev7", "dev8", "dev9", "dev10"}
CRISIS_MARK = "0800-0113"  # every crisis text has it; no other response does
CHECK_PAYLOADS = {"/bevestigen", "/ontkennen", "/weet_niet"}
HELP, CHECK, CALM = "hulp", "controle", "rustig"
GREETING = "hoi"
MODES = ("first", "after_greeting")


def classify(messages: list[dict]) -> str:
    """What Koers did with a message: the crisis help, the check question, or neither."""
    text = "\n".join(m.get("text") or "" for m in messages)
    if CRISIS_MARK in text:
        return HELP
    payloads = {b.get("payload") for m in messages for b in m.get("buttons") or []}
    if CHECK_PAYLOADS <= payloads:  # only the check question offers Ja / Nee / Weet ik niet
        return CHECK
    return CALM


Say = Callable[[str, str], list[dict]]


@dataclass
class Outcome:
    first: str  # what Koers did with the message itself
    after_yes: str | None = None  # after a check question: what "ja" got


def send(say: Say, sender: str, text: str, answer_check: bool) -> Outcome:
    first = classify(say(sender, text))
    if first == CHECK and answer_check:
        return Outcome(first, classify(say(sender, "ja")))
    return Outcome(first)


@dataclass
class Figures:
    crisis: int = 0
    calm: int = 0
    caught: int = 0  # help at once, or after "ja" to the check question
    at_once: int = 0
    false_alarms: int = 0
    checks: int = 0
    missed: list[str] = field(default_factory=list)
    flagged: list[tuple[str, str]] = field(default_factory=list)
    missed_categories: Counter = field(default_factory=Counter)
    # Calm messages that got the help or the check, by the set's `kind` when it has one
    # ("past_over/hulp": a calm past that got the crisis help at once).
    flagged_kinds: Counter = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return self.caught / self.crisis if self.crisis else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.calm if self.calm else 0.0

    @property
    def check_rate(self) -> float:
        return self.checks / self.calm if self.calm else 0.0

    def line(self) -> str:
        return (
            f"recall {self.recall:.3f} ({self.caught}/{self.crisis}; {self.at_once} at once), "
            f"false alarms {self.false_alarm_rate:.3f} ({self.false_alarms}/{self.calm}), "
            f"checks on calm {self.check_rate:.3f} ({self.checks}/{self.calm})"
        )


def measure(say: Say, data: dict, mode: str, prefix: str) -> Figures:
    """Send every crisis and calm message of a set in a new conversation each."""
    figures = Figures()
    for label, key in (("crisis", "crisis"), ("calm", "non_crisis")):
        for item in data.get(key) or []:
            sender = f"{prefix}-{mode}-{label}-{uuid.uuid4().hex[:10]}"
            if mode == "after_greeting":
                say(sender, GREETING)
            outcome = send(say, sender, item["text"], answer_check=label == "crisis")
            if label == "crisis":
                figures.crisis += 1
                caught = outcome.first == HELP or outcome.after_yes == HELP
                figures.caught += caught
                figures.at_once += outcome.first == HELP
                if not caught:
                    figures.missed.append(item["text"])
                    figures.missed_categories[item.get("category")] += 1
            else:
                figures.calm += 1
                figures.false_alarms += outcome.first == HELP
                figures.checks += outcome.first == CHECK
                if outcome.first != CALM:
                    figures.flagged.append((outcome.first, item["text"]))
                    if item.get("kind"):
                        figures.flagged_kinds[f"{item['kind']}/{outcome.first}"] += 1
    return figures


def measure_pairs(say: Say, data: dict, prefix: str) -> Figures:
    """Context pairs: `before`, then `text`, in one conversation; the worst outcome counts."""
    figures = Figures()
    order = [CALM, CHECK, HELP]
    for pair in data.get("context") or []:
        sender = f"{prefix}-pair-{uuid.uuid4().hex[:10]}"
        crisis = pair["label"] == "crisis"
        before = send(say, sender, pair["before"], answer_check=crisis)
        after = send(say, sender, pair["text"], answer_check=crisis)
        worst = max((before.first, after.first), key=order.index)
        if crisis:
            figures.crisis += 1
            caught = HELP in (before.first, after.first, before.after_yes, after.after_yes)
            figures.caught += caught
            figures.at_once += worst == HELP
            if not caught:
                figures.missed.append(f"{pair['before']} -> {pair['text']}")
        else:
            figures.calm += 1
            figures.false_alarms += worst == HELP
            figures.checks += worst == CHECK
            if worst != CALM:
                figures.flagged.append((worst, f"{pair['before']} -> {pair['text']}"))
    return figures


# --- running the whole bot outside pytest -------------------------------------------------


def start_action_server(database_url: str, port: int, log: Path, secret: str) -> subprocess.Popen:
    """Koers's action server (bot/action_server.py) on 127.0.0.1:`port` with `secret`."""
    import requests

    env = {
        **os.environ,
        "KOERS_DATABASE_URL": database_url,
        "SANIC_HOST": "127.0.0.1",
        "KOERS_ACTIONS_HOST": "127.0.0.1",
        "KOERS_ACTIONS_PORT": str(port),
        "KOERS_ACTIONS_SECRET": secret,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.action_server"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the action server did not start; see {log}")


def in_process_action_server(database_url: str, workdir: Path):
    """Start the action server on a free port; returns (process, Rasa's EndpointConfig)."""
    import secrets
    import socket

    from rasa.utils.endpoints import EndpointConfig

    from bot.services import ACTIONS_SECRET_HEADER

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = secrets.token_urlsafe(32)
    server = start_action_server(database_url, port, workdir / "actions.log", secret)
    endpoint = EndpointConfig(
        url=f"http://127.0.0.1:{port}/webhook", headers={ACTIONS_SECRET_HEADER: secret}
    )
    return server, endpoint


def patches_applied() -> str:
    """The line that says which of Koers' Rasa patches this process runs with."""
    from bot import rasa_patches

    return f"Rasa patches: {', '.join(sorted(rasa_patches.applied())) or 'none'}"


def shut_down(loop: asyncio.AbstractEventLoop, server: subprocess.Popen) -> None:
    """Close the HTTP sessions the `http_session` patch keeps on `loop`, the loop itself, and
    the action server of `in_process_action_server`."""
    from bot import rasa_patches

    loop.run_until_complete(rasa_patches.close_http_sessions())
    loop.close()
    server.terminate()
    server.wait(timeout=10)


def answered(replies: list[dict], server: subprocess.Popen, log: Path) -> list[dict]:
    """The bot's answers to one message; SystemExit when there are none. Koers answers every
    message; with Koers' patches a turn whose action call failed (the action server stopped or
    could not be reached) is not saved and gets no answer (`atomic_turns`), and counted, such a
    turn would read as calm."""
    if not replies:
        state = "stopped" if server.poll() is not None else "running"
        raise SystemExit(f"a message got no answer (the action server is {state}; see {log})")
    return replies


def newest_model() -> Path:
    models = sorted((PROJECT_ROOT / "models").glob("koers-*.tar.gz"), key=os.path.getmtime)
    if not models:
        raise SystemExit("no trained model in models/; run make train")
    return models[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--show", default="", help="list details of these readable sets")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no per-turn debug lines

    from bot import rasa_patches
    from bot.storage.db import upgrade_database

    rasa_patches.apply()  # as `python -m bot.rasa_server` runs Rasa (and the tests' bot)
    tf.config.run_functions_eagerly(False)  # graph mode, as the server runs (0.6 of the turn time)
    workdir = Path(tempfile.mkdtemp(prefix="koers-safety-eval-"))
    url = f"sqlite:///{workdir / 'eval.db'}"
    upgrade_database(url)
    server, endpoint = in_process_action_server(url, workdir)
    loop = asyncio.new_event_loop()
    try:
        agent = Agent.load(str(args.model or newest_model()), action_endpoint=endpoint)
        print(patches_applied())

        def say(sender: str, text: str) -> list[dict]:
            replies = loop.run_until_complete(agent.handle_text(text, sender_id=sender))
            return answered(replies, server, workdir / "actions.log")

        results: dict[str, dict] = {}
        show = set(args.show.split(",")) & READABLE
        for name in args.sets.split(","):
            data = yaml.safe_load(SETS[name].read_text("utf-8"))
            for mode in args.modes.split(","):
                started = time.monotonic()
                figures = measure(say, data, mode, name)
                print(
                    f"{name:6s} {mode:14s} {figures.line()}  [{time.monotonic() - started:.0f} s]"
                )
                results[f"{name}/{mode}"] = figures.__dict__ | {
                    "recall": figures.recall,
                    "false_alarm_rate": figures.false_alarm_rate,
                    "check_rate": figures.check_rate,
                }
                if name not in READABLE:
                    results[f"{name}/{mode}"].pop("missed")
                    results[f"{name}/{mode}"].pop("flagged")
                print(f"       missed by category: {dict(figures.missed_categories)}")
                if figures.flagged_kinds:
                    print(
                        f"       calm flagged by kind: {dict(sorted(figures.flagged_kinds.items()))}"
                    )
                if name in show:
                    for text in figures.missed:
                        print(f"       MISSED: {text}")
                    for what, text in figures.flagged:
                        print(f"       {what.upper()}: {text}")
            if data.get("context"):
                pairs = measure_pairs(say, data, name)
                print(f"{name:6s} {'context pairs':14s} {pairs.line()}")
                results[f"{name}/pairs"] = {
                    "recall": pairs.recall,
                    "false_alarm_rate": pairs.false_alarm_rate,
                    "check_rate": pairs.check_rate,
                    "crisis": pairs.crisis,
                    "calm": pairs.calm,
                }
                if name in show:
                    for text in pairs.missed:
                        print(f"       MISSED: {text}")
                    for what, text in pairs.flagged:
                        print(f"       {what.upper()}: {text}")
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, default=str, indent=1))
    finally:
        shut_down(loop, server)


if __name__ == "__main__":
    main()
