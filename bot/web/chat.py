"""The client chat: access-code login, the chat page and the relay to Rasa's REST channel.

Safety of the sender id: the server sends every message with the logged-in client's own
`chat_id`; nothing the browser sends (fields, headers) can choose it. Typed text that starts
with "/" is changed so that Rasa never reads it as an intent payload; only a payload that
Rasa itself offered as a button in its last answer is sent as a payload.

One client's messages go to Rasa one at a time (a lock per client), so they arrive in order
even from two tabs. The lock and the offered buttons live in `bot.web.shared` (in Redis when
several web processes run); with several Rasa instances each client always goes to the same
one (`bot.web.routing`).
"""

from __future__ import annotations

import hmac
import logging
import sys
import threading
from typing import Any

import requests
from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.responses import crisis_help_texts, domain_responses
from bot.services import RASA_TOKEN_HEADER
from bot.storage import accounts, devices, repository
from bot.storage.models import AccessCode, Client, utcnow
from bot.storage.outbox import FLUSH_INTERVAL, Flusher, Outbox, get_outbox
from bot.vocabulary import STANDARD
from bot.web import routing
from bot.web.common import audit, count_event, db, remote_addr, rollback_db
from bot.web.security import code_hash, normalize_code

bp = Blueprint("chat", __name__, url_prefix="/chat")

COOKIE = "koers_client"
MAX_MESSAGE_LENGTH = 2000
GREETING_PAYLOAD = "/groet"
# A lookalike of "/" (U+2215 DIVISION SLASH): typed text keeps its look, Rasa reads it as text.
SLASH_LOOKALIKE = "\u2215"

MSG_DOWN = (
    "Koers is nu even niet bereikbaar. Je bericht is niet kwijt. " "Probeer het zo nog een keer."
)
MSG_SLOW = (
    "Koers reageert nu te langzaam. Je bericht is niet kwijt. " "Probeer het zo nog een keer."
)
MSG_EMPTY = "Koers gaf geen antwoord. Je bericht is niet kwijt. " "Probeer het zo nog een keer."
MSG_BUSY = "Even wachten. Je vorige bericht wordt nog verstuurd."
# How long a second message of the same client waits for the first one before "wait".
BUSY_WAIT_SECONDS = 0.5
MSG_TOO_LONG = (
    f"Je bericht is te lang. Maak het korter dan {MAX_MESSAGE_LENGTH} tekens. "
    "Je kunt het ook in twee berichten sturen."
)
# A message over the limit that holds crisis words (see _too_long): the safety event's context
# and the reason the worker reads beside "opgemerkt door".
TOO_LONG_CONTEXT = "te_lang_bericht"
TOO_LONG_REASON = "bericht te lang voor Koers, alleen de woordenlijst las het"
STORAGE_DOWN_CONTEXT = "opslag_niet_bereikbaar"
STORAGE_DOWN_REASON = "opslag niet bereikbaar, alleen de woordenlijst las het"
UNREAD_CONTEXT = "koers_gaf_geen_antwoord"
UNREAD_REASON = "Koers gaf geen antwoord, alleen de woordenlijst las het"
# A message sent while the client's previous one is still on its way ("even wachten", 429):
# Rasa does not read it now, so the word list does (the text stays in the box).
BUSY_CONTEXT = "vorig_bericht_onderweg"
BUSY_REASON = (
    "verstuurd terwijl het vorige bericht nog onderweg was, alleen de woordenlijst las het"
)
# The same refusal when the word list found crisis words in it: said after the crisis help.
MSG_TOO_LONG_HELP = (
    "Je bericht is te lang. Het staat nog in het vak. "
    "Stuur het in kortere stukken. Dan lees ik alles."
)
MSG_EMPTY_INPUT = "Typ eerst iets. Of kies een knop."
MSG_LOGGED_OUT = "Je bent niet meer ingelogd. Vul je code opnieuw in."
MSG_OTHER_CLIENT = (
    "Op dit apparaat is nu iemand anders ingelogd. "
    "Je bericht is niet verstuurd. Sluit dit tabblad."
)
# A message typed in such a tab that holds crisis words: the help is shown all the same and the
# page's own client gets the safety event (who typed it is less sure: the reason says so).
OTHER_PAGE_CONTEXT = "ander_tabblad"
OTHER_PAGE_REASON = "getypt in een oud tabblad nadat iemand anders op dit apparaat inlogde"
# The chat page names the client it was loaded for in this header (chat.js, pwa.js). On a
# shared tablet a tab can stay open while someone else logs in in another tab of the same
# browser: the cookie then names the new client, and without this check the old tab's next
# message would go into the new client's conversation. The value is signed (`page_token`):
# a browser only holds the tokens of clients whose chat page it loaded, so a client cannot
# name another client (a safety event goes to the page's client, see `_refuse_other_page`).
CLIENT_HEADER = "X-Koers-Client"


