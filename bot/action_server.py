"""Run the rasa-sdk action server with Koers' hooks installed first.

    python -m bot.action_server --actions actions --port 5055

Exactly `python -m rasa_sdk ...`, plus `actions.hooks.install()`: see that module for what
it adds around every action (the disclosure at the first successful contact, writes kept in
the outbox while the database is unavailable, the next question prepared with a form's
validation). `bot.serve` and the tests start the action server this way.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    from actions import hooks

    hooks.install()
    from rasa_sdk.__main__ import main as sdk_main

    sys.argv = ["rasa_sdk", *(sys.argv[1:] if argv is None else argv)]
    sdk_main()


if __name__ == "__main__":
    main()
