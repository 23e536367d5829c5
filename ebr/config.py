"""Deployment settings: read once from the environment at the edge (GMP settings live in the database)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105  # a known value production mode refuses
ENVIRONMENTS = ("demo", "development", "test", "production")


class ConfigError(Exception):
    """The deployment settings are unsafe or inconsistent; the process refuses to start."""


@dataclass(frozen=True)
class Settings:
    """Every deployment setting, once, typed."""

    env: str = "demo"
    instance_path: Path = Path("instance")
    database_url: str = ""
    admin_database_url: str = ""
    app_db_role: str = "ebr_app"
    secret_key: str = DEMO_SECRET
    host: str = "127.0.0.1"
    port: int = 5000
    library_dir: Path = Path()
    fast_password_hashing: bool = False
    secure_cookies: bool = True
    alert_webhook_url: str = ""
    build_commit: str = ""
    worker_interval_seconds: float = 10.0
    force_https: bool = False
    trusted_proxies: int = 0
    # Where incidents are notified: a JSON webhook or an SMTP relay (one of them); otherwise the log only.
    notify_webhook_url: str = ""
    notify_smtp_host: str = ""
    notify_smtp_port: int = 25
    notify_smtp_from: str = ""
    notify_smtp_to: tuple[str, ...] = ()
    # An RFC 3161 time-stamping service for the release signature on the batch record PDF ("" = none).
    tsa_url: str = ""
    # The demo plant's simulated Modbus gateway on 127.0.0.1 (demo only; real devices are equipment master data).
    demo_modbus_port: int = 5020
    # The ERP endpoint for postings ("" = none: postings wait in the outbox; the dispatcher says so, sends nothing).
    erp_url: str = ""
    erp_connect_timeout_seconds: float = 5.0
    erp_read_timeout_seconds: float = 30.0
    # Postings one dispatcher sends side by side (each of another batch): overlaps the ERP's answer times.
    erp_concurrency: int = 4
    # This installation's logical id: the Sender of every posting and part of every idempotency key.
    site_id: str = "SITE-1"

    @property
    def production(self) -> bool:
        """True in production mode, where demo shortcuts are refused."""
        return self.env == "production"

    @property
    def db_url(self) -> str:
        """The application's database URL (SQLite in the instance folder by default)."""
        return self.database_url or f"sqlite:///{(self.instance_path / 'ebr.sqlite3').resolve()}"

    @property
    def migration_db_url(self) -> str:
        """The owner's URL, used only to run migrations."""
        return self.admin_database_url or self.db_url

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests)."""
        return replace(self, **changes)  # type: ignore[arg-type]  # keyword names are checked by replace()

    def check(self) -> None:
        """Refuse unsafe combinations before anything starts."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"EBR_ENV must be one of {', '.join(ENVIRONMENTS)}.")
        self._check_notifications()
        self._check_erp()
        if not self.production:
            return
        if self.secret_key == DEMO_SECRET or len(self.secret_key) < 32:
            raise ConfigError("Production mode needs EBR_SECRET_KEY: at least 32 random characters, not the demo key.")
        if self.fast_password_hashing:
            raise ConfigError("Production mode refuses the test-only password hashing profile.")
        if not self.secure_cookies:
            raise ConfigError("Production mode requires secure cookies (HTTPS).")
        if not self.force_https:
            raise ConfigError("Production mode requires HTTPS (EBR_FORCE_HTTPS): 21 CFR 11.30, open networks.")

    def _check_erp(self) -> None:
        if self.erp_url and not _is_http_url(self.erp_url):
            raise ConfigError("EBR_ERP_URL must be an http:// or https:// URL with a host.")
        if self.production and self.erp_url.startswith("http://"):
            raise ConfigError("Production mode sends ERP postings over HTTPS only (EBR_ERP_URL): 21 CFR 11.30.")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", self.site_id):
            raise ConfigError("EBR_SITE_ID must be 1-64 letters, digits, '.', '_' or '-'.")
        for name, value in (("CONNECT", self.erp_connect_timeout_seconds), ("READ", self.erp_read_timeout_seconds)):
            if not 0 < value <= 600:
                raise ConfigError(f"EBR_ERP_{name}_TIMEOUT must be more than 0 and at most 600 seconds.")
        if not 1 <= self.erp_concurrency <= 32:
            raise ConfigError("EBR_ERP_CONCURRENCY must be between 1 and 32.")

    def _check_notifications(self) -> None:
        if self.notify_webhook_url:
            if not _is_http_url(self.notify_webhook_url):
                raise ConfigError("EBR_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL with a host.")
            if self.notify_smtp_host:
                raise ConfigError("Notify by webhook (EBR_NOTIFY_WEBHOOK_URL) or by e-mail (EBR_NOTIFY_SMTP_HOST).")
        if not self.notify_smtp_host:
            return
        if not 0 < self.notify_smtp_port < 65536:
            raise ConfigError("EBR_NOTIFY_SMTP_PORT must be a port number (1-65535).")
        addresses = (self.notify_smtp_from, *self.notify_smtp_to)
        if not self.notify_smtp_to or any("@" not in a or any(c.isspace() for c in a) for a in addresses):
            raise ConfigError("E-mail notification needs EBR_NOTIFY_SMTP_FROM and EBR_NOTIFY_SMTP_TO addresses.")