# --- which client is this? --------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="koers-client-login")


def _cookie_data() -> dict[str, Any] | None:
    """The signed, unexpired content of this browser's login cookie, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=current_app.config["CLIENT_REMEMBER_SECONDS"])
    except BadData:
        return None
    return data if isinstance(data, dict) else None


def current_client() -> Client | None:
    """The client of this browser's device: a live device row (not logged out), whose access
    code is not revoked and still belongs to the client the cookie names."""
    if "client" in g:
        return g.client
    g.client = None
    data = _cookie_data()
    if data is None:
        return None
    try:
        code_id, client_id = int(data["a"]), int(data["c"])
        fingerprint, token = str(data["h"]), str(data["d"])
    except (KeyError, TypeError, ValueError):
        return None  # also a cookie from before devices were recorded: log in again
    device = devices.find_device(db(), current_app.config["SECRET_KEY"], token)
    if device is None or device.ended_at is not None or device.access_code_id != code_id:
        return None
    code = db().get(AccessCode, code_id)
    if code is None or code.revoked_at is not None or code.client_id != client_id:
        return None
    # A restored backup or an explicit id can give a new client a deleted client's numbers:
    # the cookie is also tied to the code's keyed hash, not only to its number.
    if not hmac.compare_digest(fingerprint, _fingerprint(code)):
        return None
    now = utcnow()
    if devices.touch(device, now):
        # Commit now: the rest of the request may wait for Rasa, and a write transaction must
        # not stay open (and lock SQLite) that long.
        db().commit()
    g.client = db().get(Client, client_id)
    return g.client


def _page_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="koers-page-client")


def page_token(client_id: int) -> str:
    """The signed name of the client a chat page is loaded for (CLIENT_HEADER)."""
    return _page_serializer().dumps(client_id)


def _page_client_id() -> int | None:
    """The client named by this request's CLIENT_HEADER; None when it is missing or its
    signature does not hold."""
    sent = request.headers.get(CLIENT_HEADER)
    if not sent:
        return None
    try:
        value = _page_serializer().loads(sent.strip())
    except BadData:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def from_another_page(client: Client) -> Any | None:
    """A refusal (409) when this request comes from a chat page loaded for another client than
    the one this browser is logged in as now, or names its client with a token that does not
    hold; None otherwise. Requests without the header (scripts, an old page) are not refused by
    it. The page does not reload: a reload would turn the old tab into the new client's chat,
    and the text in its box would be lost."""
    if request.headers.get(CLIENT_HEADER) is None or _page_client_id() == client.id:
        return None
    count_event("chat_andere_client")
    return jsonify({"ok": False, "error": MSG_OTHER_CLIENT, "other_client": True}), 409


def _refuse_other_page(refusal: Any) -> Any:
    """`from_another_page`'s refusal of a message, after the word list read its typed text: a
    crisis typed in an old tab gets the fixed crisis help with the refusal, and the page's own
    client (its signed token) a safety event that says where the message came from. A page
    whose client is gone, or a token that does not hold, gets the help without an event."""
    typed = _typed_text()
    if not typed:
        return refusal
    page_id = _page_client_id()
    try:
        page_client = db().get(Client, page_id) if page_id is not None else None
    except SQLAlchemyError:
        rollback_db()
        page_client = None
    if page_client is None:
        help_texts = _public_help(typed)
    else:
        help_texts = _guarded_word_list_help(
            page_client, typed, OTHER_PAGE_CONTEXT, OTHER_PAGE_REASON
        )
    if help_texts is None:
        return refusal
    return _fail_with_help(MSG_OTHER_CLIENT, 409, help_texts, other_client=True)


def _typed_text() -> str:
    """The typed text of this chat request's JSON body ("" when there is none)."""
    body = request.get_json(silent=True)
    typed = body.get("text") if isinstance(body, dict) else None
    return typed if isinstance(typed, str) and typed.strip() else ""


