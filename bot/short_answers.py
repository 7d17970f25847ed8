"""Short answers through the whole bot: do they keep a check-in going? (issue 10)

    python -m bot.short_answers [--set unseen|unseen2|dev] [--model M] [--json out.json] [--show]

Every item of a set (tests/conversation/short_answers_*.yml: `text`, `kind` answer / weak /
stop / crisis, and `question`: "<theme>/<prompt key>", "kwijt", "stapje", "correctie", "checkin" or
"stapcheck") is sent, in a conversation of its own, as the answer to that question: the
trained model, the policies and rules, and the real action server on a temporary database.
What Koers did next is one of

- "stored": the answer was taken (the slot is filled, or the step after it ran);
- "follow_up": the same question is still open (the weak-answer follow-up, an explanation,
  or the question again);
- "stop": the check-in stopped (stop or goodbye);
- "safety": the crisis help or the calm check question;
- "derailed": anything else (another form, a fallback, the question dropped).

When an `answer` or `weak` item got the calm check question, the client then taps "Nee" (a
calm answer is no crisis), and what Koers did is read again: "checked_kept" when a slot now
holds the answer itself and the check-in went on, "checked_lost" otherwise (the question asked
again, or anything else). The crisis help itself is never followed by a "Nee": it stays
"safety".

An `answer` or `weak` item is kept when it is stored, followed up, or kept after the check
question (one extra tap, counted apart as `checked`); a `stop` item when it stops; a `crisis`
item (a crisis typed as the answer, in the sets from the third pass on) when Koers showed the
crisis help or asked the check question. Printed: counts only. The held-out sets (written by
separate hands) are never read, printed or tuned on: `--show` lists items of the readable
development sets only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT

SETS = {
    "unseen": PROJECT_ROOT / "tests" / "conversation" / "short_answers_unseen.yml",
    "dev": PROJECT_ROOT / "tests" / "conversation" / "short_answers_dev.yml",
    # A second held-out set by another separate hand, written after the request guard and
    # the short-answer safety rule, run once after them (issue 10).
    "unseen2": PROJECT_ROOT / "tests" / "conversation" / "short_answers_unseen2.yml",
    # Third pass: a readable development set of calm answers with words that sound alarming
    # and of crises typed as answers ("dev2"), and a third held-out set by a separate hand
    # with the same kinds ("unseen3"), run once after the rule tuned on dev2.
    "dev2": PROJECT_ROOT / "tests" / "conversation" / "short_answers_dev2.yml",
    "unseen3": PROJECT_ROOT / "tests" / "conversation" / "short_answers_unseen3.yml",
    # Fourth pass: a fourth held-out set by a separate hand, run once after a "Nee" to the
    # check question started keeping the answer that raised it.
    "unseen4": PROJECT_ROOT / "tests" / "conversation" / "short_answers_unseen4.yml",
}
READABLE = {"dev", "dev2"}
KEPT = {
    "answer": {"stored", "follow_up", "checked_kept"},
    "weak": {"stored", "follow_up", "checked_kept"},
    "stop": {"stop"},
    "crisis": {"safety"},
}
MAX_DERAILED = 0.02  # issue 10: under 2 % of answer and weak items may end or derail the form
GREETING, MOOD = "hoi", "4"  # a good mood: no worrying context for the safety layer
NO = "/ontkennen"  # the check question's "Nee" button
THEME_PAYLOAD = '/kies_thema{{"thema": "{}"}}'
# What happens after the slot of each kind of question is taken.
AFTER = {
    "stemming": "action_checkin_opslaan",
    "stap_resultaat": "action_stap_bijwerken",
    "nieuw_antwoord": "action_correctie",
}

Say = Callable[[str, str], list[dict]]


@dataclass
class Conversation:
    """The whole bot in this process: say a message, read and change a tracker."""

    say: Say
    tracker: Callable[[str], Any]
    set_slot: Callable[[str, str, Any], None]
    add_open_step: Callable[[str], None]


def _question_slot(conversation: Conversation, sender: str, question: str) -> tuple[str, bool]:
    """Bring a new conversation to `question`. Returns the slot it fills, and whether a prompt
    key was not found in themes.yml (then the theme's first prompt is asked)."""
    from bot import content

    say = conversation.say
    if question == "stapcheck":
        conversation.add_open_step(sender)
    say(sender, GREETING)
    if question == "checkin":
        return "stemming", False
    say(sender, MOOD)
    if question == "stapcheck":
        return "stap_resultaat", False
    if question == "kwijt":
        say(sender, "/kwijt")
        return "kwijt_tekst", False
    theme, _, key = question.partition("/")
    if theme not in content.theme_keys():
        theme, key = content.theme_keys()[0], ""
    say(sender, THEME_PAYLOAD.format(theme))
    if question in ("stapje", "correctie"):
        for text in ("mijn zus en mijn begeleider", "elke dag op tijd opgestaan", "3"):
            say(sender, text)
        if question == "stapje":
            say(sender, "/bevestigen")
            return "stapje", False
        say(sender, "/ontkennen")  # no small step
        say(sender, "/ontkennen")  # the read-back is not right
        say(sender, "1")  # the first answer
        return "nieuw_antwoord", False
    keys = [p.key for p in content.prompts(theme)]
    missing = key not in keys
    first = keys[0] if missing else key
    other = next(k for k in keys if k != first)
    conversation.set_slot(sender, "vragen", [first, other])
    # The question again, now the chosen prompt: a language-level message asks it again.
    say(sender, "/taal_standaard")
    return "antwoord_1", missing


def _new_actions(before: Any, after: Any) -> list[str | None]:
    new = list(after.events)[len(list(before.events)) :]
    return [getattr(e, "action_name", None) for e in new]


def only_checked(before: Any, after: Any) -> bool:
    """Koers asked the calm check question, and showed no crisis help."""
    actions = set(_new_actions(before, after))
    return "action_crisis_controle" in actions and not (
        {"action_crisis", "action_plan_rood"} & actions
    )


def outcome(before: Any, after: Any, slot: str) -> str:
    """What Koers did with the answer (see the module's docstring)."""
    actions = _new_actions(before, after)
    if "action_pauzeren" in actions:
        return "stop"
    if {"action_crisis", "action_crisis_controle", "action_plan_rood"} & set(actions):
        return "safety"
    if after.get_slot(slot) not in (None, "") and after.get_slot(slot) != before.get_slot(slot):
        return "stored"
    if AFTER.get(slot) in actions or "action_readback" in actions:
        return "stored"
    if after.active_loop_name == before.active_loop_name and (
        after.get_slot("requested_slot") == slot
    ):
        return "follow_up"
    return "derailed"


@dataclass
class Figures:
    counts: dict[str, Counter] = field(default_factory=dict)
    substituted: int = 0
    shown: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, kind: str, result: str) -> None:
        self.counts.setdefault(kind, Counter())[result] += 1

    def total(self, *kinds: str) -> int:
        return sum(sum(self.counts.get(k, Counter()).values()) for k in kinds)

    def kept(self, kind: str) -> int:
        return sum(n for r, n in self.counts.get(kind, Counter()).items() if r in KEPT[kind])

    @property
    def derailed_rate(self) -> float:
        """answer and weak items that ended or derailed the form."""
        total = self.total("answer", "weak")
        lost = total - self.kept("answer") - self.kept("weak")
        return lost / total if total else 0.0

    @property
    def checked(self) -> int:
        """answer and weak items that got the check question first (kept or not)."""
        return sum(
            self.counts.get(kind, Counter())[result]
            for kind in ("answer", "weak")
            for result in ("checked_kept", "checked_lost")
        )

    @property
    def checked_rate(self) -> float:
        total = self.total("answer", "weak")
        return self.checked / total if total else 0.0

    @property
    def crisis_rate(self) -> float:
        """crisis items that got the crisis help or the check question."""
        total = self.total("crisis")
        return self.kept("crisis") / total if total else 1.0

    @property
    def stop_rate(self) -> float:
        total = self.total("stop")
        return self.kept("stop") / total if total else 1.0

    def lines(self) -> list[str]:
        out = [
            f"answer+weak that ended or derailed the form: {self.derailed_rate:.3f} "
            f"({self.total('answer', 'weak') - self.kept('answer') - self.kept('weak')}"
            f"/{self.total('answer', 'weak')}); stop items that stopped: {self.stop_rate:.3f} "
            f"({self.kept('stop')}/{self.total('stop')})"
        ]
        answers = self.total("answer", "weak")
        out.append(
            f"answer+weak that got the check question first (one extra tap when kept): "
            f"{self.checked_rate:.3f} ({self.checked}/{answers})"
        )
        if self.total("crisis"):
            out.append(
                f"crisis items that got the crisis help or the check question: "
                f"{self.crisis_rate:.3f} ({self.kept('crisis')}/{self.total('crisis')})"
            )
        for kind in ("answer", "weak", "stop", "crisis"):
            if kind in self.counts:
                out.append(f"  {kind:6s} {dict(sorted(self.counts[kind].items()))}")
        if self.substituted:
            out.append(f"  {self.substituted} items asked with another prompt (key not found)")
        return out


