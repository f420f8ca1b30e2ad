"""Server configuration (docs/configuration.md): environment variables, overridden by flags.

Everything is validated once, at start-up, so a typo in a deployment stops the process with
a message naming the variable instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_HMAC_KEY_BYTES = 32
# The longest request timeout the engine honours: every time limit (PXL_MAX_TIMEOUT_MS,
# PXL_DEFAULT_TIMEOUT_MS, the engine's own check of `timeout_ms`) is bounded by this one.
TIMEOUT_CEILING_MS = 600_000
# Waitress threads kept beyond the admission limit, so cache hits and refusals are served
# while every admitted goal holds a thread (probes have threads of their own).
SPARE_THREADS = 4


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"  # the image sets PXL_SERVER_HOST=0.0.0.0
    port: int = 8088
    pool_size: int = 5
    cache_ttl_s: float = 300.0
    cache_size: int = 1000
    log_level: str = "INFO"
    max_request_size: int = 1_048_576
    connection_timeout_s: float = 60.0
    enable_hmac_auth: bool = False
    hmac_secret_key: str | None = field(default=None, repr=False)
    hmac_secret_key_previous: str | None = field(default=None, repr=False)
    expected_kernel_hash: str | None = None
    kernel_dir: Path | None = None
    cache_dir: Path | None = None
    threads: int = 16
    pool_wait_s: float = 2.0
    session_max_uses: int = 2000
    session_memory_mb: int | None = 2048
    default_timeout_ms: int = 10_000
    max_timeout_ms: int = 60_000
    max_queue: int = 5
    max_batch: int = 100
    nonce_capacity: int = 100_000
    shutdown_grace_s: float | None = None  # None: follows from max_timeout_ms and pool_wait_s
    playground: bool | None = None  # None: the page is served exactly when HMAC is off
    debug: bool = False

    @property
    def grace_s(self) -> float:
        """How long shutdown waits for requests in flight: by default longer than the
        longest a request can take (the admission wait, then the whole timeout)."""
        if self.shutdown_grace_s is not None:
            return self.shutdown_grace_s
        return self.max_timeout_ms / 1000 + self.pool_wait_s + 10.0

    @property
    def waitress_threads(self) -> int:
        """PXL_THREADS, raised if needed so that every admitted request (running or
        queued) holds a thread and SPARE_THREADS are still free."""
        return max(self.threads, self.pool_size + self.max_queue + SPARE_THREADS)

    def hmac_keys(self) -> list[bytes]:
        """Accepted signing keys, current first; the previous one only during rotation."""
        keys = [self.hmac_secret_key, self.hmac_secret_key_previous]
        return [k.encode() for k in keys if k]


# --- value parsers: each raises ValueError with a human message ---------------------------


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("expected an integer") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def _timeout_ms(text: str) -> int:
    value = _int_at_least(1)(text)
    if value > TIMEOUT_CEILING_MS:
        raise ValueError(f"must be at most {TIMEOUT_CEILING_MS} (the longest the engine honours)")
    return value


def _port(text: str) -> int:
    """A TCP port; 0 asks the system for a free one."""
    value = _int_at_least(0)(text)
    if value > 65535:
        raise ValueError("must be a TCP port (0-65535)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return value


def _log_level(text: str) -> str:
    value = text.strip().upper()
    if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return value


def _kernel_hash(text: str) -> str:
    value = text.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError("expected a 64-character hex SHA-256")
    return value


def _dir(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ValueError(f"folder {path} does not exist")
    return path


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _memory_mb(text: str) -> int | None:
    if text.strip() in {"0", ""}:
        return None
    return _int_at_least(64)(text)


def _secret(text: str) -> str:
    return text


def _host(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


# (field, environment variable, parser, flag) — one table drives env, flags and messages.
SETTINGS: list[tuple[str, str, Callable[[str], Any], str]] = [
    ("host", "PXL_SERVER_HOST", _host, "--host"),
    ("port", "PXL_SERVER_PORT", _port, "--port"),
    ("pool_size", "PXL_POOL_SIZE", _int_at_least(1), "--pool-size"),
    ("cache_ttl_s", "PXL_CACHE_TTL", _seconds, "--cache-ttl"),
    ("cache_size", "PXL_CACHE_SIZE", _int_at_least(0), "--cache-size"),
    ("log_level", "LOG_LEVEL", _log_level, "--log-level"),
    ("max_request_size", "MAX_REQUEST_SIZE", _int_at_least(256), "--max-request-size"),
    ("connection_timeout_s", "CONNECTION_TIMEOUT", _seconds, "--connection-timeout"),
    ("enable_hmac_auth", "ENABLE_HMAC_AUTH", _bool, "--enable-hmac-auth"),
    ("hmac_secret_key", "HMAC_SECRET_KEY", _secret, "--hmac-secret-key"),
    ("hmac_secret_key_previous", "HMAC_SECRET_KEY_PREVIOUS", _secret, ""),
    ("expected_kernel_hash", "PXL_EXPECTED_KERNEL_HASH", _kernel_hash, "--expected-kernel-hash"),
    ("kernel_dir", "PXL_KERNEL_DIR", _dir, "--kernel-dir"),
    ("cache_dir", "PXL_CACHE_DIR", _path, "--cache-dir"),
    ("threads", "PXL_THREADS", _int_at_least(1), "--threads"),
    ("pool_wait_s", "PXL_POOL_WAIT", _seconds, "--pool-wait"),
    ("session_max_uses", "PXL_SESSION_MAX_USES", _int_at_least(1), "--session-max-uses"),
    ("session_memory_mb", "PXL_SESSION_MEMORY_MB", _memory_mb, "--session-memory-mb"),
    ("default_timeout_ms", "PXL_DEFAULT_TIMEOUT_MS", _timeout_ms, "--default-timeout-ms"),
    ("max_timeout_ms", "PXL_MAX_TIMEOUT_MS", _timeout_ms, "--max-timeout-ms"),
    ("max_queue", "PXL_MAX_QUEUE", _int_at_least(0), "--max-queue"),
    ("max_batch", "PXL_MAX_BATCH", _int_at_least(1), "--max-batch"),
    ("shutdown_grace_s", "PXL_SHUTDOWN_GRACE", _seconds, "--shutdown-grace"),
    ("playground", "PXL_PLAYGROUND", _bool, "--playground"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for every setting that has one; values stay strings and go through the parsers."""
    for name, env, _parse, flag in SETTINGS:
        if not flag:
            continue
        if name == "enable_hmac_auth":
            parser.add_argument(
                flag,
                dest=name,
                action="store_const",
                const="true",
                help=f"require HMAC-signed POSTs (env {env})",
            )
            continue
        parser.add_argument(flag, dest=name, metavar=env, help=f"overrides {env}")
    parser.add_argument("--debug", action="store_true", help="debug logging and error details")


