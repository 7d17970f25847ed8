"""Files for a real installation (docs/deploy.md): the nginx site and the settings file.

    python -m bot nginx-config --server-name koers.example.nl > /etc/nginx/sites-available/koers
    python -m bot init-env /etc/koers/koers.env

The nginx site is deploy/nginx/koers.conf with its {{...}} values filled in. The settings file
is a production .env with freshly generated secrets; only the database passwords are left for
the administrator to fill in (CHANGE-ME).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx" / "koers.conf"
PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


@dataclass(frozen=True)
class NginxSite:
    server_name: str
    cert: str = ""
    key: str = ""
    listen: str = "443"
    http_listen: str = "80"
    upstream: str = "127.0.0.1:8000"
    acme_root: str = "/var/www/letsencrypt"

    def values(self) -> dict[str, str]:
        if not _HOST.match(self.server_name):
            raise ValueError(f"not a host name: {self.server_name!r}")
        port = self.listen.rsplit(":", 1)[-1]
        public = self.server_name if port == "443" else f"{self.server_name}:{port}"
        live = f"/etc/letsencrypt/live/{self.server_name}"
        values = {
            "SERVER_NAME": self.server_name,
            "PUBLIC_HOST": public,
            "CERT": self.cert or f"{live}/fullchain.pem",
            "KEY": self.key or f"{live}/privkey.pem",
            "LISTEN": self.listen,
            "HTTP_LISTEN": self.http_listen,
            "UPSTREAM": self.upstream,
            "ACME_ROOT": self.acme_root,
        }
        for name, value in values.items():
            if any(ch in value for ch in ";{}\n\r\t \"'"):
                raise ValueError(f"{name} may not contain spaces, quotes, braces or ';'")
        return values


def nginx_config(site: NginxSite, template: Path = NGINX_TEMPLATE) -> str:
    values = site.values()
    text = template.read_text(encoding="utf-8")
    missing = set(PLACEHOLDER.findall(text)) - set(values)
    if missing:
        raise ValueError(f"no value for {', '.join(sorted(missing))}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def env_file_text(var_dir: str = "/var/lib/koers") -> str:
    """A production settings file with new secrets (see .env.example for every setting)."""

    def secret() -> str:
        return secrets.token_urlsafe(48)

    return f"""# Koers production settings (docs/deploy.md). Made by `python -m bot init-env`.
# Keep this file private (mode 600, owner koers). Fill in the two CHANGE-ME passwords:
# the ones you gave the PostgreSQL user koers.

KOERS_DATABASE_URL=postgresql+psycopg2://koers:CHANGE-ME@127.0.0.1:5432/koers
KOERS_ENDPOINTS=deploy/endpoints.production.yml
KOERS_TRACKER_PG_HOST=127.0.0.1
KOERS_TRACKER_PG_PORT=5432
KOERS_TRACKER_PG_DB=koers_tracker
KOERS_TRACKER_PG_USER=koers
KOERS_TRACKER_PG_PASSWORD=CHANGE-ME

KOERS_VAR_DIR={var_dir}
KOERS_LOG_LEVEL=INFO

# Secrets, generated for this server. Changing KOERS_SECRET_KEY logs everyone out and makes
# every access code invalid.
KOERS_SECRET_KEY={secret()}
KOERS_ACTIONS_SECRET={secret()}
KOERS_AUDIT_KEY={secret()}

# Behind nginx on this server (deploy/nginx/koers.conf).
KOERS_WEB_HOST=127.0.0.1
KOERS_WEB_PORT=8000
KOERS_RASA_HOST=127.0.0.1
KOERS_RASA_PORT=5005
KOERS_ACTIONS_HOST=127.0.0.1
KOERS_ACTIONS_PORT=5055
KOERS_COOKIE_SECURE=true
KOERS_TRUSTED_PROXY=127.0.0.1
KOERS_DEMO_DATA=false
# Rasa's HTTP API stays off; the web app does not need it.
KOERS_RASA_API=false

# Retention in days (0 = keep); defaults and reasons in docs/privacy.md.
# KOERS_RETAIN_CONVERSATIONS_DAYS=30
# KOERS_RETAIN_REFLECTIONS_DAYS=730
# KOERS_RETAIN_AUDIT_DAYS=1827
KOERS_BACKUP_DIR={var_dir}/backups
KOERS_BACKUP_KEEP_DAYS=14
"""


def write_private(path: Path, text: str) -> None:
    """Create `path` with mode 0600; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