def _fingerprint(code: AccessCode) -> str:
    """Part of the code's keyed hash: ties the cookie to this very code, not to its number."""
    return code.code_hash[:32]


def _set_login_cookie(response: Any, code: AccessCode, device_token: str) -> None:
    token = _serializer().dumps(
        {"a": code.id, "c": code.client_id, "h": _fingerprint(code), "d": device_token}
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=current_app.config["CLIENT_REMEMBER_SECONDS"],
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
        path="/",
    )


def _delete_login_cookie(response: Any) -> None:
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def _end_this_device() -> bool:
    """End the device named by this browser's cookie, if it is still live."""
    data = _cookie_data()
    token = data.get("d") if data else None
    if not isinstance(token, str):
        return False
    return devices.end_device(db(), current_app.config["SECRET_KEY"], token)


# --- pages ------------------------------------------------------------------------------------


def _crisis_contact() -> str:
    return repository.get_org_setting(db(), "crisis_contact", "") or ""


@bp.route("/")
def page():
    client = current_client()
    if client is None:
        if not request.cookies.get(COOKIE):
            return render_template(
                "chat/login.html", error=None, notice=None, crisis_contact=_crisis_contact()
            )
        # A cookie that no longer logs in (logged out elsewhere, code revoked or replaced,
        # expired): say so calmly and forget it.
        response = make_response(
            render_template(
                "chat/login.html",
                error=None,
                notice=MSG_LOGGED_OUT,
                crisis_contact=_crisis_contact(),
            )
        )
        _delete_login_cookie(response)
        return response
    return render_template(
        "chat/chat.html",
        client=client,
        page_token=page_token(client.id),
        crisis_contact=_crisis_contact(),
        max_length=MAX_MESSAGE_LENGTH,
    )


@bp.route("/login", methods=["POST"])
def login():
    limiter = current_app.config["CODE_LIMITER"]
    key = f"code:{remote_addr()}"
    as_typed = (request.form.get("code") or "")[:100]  # shown again after a mistake
    if limiter.blocked(key):
        count_event("client_code_geblokkeerd")  # counted per day, not a row per attempt
        return render_template(
            "chat/login.html",
            crisis_contact=_crisis_contact(),
            typed=as_typed,
            error="Je hebt te vaak een verkeerde code ingevuld. Wacht 15 minuten. "
            "Probeer het daarna opnieuw.",
        ), 429
    typed = normalize_code(as_typed)
    code = None
    if typed:
        code = (
            db()
            .execute(
                select(AccessCode).where(
                    AccessCode.code_hash == code_hash(current_app.config["SECRET_KEY"], typed)
                )
            )
            .scalar_one_or_none()
        )
    if code is None or code.revoked_at is not None:
        limiter.fail(key)
        audit("client_code_fout", actor="client")
        message = (
            "Vul je code in. Je krijgt de code van je begeleider."
            if not typed
            else "Deze code klopt niet. Kijk goed of vraag je begeleider om een nieuwe code."
        )
        return render_template(
            "chat/login.html", crisis_contact=_crisis_contact(), error=message, typed=as_typed
        ), 401
    limiter.reset(key)
    _end_this_device()  # a login on top of an older one: the old device token stops working
    accounts.record_code_use(db(), code)
    device_token = devices.new_device(db(), code, current_app.config["SECRET_KEY"])
    audit("client_ingelogd", code.client_id, actor="client")
    response = redirect(url_for(".page"))
    _set_login_cookie(response, code, device_token)
    return response