def load_config(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, str | None] | None = None
) -> ServerConfig:
    """Build the configuration from the environment, then flag values (strings) on top.

    Raises ConfigError naming the variable (or flag) whose value is invalid.
    """
    env = os.environ if env is None else env
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for name, var, parse, flag in SETTINGS:
        raw, source = overrides.get(name), flag
        if raw is None:
            raw, source = env.get(var), var
        if raw is None:
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            label = source if source == var else f"{flag} (overrides {var})"
            shown = "<hidden>" if "SECRET" in var else repr(raw)
            raise ConfigError(f"invalid {label}={shown}: {exc}") from None
    if overrides.get("debug"):
        values["debug"] = True
        values["log_level"] = "DEBUG"
    config = ServerConfig(**values)
    _check_consistency(config)
    return config


def _check_consistency(config: ServerConfig) -> None:
    if config.enable_hmac_auth:
        for var, key in (
            ("HMAC_SECRET_KEY", config.hmac_secret_key),
            ("HMAC_SECRET_KEY_PREVIOUS", config.hmac_secret_key_previous),
        ):
            if var == "HMAC_SECRET_KEY" and not key:
                raise ConfigError(
                    "ENABLE_HMAC_AUTH=true but HMAC_SECRET_KEY is not set; "
                    f"set it to a random secret of at least {MIN_HMAC_KEY_BYTES} bytes"
                )
            if key and len(key.encode()) < MIN_HMAC_KEY_BYTES:
                raise ConfigError(
                    f"{var} is {len(key.encode())} bytes long; HMAC needs at least "
                    f"{MIN_HMAC_KEY_BYTES} bytes (e.g. `openssl rand -hex 32`)"
                )
    if config.default_timeout_ms > config.max_timeout_ms:
        raise ConfigError(
            f"PXL_DEFAULT_TIMEOUT_MS={config.default_timeout_ms} exceeds "
            f"PXL_MAX_TIMEOUT_MS={config.max_timeout_ms}"
        )


def configure_logging(config: ServerConfig) -> None:
    logging.basicConfig(
        level=getattr(logging, config.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