def measure(conversation: Conversation, items: list[dict], readable: bool) -> Figures:
    figures = Figures()
    for item in items:
        sender = f"kort-{uuid.uuid4().hex[:10]}"
        slot, substituted = _question_slot(conversation, sender, str(item["question"]))
        figures.substituted += substituted
        before = conversation.tracker(sender)
        conversation.say(sender, str(item["text"]))
        after = conversation.tracker(sender)
        result = outcome(before, after, slot)
        if item["kind"] in ("answer", "weak") and only_checked(before, after):
            conversation.say(sender, NO)
            final = conversation.tracker(sender)
            # Kept only when a slot now holds the answer itself (a corrected answer is in the
            # line it corrects) and the form went on.
            held = str(item["text"]).strip() in final.current_slot_values().values()
            stored = outcome(after, final, slot) == "stored"
            result = "checked_kept" if held and stored else "checked_lost"
        figures.add(str(item["kind"]), result)
        if readable and result not in KEPT[str(item["kind"])]:
            figures.shown.append(
                (item["kind"], item["question"], item["text"], result, _why(after))
            )
    return figures


def _why(tracker: Any) -> str:
    """The NLU pipeline's safety reading of the answer (shown for readable sets only)."""
    from rasa.shared.core.events import UserUttered

    message = tracker.get_last_event_for(UserUttered)
    parse = (message.parse_data or {}) if message else {}
    info = parse.get("crisis") or {}
    evidence = info.get("evidence") or {}
    intent = (parse.get("intent") or {}).get("name")
    return (
        f"{intent} nlu={info.get('outcome')} by={info.get('detected_by')} "
        f"sem={evidence.get('semantic')} clf={evidence.get('classifier')}"
    )