@bp.route("/uitloggen", methods=["POST"])
def logout():
    # End the device on the server too: a copy of this cookie stops working at once.
    client = current_client()
    client_id = client.id if client is not None else None
    if _end_this_device():
        audit("client_uitgelogd", client_id, actor="client")
    response = redirect(url_for(".page"))
    _delete_login_cookie(response)
    return response


# --- relay to Rasa ----------------------------------------------------------------------------


def _state():
    """Send locks and offered buttons: in this process, or shared in Redis (bot.web.shared)."""
    return current_app.extensions["koers_state"]


def as_text(typed: str) -> str:
    """Typed text as Rasa must read it: never an intent payload ("/intent{...}"), and no NUL
    bytes (Rasa's tracker store on PostgreSQL cannot save them)."""
    text = typed.replace("\x00", "").strip()
    stripped = text.lstrip("/")
    if len(stripped) != len(text):
        text = SLASH_LOOKALIKE * (len(text) - len(stripped)) + stripped
    return text


def _fail(message: str, status: int) -> Any:
    return jsonify({"ok": False, "error": message}), status


_WORD_LIST_LOCK = threading.Lock()


def _word_list() -> Any:
    """The crisis word list (bot.safety.matcher), loaded on the first message too long for
    Rasa. spaCy's thinc imports TensorFlow whenever it is installed (Rasa needs it), which
    adds 531 MB to the web process; the word list uses no TensorFlow, so thinc is told it is
    missing while spaCy loads: about 160 MB and 1.7 s instead of 3.5 s (measured once, this
    machine). A process that has TensorFlow or spaCy already (the tests) is left as it is.
    One thread at a time: two tabs may send a long message at once."""
    with _WORD_LIST_LOCK:
        if "spacy" not in sys.modules and "tensorflow" not in sys.modules:
            sys.modules["tensorflow"] = None  # type: ignore[assignment]
            try:
                import spacy  # noqa: F401
            finally:
                if sys.modules.get("tensorflow", False) is None:
                    del sys.modules["tensorflow"]
        from bot.safety.matcher import get_matcher

        return get_matcher()


def _public_help(typed: str) -> list[str] | None:
    """The fixed crisis help for a crisis the word list finds in `typed` (the standard level,
    without the organisation's contact), for a message whose client is not known; None when
    it finds nothing or fails."""
    try:
        hits = _word_list().find(typed, remember=False)
        if not hits:
            return None
        return crisis_help_texts(domain_responses(), hits[0].category, STANDARD, "")
    except Exception:
        current_app.logger.exception("the word list could not read a message")
        return None


def help_without_storage() -> list[str] | None:
    """For a chat message refused because the database or Redis is down: the crisis word list
    reads its typed text, and on a hit the fixed crisis help is returned, to be shown with the
    refusal. The safety event is kept too: for a client already known (Redis down) as after a
    Rasa failure (`_word_list_help`, the outbox when the database refuses it); for a client
    not known yet (the database down) in the outbox under the login cookie's client id, so
    that the worker sees it once the database is back. None when there is no typed text or
    nothing was found."""
    if request.path != url_for("chat.send") or request.method != "POST":
        return None
    typed = _typed_text()
    if not typed:
        return None
    client = g.get("client")
    if client is not None:
        return _guarded_word_list_help(client, typed, UNREAD_CONTEXT, UNREAD_REASON)
    help_texts = _public_help(typed)
    try:
        cookie_client = int((_cookie_data() or {})["c"])
    except (KeyError, TypeError, ValueError):
        cookie_client = None
    if help_texts and cookie_client is not None:
        _keep_for_later(cookie_client, typed, help_texts)
    return help_texts


