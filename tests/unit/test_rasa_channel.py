"""Koers' REST channel (bot/rasa_channel.py, credentials.yml) in a real Sanic server: Rasa's
own channel, plus the token check when KOERS_ALLOW_PRIVATE_BACKENDS lets Rasa listen on a
private network. The agent behind it is a stand-in that echoes the message (what is tested
is who gets through to it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests
import yaml

from bot.rasa_channel import KoersRestInput, required_token
from bot.services import RASA_TOKEN_HEADER
from bot.settings import PROJECT_ROOT

TOKEN = "channel-test-token-0123456789abcdefghijkl"
SERVER = """
import sys
from types import SimpleNamespace
from sanic import Sanic
from rasa.core.channels.channel import register
from bot.rasa_channel import KoersRestInput

class EchoAgent:
    async def handle_message(self, message):
        await message.output_channel.send_text_message(message.sender_id, "echo " + message.text)

app = Sanic("koers_channel_test")
app.ctx.agent = EchoAgent()
register([KoersRestInput.from_credentials(None)], app, route="/webhooks/")
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False, motd=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(private_backends: bool) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "KOERS_ALLOW_PRIVATE_BACKENDS": "true" if private_backends else "false",
        "KOERS_RASA_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/webhooks/rest"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(base + "/", timeout=2)
                break
            except requests.ConnectionError as error:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = proc.stderr.read()[-2000:] if proc.stderr else ""
                    raise RuntimeError("the channel did not start: " + log) from error
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    yield from serve(private_backends=True)


def send(base: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        base + "/webhook", json={"sender": "s1", "message": "hoi"}, headers=headers, timeout=10
    )


def test_with_private_backends_only_the_token_gets_through(guarded) -> None:
    assert send(guarded).status_code == 403
    assert send(guarded, {RASA_TOKEN_HEADER: "fout"}).status_code == 403
    assert send(guarded, {RASA_TOKEN_HEADER: TOKEN[:-1]}).status_code == 403
    answer = send(guarded, {RASA_TOKEN_HEADER: TOKEN})
    assert answer.status_code == 200
    assert answer.json() == [{"recipient_id": "s1", "text": "echo hoi"}]
    # The channel's health check holds no data and stays open.
    assert requests.get(guarded + "/", timeout=10).status_code == 200


def test_on_loopback_the_channel_is_rasas_own() -> None:
    for base in serve(private_backends=False):
        answer = send(base)
        assert answer.status_code == 200
        assert answer.json() == [{"recipient_id": "s1", "text": "echo hoi"}]


def test_private_backends_without_a_token_do_not_start() -> None:
    assert required_token({}) is None
    assert required_token({"KOERS_RASA_TOKEN": TOKEN}) is None
    assert required_token({"KOERS_ALLOW_PRIVATE_BACKENDS": "true", "KOERS_RASA_TOKEN": TOKEN})
    with pytest.raises(SystemExit, match="KOERS_RASA_TOKEN"):
        required_token({"KOERS_ALLOW_PRIVATE_BACKENDS": "true"})


def test_credentials_use_koers_channel_under_rasas_url() -> None:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    assert list(credentials) == ["bot.rasa_channel.KoersRestInput"]
    assert KoersRestInput.name() == "rest"  # so the URL stays /webhooks/rest/webhook
