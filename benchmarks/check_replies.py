"""Typed replies to the check question, read by the trained model and the check's answer
reading: how many would get the crisis help, go back to the conversation, or be asked again.

    python benchmarks/check_replies.py SET.yml [--model M] [--code-from REV]

Issue 15, twenty-third pass. Each reply of SET (`replies:` with `text` and `expected`: `help`,
`back` or `again`) is parsed by the trained model in-process (intent and crisis evidence, as
Rasa gives them to the action server) and read as the answer to an open check question by
`actions.safety.read_check_answer`, as `action_crisis_controle_antwoord` does: "ja" and "weet
ik niet" are the crisis help, "nee" goes back, unclear asks once more; "stop" or "doei"
(`LEAVING_INTENTS`) instead of an answer is the crisis help. `--code-from REV` reads the
replies with `actions/safety.py` as it was at git revision REV (before this pass: no leaving
rule). Prints counts only, never a reply: the sets are held out. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import types
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa_server import one_thread_per_library

one_thread_per_library(os.environ)

OUTCOMES = ("help", "back", "again")


def _reader(rev: str | None):
    """read_check_answer and the leaving intents, now or at revision `rev`."""
    import actions.safety
    from actions.actions import LEAVING_INTENTS

    if rev is None:
        return actions.safety.read_check_answer, LEAVING_INTENTS
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "show", f"{rev}:actions/safety.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("actions.safety_at_rev")
    module.__dict__["__package__"] = "actions"
    exec(compile(source, f"{rev}:actions/safety.py", "exec"), module.__dict__)
    return module.read_check_answer, frozenset()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", type=Path)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--code-from", dest="rev")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import yaml
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog
    from rasa_sdk import Tracker

    configure_structlog(logging.WARNING)
    from bot.safety.evaluate import newest_model

    read, leaving = _reader(args.rev)
    replies = yaml.safe_load(args.set.read_text("utf-8"))["replies"]
    agent = Agent.load(str(args.model or newest_model()))
    loop = asyncio.new_event_loop()
    table: Counter[tuple[str, str]] = Counter()
    for reply in replies:
        parsed = loop.run_until_complete(agent.parse_message(reply["text"]))
        message = {
            "text": reply["text"],
            "intent": parsed.get("intent") or {},
            "entities": parsed.get("entities") or [],
            "crisis": parsed.get("crisis") or {},
        }
        tracker = Tracker(
            sender_id="check-replies",
            slots={},
            latest_message=message,
            events=[],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )
        answer = read(tracker)
        if answer is None and message["intent"].get("name") in leaving:
            answer = "weet_niet"
        got = {"ja": "help", "weet_niet": "help", "nee": "back", None: "again"}[answer]
        table[(reply["expected"], got)] += 1
    print(f"{args.set.name}: {len(replies)} replies, code {args.rev or 'now'}")
    print("expected  " + "  ".join(f"{o:>6}" for o in OUTCOMES) + "   (read as)")
    for expected in OUTCOMES:
        row = [table[(expected, got)] for got in OUTCOMES]
        print(f"{expected:<8}  " + "  ".join(f"{n:>6}" for n in row) + f"   of {sum(row)}")
    missed = table[("help", "back")]
    helps = sum(table[("help", got)] for got in OUTCOMES)
    print(f"help read as back (the form goes on): {missed} of {helps}")


if __name__ == "__main__":
    main()