def _keep_for_later(client_id: int, text: str, help_texts: list[str]) -> None:
    """A safety event for a client named by the login cookie only: into the outbox, which
    finds the chat id when it writes it (bot.storage.outbox)."""
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    hits = _word_list().find(text, remember=False)
    key = repository.stable_key(
        STORAGE_DOWN_CONTEXT, str(client_id), utcnow().date().isoformat(), text
    )
    event = {
        "client_id": client_id,
        "category": hits[0].category,
        "message_text": text,
        "response_text": "\n".join(help_texts),
        "detected_by": "matcher",
        "context": STORAGE_DOWN_CONTEXT,
        "evidence": {"reasons": ["woordenlijst", STORAGE_DOWN_REASON]},
    }
    try:
        box = get_outbox()
        box.put("safety_event", key, event)
        _flush_later(box)
    except Exception:
        current_app.logger.exception("outbox: could not keep a safety event (storage down)")


def _too_long(client: Client, text: str) -> Any:
    """Refuse a message over MAX_MESSAGE_LENGTH; the client shortens it (the page keeps the
    text in the box). Rasa never reads it, so the crisis word list reads it here
    (`_word_list_help`): on a hit the client gets the fixed crisis help with the refusal."""
    help_texts = _guarded_word_list_help(client, text, TOO_LONG_CONTEXT, TOO_LONG_REASON)
    if help_texts is None:
        return _fail(MSG_TOO_LONG, 400)
    return _fail_with_help(MSG_TOO_LONG_HELP, 400, help_texts)


def _guarded_word_list_help(
    client: Client, text: str, context: str, reason: str, contact: str | None = None
) -> list[str] | None:
    """`_word_list_help`, but the refusal or calm message it comes with stands whatever fails
    in it (None then): the client gets a Dutch message, never an error page."""
    try:
        return _word_list_help(client, text, context, reason, contact)
    except Exception:
        current_app.logger.exception("the word list could not read a message Rasa did not read")
        rollback_db()
        return None


def _fail_with_help(message: str, status: int, help_texts: list[str], **extra: Any) -> Any:
    """A refusal that brings Koers's crisis help along (shown first, then the refusal)."""
    return jsonify(
        {
            "ok": False,
            "error": message,
            "messages": [{"text": m, "buttons": []} for m in help_texts],
            **extra,
        }
    ), status


def _word_list_help(
    client: Client, text: str, context: str, reason: str, contact: str | None = None
) -> list[str] | None:
    """For a typed message that Rasa did not read (too long for it, or Rasa could not answer):
    the crisis word list reads it here. On a hit: the fixed crisis help for the hit's category
    at the client's language level (the domain's own texts, with the organisation's contact),
    returned to be shown, and a safety event with the whole message for the worker. The same
    text on the same day (a retry) records no second event. None when the word list finds
    nothing.

    The help is returned whatever happens to the database: a refused write is kept in the
    outbox (bot.storage.outbox) and written in the background as soon as the database takes
    it (`_flush_later`), or by the next such message.

    `contact` given (the organisation's contact, read before the request waited for Rasa):
    the request already waited up to RASA_TIMEOUT, so it touches the database no more. The
    event goes straight to the outbox and is written in the background: a database that is
    busy (on SQLite every transaction waits for the write lock, up to its busy timeout) must
    not hold the help until the proxy gives up (nginx: 40 s)."""
    hurry = contact is not None
    # Stored as the worker will read it: no NUL bytes (PostgreSQL cannot store them) and no
    # lone surrogates (JSON can carry them; UTF-8 cannot). Not kept in the word list's memory
    # of recent texts: the message is health data, and a long one can be 256 KB.
    text = text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    hits = _word_list().find(text, remember=False)
    if not hits:
        return None
    category, chat_id, level = hits[0].category, client.chat_id, client.language_level
    box = get_outbox()
    if contact is None:
        try:
            db().commit()  # end this request's transaction: SQLite's locks, for the flush
            if box.pending():
                box.flush(db().get_bind())
            contact = _crisis_contact()
        except SQLAlchemyError:
            rollback_db()
            contact = ""
    contact = contact.strip()
    messages = crisis_help_texts(domain_responses(), category, level, contact)
    key = repository.stable_key(context, chat_id, utcnow().date().isoformat(), text)
    event: dict[str, Any] = {
        "chat_id": chat_id,
        "category": category,
        "message_text": text,
        "response_text": "\n".join(messages),
        "detected_by": "matcher",
        "context": context,
        "evidence": {"reasons": ["woordenlijst", reason]},
    }
    if hurry:
        try:
            box.put("safety_event", key, event)
        except OSError:
            current_app.logger.exception("outbox: could not keep a safety event; writing it now")
        else:
            try:
                _flush_soon(box)
            except Exception:  # e.g. no thread to be had now: the background flusher then
                current_app.logger.exception("outbox: could not start writing it")
                try:
                    _flush_later(box)
                except Exception:  # the next word-list help or a restart writes it
                    current_app.logger.exception("outbox: no background flusher either")
            return messages
    try:
        repository.record_safety_event(db(), idempotency_key=key, **event)
        db().commit()
    except SQLAlchemyError:
        rollback_db()
        current_app.logger.exception("could not record a safety event; kept in the outbox")
        try:
            box.put("safety_event", key, event)
            _flush_later(box)
        except OSError:
            current_app.logger.exception("outbox: could not keep a safety event")
    return messages


