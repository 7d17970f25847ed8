"""Runtime settings, read from the environment and an optional `.env` file.

Every setting is documented in `.env.example`. Nothing here holds a secret default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _load_env_file() -> None:
    env_file = os.environ.get("KOERS_ENV_FILE", str(PROJECT_ROOT / ".env"))
    # Values already in the environment win over the file.
    load_dotenv(env_file, override=False)


@dataclass(frozen=True)
class Settings:
    database_url: str
    rasa_host: str
    rasa_port: int
    actions_host: str
    actions_port: int
    log_level: str
    model_dir: Path
    spacy_pipeline_dir: Path
    var_dir: Path
    tracker_db: Path
    endpoints_file: Path
    # Web app (dashboard and client chat); see .env.example.
    secret_key: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    cookie_secure: bool = False
    worker_session_minutes: int = 30
    client_remember_days: int = 30
    rasa_timeout: float = 30.0
    demo_data: bool = False
    trusted_proxy: str | None = None
    # --- Scale-out and loss-free storage (issue 13); see .env.example -------------------------
    rasa_instances: int = 1
    rasa_url_list: tuple[str, ...] = ()
    redis_url: str | None = None
    outbox_dir: Path | None = None
    # Rasa and the action server on a private network address (several machines): only with
    # this set, and then production mode also demands KOERS_RASA_TOKEN (docs/scaling.md).
    allow_private_backends: bool = False
    # --- Production, hardening and backups (issue 11); see .env.example ---------------------
    # Rasa's HTTP API (`--enable-api`) is off unless this is true; then KOERS_RASA_TOKEN is
    # required and reaches Rasa through the environment, never a command line.
    rasa_api: bool = False
    rasa_token: str | None = None
    # Shared secret the action server requires in the X-Koers-Actions-Secret header.
    actions_secret: str | None = None
    # Key of the audit log's hash chain (default: derived from the secret key).
    audit_key: str | None = None
    # Where `python -m bot backup` writes (default: <KOERS_VAR_DIR>/backups).
    backup_dir: Path | None = None
    backup_keep_days: int = 14

    @property
    def rasa_url(self) -> str:
        """The first Rasa instance (the only one unless KOERS_RASA_INSTANCES > 1)."""
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """Every Rasa instance the web app routes clients to: KOERS_RASA_URLS, or the
        KOERS_RASA_INSTANCES local ones on consecutive ports from KOERS_RASA_PORT."""
        if self.rasa_url_list:
            return self.rasa_url_list
        return tuple(
            f"http://{self.rasa_host}:{self.rasa_port + i}" for i in range(self.rasa_instances)
        )

    @property
    def outbox_path(self) -> Path:
        """Where the action server keeps writes that the database refused (var/outbox)."""
        return self.outbox_dir if self.outbox_dir is not None else self.var_dir / "outbox"

    @property
    def actions_url(self) -> str:
        return f"http://{self.actions_host}:{self.actions_port}/webhook"


def _path(value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else PROJECT_ROOT / p


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "ja", "on"}


def _absolute_sqlite(url: str) -> str:
    """A relative SQLite path (`sqlite:///var/koers.db`) is relative to the project."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(PROJECT_ROOT / url[len(prefix) :])
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    _load_env_file()
    var_dir = _path(os.environ.get("KOERS_VAR_DIR", "var"))
    default_db = f"sqlite:///{var_dir / 'koers.db'}"
    return Settings(
        database_url=_absolute_sqlite(os.environ.get("KOERS_DATABASE_URL") or default_db),
        rasa_host=os.environ.get("KOERS_RASA_HOST", "127.0.0.1"),
        rasa_port=int(os.environ.get("KOERS_RASA_PORT", "5005")),
        actions_host=os.environ.get("KOERS_ACTIONS_HOST", "127.0.0.1"),
        actions_port=int(os.environ.get("KOERS_ACTIONS_PORT", "5055")),
        log_level=os.environ.get("KOERS_LOG_LEVEL", "INFO").upper(),
        model_dir=_path(os.environ.get("KOERS_MODEL_DIR", "models")),
        spacy_pipeline_dir=_path(os.environ.get("KOERS_SPACY_DIR", "build/spacy-nl")),
        var_dir=var_dir,
        tracker_db=_path(os.environ.get("KOERS_TRACKER_DB", str(var_dir / "tracker.db"))),
        endpoints_file=_path(os.environ.get("KOERS_ENDPOINTS", "endpoints.yml")),
        secret_key=os.environ.get("KOERS_SECRET_KEY") or None,
        web_host=os.environ.get("KOERS_WEB_HOST", "127.0.0.1"),
        web_port=int(os.environ.get("KOERS_WEB_PORT", "8000")),
        cookie_secure=_flag(os.environ.get("KOERS_COOKIE_SECURE", "false")),
        worker_session_minutes=int(os.environ.get("KOERS_WORKER_SESSION_MINUTES", "30")),
        client_remember_days=int(os.environ.get("KOERS_CLIENT_REMEMBER_DAYS", "30")),
        rasa_timeout=float(os.environ.get("KOERS_RASA_TIMEOUT", "30")),
        demo_data=_flag(os.environ.get("KOERS_DEMO_DATA", "false")),
        trusted_proxy=os.environ.get("KOERS_TRUSTED_PROXY") or None,
        rasa_instances=max(1, int(os.environ.get("KOERS_RASA_INSTANCES") or "1")),
        rasa_url_list=tuple(
            u.strip().rstrip("/")
            for u in (os.environ.get("KOERS_RASA_URLS") or "").split(",")
            if u.strip()
        ),
        redis_url=os.environ.get("KOERS_REDIS_URL") or None,
        outbox_dir=_path(os.environ["KOERS_OUTBOX_DIR"])
        if os.environ.get("KOERS_OUTBOX_DIR")
        else None,
        allow_private_backends=_flag(os.environ.get("KOERS_ALLOW_PRIVATE_BACKENDS", "false")),
        rasa_api=_flag(os.environ.get("KOERS_RASA_API", "false")),
        rasa_token=os.environ.get("KOERS_RASA_TOKEN") or None,
        actions_secret=os.environ.get("KOERS_ACTIONS_SECRET") or None,
        audit_key=os.environ.get("KOERS_AUDIT_KEY") or None,
        backup_dir=_path(os.environ["KOERS_BACKUP_DIR"])
        if os.environ.get("KOERS_BACKUP_DIR")
        else None,
        backup_keep_days=int(os.environ.get("KOERS_BACKUP_KEEP_DAYS", "14")),
    )


