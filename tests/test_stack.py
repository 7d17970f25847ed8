"""The stack as `make run` starts it: `rasa run` with endpoints.yml (SQL tracker store) and
the action server, both on 127.0.0.1, talked to over the REST channel like `make chat`."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
import requests

from bot.serve import start_stack, stop
from bot.settings import get_settings

pytestmark = pytest.mark.slow

TOKEN = "stack-test-rasa-api-token-0123456789abcdef"
PROCS: list = []  # the processes of the module's stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack(model_path: Path, database_url: str, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    settings = dataclasses.replace(
        get_settings(),
        database_url=database_url,
        rasa_port=_free_port(),
        actions_port=_free_port(),
        tracker_db=tmp / "tracker.db",
        var_dir=tmp,
        rasa_api=True,  # on here, with a token (off by default: bot/rasa_server.py)
        rasa_token=TOKEN,
    )
    procs = start_stack(settings, model_path, tmp / "log")
    PROCS[:] = procs
    yield settings
    stop(procs)


def say(settings, sender: str, text: str) -> list[dict]:
    reply = requests.post(
        f"{settings.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    reply.raise_for_status()
    return reply.json()


def listening_addresses(port: int) -> set[str]:
    """Local addresses that listen on `port`, read from the kernel's socket tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_servers_listen_on_loopback_only(stack):
    loopback = {"0100007F", "00000000000000000000000001000000"}
    for port in (stack.rasa_port, stack.actions_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert addresses <= loopback, f"port {port} listens on {addresses}"


def test_a_new_client_gets_the_disclosure_and_the_check_in(stack):
    messages = say(stack, "stack-client-1", "hoi")
    text = "\n".join(m.get("text", "") for m in messages)
    assert "computerprogramma" in text and "Hoe gaat het vandaag?" in text
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["1", "2", "3", "4", "5"]
    reply = "\n".join(m.get("text", "") for m in say(stack, "stack-client-1", "2"))
    assert "Wat naar" in reply


def test_conversation_survives_in_the_sql_tracker_store(stack):
    say(stack, "stack-client-2", "hoi")
    assert Path(stack.tracker_db).exists()
    url = f"{stack.rasa_url}/conversations/stack-client-2/tracker"
    tracker = requests.get(url, params={"token": TOKEN}, timeout=30)
    assert tracker.ok and tracker.json()["active_loop"]["name"] == "checkin_form"


def test_the_api_needs_its_token_which_is_on_no_command_line(stack):
    """Finding 2: with KOERS_RASA_API=true the API asks for the token, and the token (like
    the action server's secret) is nowhere on a command line, which every local user sees."""
    url = f"{stack.rasa_url}/conversations/stack-client-1/tracker"
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, params={"token": "wrong"}, timeout=30).status_code == 401
    from bot.services import actions_secret

    assert PROCS
    for proc in PROCS:
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert TOKEN not in cmdline and actions_secret(stack) not in cmdline
        assert "--enable-api" not in cmdline and "--auth-token" not in cmdline


def test_the_action_server_answers_only_rasa(stack):
    """Finding 2: another local process cannot run actions or choose a sender_id."""
    call = {"next_action": "action_welkom", "sender_id": "iemand-anders", "tracker": {}}
    base = f"http://{stack.actions_host}:{stack.actions_port}"
    assert requests.post(f"{base}/webhook", json=call, timeout=10).status_code == 403
    headers = {"X-Koers-Actions-Secret": "geraden"}
    assert (
        requests.post(f"{base}/webhook", json=call, headers=headers, timeout=10).status_code == 403
    )
    assert requests.get(f"{base}/actions", timeout=10).status_code == 403
    assert requests.get(f"{base}/health", timeout=10).ok