def _flush_later(box: Outbox) -> None:
    """Write the outbox every FLUSH_INTERVAL seconds in a thread of this web process until it
    is empty: the worker sees the safety event soon after the database is back, also when no
    client sends anything (the action server's own flusher does not know of this entry)."""
    engine = current_app.extensions["koers_engine"]
    flusher = current_app.extensions.setdefault(
        f"koers_outbox_flusher:{box.directory}",
        Flusher(lambda: box.flush(engine), box.pending, FLUSH_INTERVAL, "koers-web-outbox"),
    )
    flusher.start()


def _flush_soon(box: Outbox) -> None:
    """Write the outbox at once in a thread of its own (the request does not wait for it),
    and every FLUSH_INTERVAL seconds after that while something is left (`_flush_later`)."""
    engine = current_app.extensions["koers_engine"]

    def write() -> None:
        try:
            box.flush(engine)
        except Exception:  # the background flusher tries again
            logging.getLogger(__name__).exception("outbox: could not write it at once")

    threading.Thread(target=write, name="koers-web-outbox-now", daemon=True).start()
    _flush_later(box)


def bring_in_leftovers(app: Any) -> bool:
    """At the web process's start: write what an earlier run kept in this outbox (a crisis
    in a message Rasa never read, while the database was down) in the background, without
    waiting for the next message. True when there was something to write."""
    with app.app_context():
        box = get_outbox()
        if not box.pending():
            return False
        _flush_later(box)
        return True


