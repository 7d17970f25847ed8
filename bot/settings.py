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
    )