# --- Between sessions: reminders and web push (issue 14) ----------------------------------


@dataclass(frozen=True)
class ReminderSettings:
    """How `python -m bot reminders send` reaches clients; see .env.example and
    docs/reminders.md. Every channel is off until its settings are filled in."""

    # The address clients use, e.g. https://koers.example.nl (the chat is at /chat/).
    public_url: str | None = None
    # A slot that could not be sent within this many minutes (the timer did not run) is skipped.
    max_delay_minutes: int = 60
    # E-mail over SMTP.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | ssl | none
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_timeout: float = 20.0
    # SMS through a provider; "cm" is CM.com's Business Messaging API.
    sms_provider: str | None = None
    sms_sender: str = "Koers"
    cm_product_token: str | None = None
    cm_url: str = "https://gw.messaging.cm.com/v1.0/message"
    sms_timeout: float = 20.0
    # Web push (VAPID): the private key as base64url (python -m bot reminders vapid-keys).
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    push_timeout: float = 20.0

    @property
    def chat_url(self) -> str | None:
        return self.public_url.rstrip("/") + "/chat/" if self.public_url else None


def _optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


@lru_cache(maxsize=1)
def get_reminder_settings() -> ReminderSettings:
    _load_env_file()
    env = os.environ
    return ReminderSettings(
        public_url=_optional("KOERS_PUBLIC_URL"),
        max_delay_minutes=int(env.get("KOERS_REMINDER_MAX_DELAY_MINUTES") or "60"),
        smtp_host=_optional("KOERS_SMTP_HOST"),
        smtp_port=int(env.get("KOERS_SMTP_PORT") or "587"),
        smtp_security=(env.get("KOERS_SMTP_SECURITY") or "starttls").strip().lower(),
        smtp_user=_optional("KOERS_SMTP_USER"),
        smtp_password=_optional("KOERS_SMTP_PASSWORD"),
        smtp_from=_optional("KOERS_SMTP_FROM"),
        smtp_timeout=float(env.get("KOERS_SMTP_TIMEOUT") or "20"),
        sms_provider=(_optional("KOERS_SMS_PROVIDER") or "").lower() or None,
        sms_sender=_optional("KOERS_SMS_SENDER") or "Koers",
        cm_product_token=_optional("KOERS_CM_PRODUCT_TOKEN"),
        cm_url=_optional("KOERS_CM_URL") or "https://gw.messaging.cm.com/v1.0/message",
        sms_timeout=float(env.get("KOERS_SMS_TIMEOUT") or "20"),
        vapid_private_key=_optional("KOERS_VAPID_PRIVATE_KEY"),
        vapid_subject=_optional("KOERS_VAPID_SUBJECT"),
        push_timeout=float(env.get("KOERS_PUSH_TIMEOUT") or "20"),
    )
