"""Koers command line.

koers chat [--client ID]    talk to a running Koers in the terminal (`make chat`)
"""

from __future__ import annotations

import argparse
import getpass
import sys

import requests

from bot.services import RASA_TOKEN_HEADER
from bot.settings import get_settings

ERROR_TEXT = "Koers is nu even niet bereikbaar. Je bericht is niet weg. Probeer het zo nog eens."


def send(sender: str, text: str, timeout: float = 30) -> list[dict]:
    """Send one message to Rasa's REST channel; an empty reply counts as a failure."""
    settings = get_settings()
    url = f"{settings.rasa_url}/webhooks/rest/webhook"
    # Rasa's REST channel demands the token with KOERS_ALLOW_PRIVATE_BACKENDS (bot/rasa_channel.py).
    headers = {RASA_TOKEN_HEADER: settings.rasa_token} if settings.rasa_token else None
    response = requests.post(
        url, json={"sender": sender, "message": text}, headers=headers, timeout=timeout
    )
    response.raise_for_status()
    messages = response.json()
    if not messages:
        raise RuntimeError("empty reply from Rasa")
    return messages


def show(messages: list[dict]) -> list[dict]:
    buttons: list[dict] = []
    for message in messages:
        if message.get("text"):
            print("\nKoers: " + message["text"].replace("\n", "\n       "))
        more = (message.get("custom") or {}).get("meer_weten")
        if isinstance(more, str) and more:  # the rest of the disclosure ("Meer weten?")
            print("       Meer weten? " + more.replace("\n", "\n       "))
        for i, button in enumerate(message.get("buttons") or [], start=1):
            print(f"   [{i}] {button['title']}")
        buttons = message.get("buttons") or buttons
    return buttons


def chat(sender: str) -> int:
    print("Je praat met Koers, een computerprogramma. Stoppen: typ /quit of druk Ctrl-D.")
    buttons: list[dict] = []
    first = "hoi"
    while True:
        try:
            text = first or input("\nJij: ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        first = ""
        if text in ("/quit", "/exit"):
            return 0
        # A typed number picks a button of the last question. Only buttons send payloads:
        # other text starting with "/" is sent as plain text, never as an intent.
        if buttons and text.isdigit() and 1 <= int(text) <= len(buttons):
            payload = buttons[int(text) - 1]["payload"]
        else:
            payload = text.lstrip("/") if text.startswith("/") else text
        if not payload:
            print("Koers: Typ eerst een bericht.")
            continue
        try:
            buttons = show(send(sender, payload))
        except (requests.RequestException, RuntimeError):
            print("Koers: " + ERROR_TEXT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="koers")
    sub = parser.add_subparsers(dest="command", required=True)
    chat_p = sub.add_parser("chat", help="chat with a running Koers in the terminal")
    chat_p.add_argument(
        "--client", default=None, help="conversation id (default: one id per terminal user)"
    )
    args = parser.parse_args(argv)
    if args.command == "chat":
        sender = args.client or f"terminal-{getpass.getuser()}"
        return chat(sender)
    return 2


if __name__ == "__main__":
    sys.exit(main())