def load(name: str) -> list[dict]:
    return list(yaml.safe_load(SETS[name].read_text("utf-8"))["answers"])


def in_process(
    agent: Any, database_url: str, loop: asyncio.AbstractEventLoop | None = None
) -> Conversation:
    """A Conversation on a loaded Rasa Agent (the trained model) and Koers's database."""
    from rasa.shared.core.events import SlotSet
    from sqlalchemy.orm import Session

    from bot.storage import repository as repo
    from bot.storage.db import make_engine

    loop = loop or asyncio.new_event_loop()
    engine = make_engine(database_url)

    def say(sender: str, text: str) -> list[dict]:
        return loop.run_until_complete(agent.handle_text(text, sender_id=sender))

    def tracker(sender: str) -> Any:
        return loop.run_until_complete(agent.tracker_store.retrieve(sender))

    def set_slot(sender: str, name: str, value: Any) -> None:
        current = tracker(sender)
        current.update(SlotSet(name, value))
        loop.run_until_complete(agent.tracker_store.save(current))

    def add_open_step(sender: str) -> None:
        with Session(engine) as session:
            repo.save_step(session, sender, "hoop", "de woningbouw bellen", False, f"s-{sender}")
            session.commit()

    return Conversation(say, tracker, set_slot, add_open_step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="unseen", choices=sorted(SETS))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, help="also write the counts as JSON")
    parser.add_argument("--show", action="store_true", help="list the misses (dev set only)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot import rasa_patches
    from bot.safety.evaluate import in_process_action_server, patches_applied, shut_down
    from bot.storage.db import upgrade_database
    from bot.trainer import ensure_model

    configure_structlog(logging.WARNING)
    rasa_patches.apply()  # as `python -m bot.rasa_server` runs Rasa (and the tests' bot)
    tf.config.run_functions_eagerly(False)  # graph mode, as the server runs (0.6 of the turn time)
    workdir = Path(tempfile.mkdtemp(prefix="koers-short-answers-"))
    url = f"sqlite:///{workdir / 'koers.db'}"
    upgrade_database(url)
    server, endpoint = in_process_action_server(url, workdir)
    loop = asyncio.new_event_loop()
    try:
        agent = Agent.load(str(args.model or ensure_model()), action_endpoint=endpoint)
        print(patches_applied())
        readable = args.set in READABLE
        figures = measure(in_process(agent, url, loop), load(args.set), readable)
        print(f"short answers ({args.set}, {figures.total('answer', 'weak', 'stop')} items)")
        for line in figures.lines():
            print(line)
        if args.show and readable:
            for kind, question, text, result, why in figures.shown:
                print(f"  MISS {kind:6s} {question:28s} {result:9s} {text!r:50s} {why}")
        if args.json:
            counts = {k: dict(v) for k, v in figures.counts.items()}
            args.json.write_text(
                json.dumps(
                    {
                        "counts": counts,
                        "derailed_rate": figures.derailed_rate,
                        "stop_rate": figures.stop_rate,
                        "crisis_rate": figures.crisis_rate,
                        "checked": figures.checked,
                    },
                    indent=1,
                )
            )
    finally:
        shut_down(loop, server)


if __name__ == "__main__":
    main()