def _is_http_url(text: str) -> bool:
    try:
        url = urlsplit(text)
        _ = url.port  # raises on a port out of range
    except ValueError:
        return False
    return url.scheme in ("http", "https") and bool(url.hostname) and not any(c.isspace() for c in text)


def _port(value: str, name: str = "EBR_NOTIFY_SMTP_PORT") -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}.") from None


def _seconds(value: str, name: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}.") from None


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from EBR_* variables, with safe demo defaults."""
    env = dict(os.environ if environ is None else environ)
    mode = env.get("EBR_ENV", "demo")
    settings = Settings(
        env=mode,
        instance_path=Path(env.get("EBR_INSTANCE_PATH", "instance")),
        database_url=env.get("EBR_DATABASE_URL", ""),
        admin_database_url=env.get("EBR_ADMIN_DATABASE_URL", ""),
        app_db_role=env.get("EBR_DB_APP_ROLE", "ebr_app"),
        secret_key=env.get("EBR_SECRET_KEY", DEMO_SECRET),
        host=env.get("EBR_HOST", "127.0.0.1"),
        port=int(env.get("EBR_PORT", "5000")),
        library_dir=Path(env.get("EBR_LIBRARY_DIR", ".")),
        fast_password_hashing=_flag(env.get("EBR_FAST_HASHING"), False),
        secure_cookies=_flag(env.get("EBR_SECURE_COOKIES"), mode == "production"),
        alert_webhook_url=env.get("EBR_ALERT_WEBHOOK_URL", ""),
        build_commit=env.get("EBR_BUILD_COMMIT", ""),
        worker_interval_seconds=float(env.get("EBR_WORKER_INTERVAL", "10")),
        force_https=_flag(env.get("EBR_FORCE_HTTPS"), mode == "production"),
        trusted_proxies=int(env.get("EBR_TRUSTED_PROXIES", "0")),
        notify_webhook_url=env.get("EBR_NOTIFY_WEBHOOK_URL", "").strip(),
        notify_smtp_host=env.get("EBR_NOTIFY_SMTP_HOST", "").strip(),
        notify_smtp_port=_port(env.get("EBR_NOTIFY_SMTP_PORT", "25")),
        notify_smtp_from=env.get("EBR_NOTIFY_SMTP_FROM", "").strip(),
        notify_smtp_to=tuple(a.strip() for a in env.get("EBR_NOTIFY_SMTP_TO", "").split(",") if a.strip()),
        tsa_url=env.get("EBR_TSA_URL", "").strip(),
        demo_modbus_port=_port(env.get("EBR_DEMO_MODBUS_PORT", "5020"), "EBR_DEMO_MODBUS_PORT"),
        erp_url=env.get("EBR_ERP_URL", "").strip(),
        erp_connect_timeout_seconds=_seconds(env.get("EBR_ERP_CONNECT_TIMEOUT", "5"), "EBR_ERP_CONNECT_TIMEOUT"),
        erp_read_timeout_seconds=_seconds(env.get("EBR_ERP_READ_TIMEOUT", "30"), "EBR_ERP_READ_TIMEOUT"),
        erp_concurrency=_port(env.get("EBR_ERP_CONCURRENCY", "4"), "EBR_ERP_CONCURRENCY"),
        site_id=env.get("EBR_SITE_ID", "SITE-1").strip(),
    )
    settings.check()
    return settings
