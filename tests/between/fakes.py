"""Local stand-ins for the services reminders go to, each a real server on 127.0.0.1:

- `SmtpServer`: aiosmtpd's SMTP server (optionally STARTTLS with a self-signed certificate
  and a login), keeping every message it accepts;
- `FakeCm`: an HTTP server that answers like CM.com's Business Messaging API and records the
  requests;
- `FakePushService`: an HTTP push endpoint that checks the VAPID signature and decrypts the
  payload itself (RFC 8291 with RFC 8188 aes128gcm), written here from the RFCs with the
  `cryptography` primitives: it does not use the library that encrypts.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- SMTP -------------------------------------------------------------------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, for a STARTTLS test server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.server.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
                "tls": session.ssl is not None,
                "login": getattr(session, "auth_data", None),
            }
        )
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on a free port. With `tls_dir` it offers STARTTLS and requires a login."""

    USER, PASSWORD = "koers", "smtp-test-wachtwoord"

    def __init__(self, tls_dir: Path | None = None) -> None:
        self.messages: list[dict] = []
        self.refuse: dict[str, str] = {}
        self.port = free_port()
        kwargs: dict = {}
        self.client_context: ssl.SSLContext | None = None
        if tls_dir is not None:
            cert, key = self_signed(tls_dir)
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(cert, key)
            self.client_context = ssl.create_default_context(cafile=str(cert))
            kwargs = {
                "tls_context": server_context,
                "require_starttls": True,
                "auth_required": True,
                "authenticator": self._authenticate,
            }
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )
        self.controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.USER
            and auth_data.password.decode() == self.PASSWORD
        )
        return AuthResult(success=ok, handled=False)

    def close(self) -> None:
        self.controller.stop()


# --- CM.com -----------------------------------------------------------------------------------


class _HttpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()


class FakeCm(_HttpServer):
    """Answers like CM.com's /v1.0/message. Modes: ok, rejected, bad_token, down, slow."""

    TOKEN = "00000000-1111-2222-3333-444444444444"

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.mode = "ok"
        self.delay = 0.0
        self.lock = threading.Lock()
        super().__init__()
        self.endpoint = self.url + "/v1.0/message"

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        record = {
            "method": request.method,
            "path": request.path,
            "content_type": request.headers.get("Content-Type", ""),
            "body": request.get_data(as_text=True),
        }
        with self.lock:
            self.requests.append(record)
        if self.delay:
            time.sleep(self.delay)
        try:
            body = json.loads(record["body"])
            token = body["messages"]["authentication"]["producttoken"]
            messages = body["messages"]["msg"]
        except (ValueError, KeyError, TypeError):
            return self._json(
                {"details": "Malformed request", "errorCode": 202, "messages": []}, 400
            )(environ, start_response)
        if self.mode == "down":
            return Response("unavailable", status=503)(environ, start_response)
        if token != self.TOKEN or self.mode == "bad_token":
            return self._json(
                {"details": "Authentication failed", "errorCode": 101, "messages": []}, 400
            )(environ, start_response)
        status = "Rejected" if self.mode == "rejected" else "Accepted"
        answer = {
            "details": f"Created {len(messages)} message(s)",
            "errorCode": 0,
            "messages": [
                {
                    "to": m["to"][0]["number"],
                    "status": status,
                    "reference": m.get("reference"),
                    "parts": 1,
                    "messageDetails": None if status == "Accepted" else "Blacklisted",
                    "messageErrorCode": 0 if status == "Accepted" else 402,
                }
                for m in messages
            ],
        }
        return self._json(answer, 200)(environ, start_response)

    @staticmethod
    def _json(data: dict, status: int) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")


# --- web push ---------------------------------------------------------------------------------


@dataclass
class Subscriber:
    """A browser's side of a push subscription: its P-256 key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: __import__("os").urandom(16))

    @property
    def public_raw(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def keys(self) -> dict[str, str]:
        return {"p256dh": b64url(self.public_raw), "auth": b64url(self.auth)}


def decrypt_aes128gcm(body: bytes, subscriber: Subscriber) -> bytes:
    """RFC 8291 section 3.4 + RFC 8188: decrypt a Web Push message body."""
    salt, record_size, id_length = body[:16], struct.unpack(">I", body[16:20])[0], body[20]
    as_public = body[21 : 21 + id_length]
    ciphertext = body[21 + id_length :]
    assert id_length == 65 and as_public[0] == 4, "keyid must be the sender's P-256 key"
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public)
    ecdh_secret = subscriber.key.exchange(ec.ECDH(), sender)
    key_info = b"WebPush: info\x00" + subscriber.public_raw + as_public
    ikm = HKDF(hashes.SHA256(), 32, salt=subscriber.auth, info=key_info).derive(ecdh_secret)
    cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00").derive(ikm)
    nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
    assert len(ciphertext) <= record_size, "one record expected for a short reminder"
    plaintext = AESGCM(cek).decrypt(nonce, ciphertext, None)  # sequence number 0
    plaintext = plaintext.rstrip(b"\x00")
    assert plaintext.endswith(b"\x02"), "the last record ends with delimiter 0x02"
    return plaintext[:-1]


def verify_vapid(header: str, audience: str) -> dict:
    """Check `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292): ES256 signature by k, the
    audience is the push service's origin, the expiry within 24 hours. Returns the claims."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid", header
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, public = parts["t"], b64url_decode(parts["k"])
    head_b64, claims_b64, signature_b64 = token.split(".")
    assert json.loads(b64url_decode(head_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = b64url_decode(signature_b64)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)
    key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(b64url_decode(claims_b64))
    assert claims["aud"] == audience
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    claims["public_key"] = parts["k"]
    return claims


class FakePushService(_HttpServer):
    """A push endpoint per subscriber (/push/<n>); decrypts and keeps what arrives.
    `gone` holds subscriber numbers that answer 410; mode "down" answers 503."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.received: list[dict] = []
        self.gone: set[int] = set()
        self.mode = "ok"
        super().__init__()

    def subscribe(self) -> tuple[int, dict]:
        self.subscribers.append(Subscriber())
        number = len(self.subscribers) - 1
        return number, {
            "endpoint": f"{self.url}/push/{number}",
            "keys": self.subscribers[number].keys(),
        }

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        number = int(request.path.rsplit("/", 1)[-1])
        if self.mode == "down":
            return Response("down", status=503)(environ, start_response)
        if number in self.gone:
            return Response("gone", status=410)(environ, start_response)
        record = {
            "number": number,
            "headers": dict(request.headers),
            "raw": request.get_data(),
        }
        try:
            assert request.headers.get("Content-Encoding") == "aes128gcm"
            assert int(request.headers["TTL"]) > 0
            record["vapid"] = verify_vapid(request.headers["Authorization"], self.url)
            record["plaintext"] = decrypt_aes128gcm(record["raw"], self.subscribers[number])
        except Exception as exc:  # recorded for the test to see, answered as a bad request
            record["error"] = repr(exc)
            self.received.append(record)
            return Response("bad", status=400)(environ, start_response)
        self.received.append(record)
        return Response("", status=201)(environ, start_response)
