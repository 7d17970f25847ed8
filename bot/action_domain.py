"""The domain in action calls, sent once per action server instead of at every call (issue 13).

Rasa sends its whole domain (about 55 KB of JSON, most of it the responses) with every call
to the action server, and Koers' actions read it (responses, forms, session config). With
the `domain_digest` patch (bot/rasa_patches.py) Rasa sends only the domain's digest,
`DIGEST_KEY`: the SHA-256 of its canonical JSON. The action server (bot/action_server.py)
keeps the domains it has received in full, by digest (`DomainStore`), and puts the one a
call names back into the call before rasa-sdk runs the action: the action gets the same
dict as if the domain had been sent. A digest it does not know (the action server
restarted, another Rasa instance or model, another worker process) is answered with HTTP
`UNKNOWN_STATUS` and `UNKNOWN_ERROR`; Rasa then makes the same call once more with the whole
domain and its digest, and the action server keeps it from then on.

Calls without a digest (Rasa without the patch) are left exactly as they are. A received
domain is kept only when its digest matches its content, so a wrong digest can never put
another domain into an action call; it only costs the resend.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

DIGEST_KEY = "koers_domain_digest"
UNKNOWN_STATUS = 409
UNKNOWN_ERROR = "koers_unknown_domain"
KEPT_DOMAINS = 16  # per action-server process: models and Rasa versions in use at once


def canonical_json(domain: dict[str, Any]) -> str:
    """The JSON both sides digest: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(domain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest_of(domain: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(domain).encode("utf-8")).hexdigest()


class DomainStore:
    """The domains an action server has received, by digest (most recently used kept)."""

    def __init__(self, size: int = KEPT_DOMAINS) -> None:
        self._size = size
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, digest: str) -> bool:
        return digest in self._texts

    def remember(self, digest: str, domain: Any) -> bool:
        """Keep `domain` under `digest` if that is its digest. True when kept."""
        if not isinstance(domain, dict):
            return False
        text = canonical_json(domain)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            return False
        with self._lock:
            self._texts[digest] = text
            self._texts.move_to_end(digest)
            while len(self._texts) > self._size:
                self._texts.popitem(last=False)
        return True

    def complete(self, call: Any) -> bool:
        """Put the domain into an action call that names it only by its digest.

        False when the call names a domain this store does not know; True otherwise (the
        call carried no digest, carried the domain itself, or now has it). Every action
        call gets its own freshly parsed dict, as when the domain came with the call.
        """
        if not isinstance(call, dict) or DIGEST_KEY not in call:
            return True
        digest = call.pop(DIGEST_KEY)
        if "domain" in call:
            if isinstance(digest, str) and digest not in self:
                self.remember(digest, call["domain"])
            return True
        with self._lock:
            text = self._texts.get(digest) if isinstance(digest, str) else None
            if text is not None:
                self._texts.move_to_end(digest)
        if text is None:
            return False
        call["domain"] = json.loads(text)
        return True


def unknown_domain_answer(digest: Any) -> dict[str, Any]:
    return {"error": UNKNOWN_ERROR, DIGEST_KEY: digest}


def is_unknown_domain_answer(status: int, body: Any) -> bool:
    """True for the action server's "send the whole domain" answer (Rasa's side)."""
    if status != UNKNOWN_STATUS:
        return False
    if isinstance(body, bytes | bytearray):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    return isinstance(body, dict) and body.get("error") == UNKNOWN_ERROR