def _clean_messages(raw: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return messages
    for item in raw:
        if not isinstance(item, dict):
            continue
        custom = item["custom"] if isinstance(item.get("custom"), dict) else {}
        more = custom.get("meer_weten")
        if isinstance(more, str) and more and messages:
            # Rasa sends a message's custom part as a message of its own: the rest of the
            # disclosure, shown behind "Meer weten?" under the message before it.
            messages[-1]["more"] = more
            continue
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        if text or buttons:
            messages.append({"text": text, "buttons": buttons})
    return messages


def forward(client: Client, message: str) -> tuple[list[dict[str, Any]] | None, str, int]:
    """Send one message to Rasa as this client. Returns (messages, error, status).

    With several Rasa instances the client's own instance gets it (bot.web.routing); when
    that one refuses the connection, the next one in the client's order does."""
    urls = current_app.config.get("RASA_URLS") or [current_app.config["RASA_URL"]]
    timeout = current_app.config["RASA_TIMEOUT"]
    token = current_app.config.get("RASA_TOKEN")
    headers = {RASA_TOKEN_HEADER: token} if token else None
    reply = None
    for base in routing.instance_order(client.chat_id, urls):
        try:
            reply = requests.post(
                f"{base}/webhooks/rest/webhook",
                json={"sender": client.chat_id, "message": message},
                headers=headers,
                timeout=(3, timeout),
            )
            break
        except requests.Timeout:
            return None, MSG_SLOW, 504
        except requests.RequestException as error:
            if not routing.refused(error):
                return None, MSG_DOWN, 503
    if reply is None:
        return None, MSG_DOWN, 503
    if reply.status_code != 200:
        return None, MSG_DOWN, 503
    try:
        messages = _clean_messages(reply.json())
    except ValueError:
        messages = []
    if not messages:
        return None, MSG_EMPTY, 502
    return messages, "", 200


@bp.route("/api/send", methods=["POST"])
def send():
    client = current_client()
    if client is None:
        return _fail(MSG_LOGGED_OUT, 401)
    other = from_another_page(client)
    if other is not None:
        return _refuse_other_page(other)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _fail(MSG_EMPTY_INPUT, 400)
    typed = body.get("text") if isinstance(body.get("text"), str) else ""
    payload = body.get("payload")
    if body.get("start") is not True and not (isinstance(payload, str) and payload):
        if not typed.strip():
            return _fail(MSG_EMPTY_INPUT, 400)
        if len(typed) > MAX_MESSAGE_LENGTH:
            return _too_long(client, typed)
    # Read now what the crisis help needs should Rasa not answer: after waiting for Rasa the
    # request touches the database no more (`_word_list_help`).
    try:
        contact: str | None = _crisis_contact()
    except SQLAlchemyError:  # read again, slowly, only should Rasa not answer
        rollback_db()
        contact = None
    # End this request's transaction before relaying: on SQLite it holds the write lock, and
    # the action server writes to the same database while Rasa handles the message.
    db().commit()
    state = _state()
    # A message of this client is on its way: answer "wait" at once instead of holding a web
    # thread until Rasa answered it (eight parallel sends would hold all eight threads). The
    # lock is per client across web processes with Redis (bot.web.shared); it expires after
    # `hold` seconds should a web process die while holding it.
    hold = current_app.config["RASA_TIMEOUT"] + 15
    typed_text = ""  # the client's own words, when this message is typed
    with state.send_lock(client.id, wait=BUSY_WAIT_SECONDS, hold=hold) as locked:
        if not locked:
            # Not sent (the page keeps the text), but a crisis in it gets its help now and
            # the worker an event: the client may not send it again.
            if typed.strip():
                busy_help = _guarded_word_list_help(
                    client, typed, BUSY_CONTEXT, BUSY_REASON, contact
                )
                if busy_help is not None:
                    return _fail_with_help(MSG_BUSY, 429, busy_help)
            return _fail(MSG_BUSY, 429)
        # Decide inside the lock: a button of an answer that a second tab already used is
        # no longer offered, so the same payload cannot be sent twice.
        offered = state.offered(client.id)
        if body.get("start") is True:
            message = GREETING_PAYLOAD
        elif isinstance(payload, str) and payload in offered:
            message = payload  # a button Rasa itself offered: its payload is safe
            state.set_offered(client.id, {})  # used: each offered button works once
        else:
            if isinstance(payload, str) and not typed:
                title = body.get("title")
                typed = title if isinstance(title, str) else ""  # an old button: its words
            if not typed.strip():
                return _fail(MSG_EMPTY_INPUT, 400)
            if len(typed) > MAX_MESSAGE_LENGTH:
                return _too_long(client, typed)
            message = as_text(typed)
            if not message:  # only NUL bytes
                return _fail(MSG_EMPTY_INPUT, 400)
            typed_text = typed
        messages, error, status = forward(client, message)
        try:
            if messages is not None:
                last = next((m["buttons"] for m in reversed(messages) if m["buttons"]), [])
                state.set_offered(client.id, {b["payload"]: b["title"] for b in last})
            elif message == payload:
                state.set_offered(client.id, offered)  # not delivered: it may be pressed again
        except RedisError:
            # Delivered all the same: answer it. Without the offered buttons a press sends
            # the button's words, which Koers also understands.
            current_app.logger.warning("could not keep the offered buttons (Redis)")
    if messages is None:
        if typed_text:
            # Rasa did not answer: nothing read the message. The word list does, so a
            # crisis gets its help now and the worker an event (the text stays in the box).
            help_texts = _guarded_word_list_help(
                client, typed_text, UNREAD_CONTEXT, UNREAD_REASON, contact
            )
            if help_texts is not None:
                return _fail_with_help(error, status, help_texts)
        return _fail(error, status)
    return jsonify({"ok": True, "messages": messages})
