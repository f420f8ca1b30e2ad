"""Server configuration (docs/configuration.md): environment defaults, flags over environment, and
start-up refused with a message naming the variable for any invalid value."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pxl_prover.config import ConfigError, load_config
from pxl_prover.server import parse_args


def test_defaults_are_the_design_defaults():
    config = load_config(env={})
    assert (config.port, config.pool_size, config.cache_ttl_s, config.cache_size) == (
        8088, 5, 300.0, 1000,
    )  # fmt: skip
    assert config.log_level == "INFO" and config.max_request_size == 1_048_576
    assert config.connection_timeout_s == 60.0 and config.enable_hmac_auth is False
    assert config.expected_kernel_hash is None
    assert config.host == "127.0.0.1"  # open to the network only when asked (the image asks)


def test_environment_is_read(tmp_path):
    env = {
        "PXL_SERVER_PORT": "9001",
        "PXL_POOL_SIZE": "3",
        "PXL_CACHE_TTL": "2.5",
        "PXL_CACHE_SIZE": "0",
        "LOG_LEVEL": "debug",
        "MAX_REQUEST_SIZE": "4096",
        "CONNECTION_TIMEOUT": "5",
        "PXL_EXPECTED_KERNEL_HASH": "AB" * 32,
        "PXL_KERNEL_DIR": str(tmp_path),
        "ENABLE_HMAC_AUTH": "TRUE",
        "HMAC_SECRET_KEY": "s" * 32,
    }
    config = load_config(env=env)
    assert (config.port, config.pool_size, config.cache_ttl_s, config.cache_size) == (
        9001, 3, 2.5, 0,
    )  # fmt: skip
    assert config.log_level == "DEBUG" and config.max_request_size == 4096
    assert config.expected_kernel_hash == "ab" * 32 and config.kernel_dir == tmp_path
    assert config.enable_hmac_auth and config.hmac_keys() == [b"s" * 32]


def test_flags_override_the_environment():
    args = parse_args(["serve", "--port", "9100", "--pool-size", "2", "--debug"])
    overrides = {k: v for k, v in vars(args).items() if k != "command"}
    config = load_config(env={"PXL_SERVER_PORT": "9001", "PXL_POOL_SIZE": "7"}, overrides=overrides)
    assert config.port == 9100 and config.pool_size == 2
    assert config.debug and config.log_level == "DEBUG"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"PXL_SERVER_PORT": "eighty"}, "PXL_SERVER_PORT"),
        ({"PXL_SERVER_PORT": "70000"}, "PXL_SERVER_PORT"),
        ({"PXL_POOL_SIZE": "0"}, "PXL_POOL_SIZE"),
        ({"PXL_CACHE_TTL": "-1"}, "PXL_CACHE_TTL"),
        ({"PXL_CACHE_TTL": "nan"}, "PXL_CACHE_TTL"),
        ({"PXL_CACHE_SIZE": "lots"}, "PXL_CACHE_SIZE"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"MAX_REQUEST_SIZE": "1e6"}, "MAX_REQUEST_SIZE"),
        ({"CONNECTION_TIMEOUT": "0"}, "CONNECTION_TIMEOUT"),
        ({"ENABLE_HMAC_AUTH": "maybe"}, "ENABLE_HMAC_AUTH"),
        ({"PXL_EXPECTED_KERNEL_HASH": "abc"}, "PXL_EXPECTED_KERNEL_HASH"),
        ({"PXL_KERNEL_DIR": "/no/such/folder"}, "PXL_KERNEL_DIR"),
    ],
)
def test_invalid_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        load_config(env=env)


def test_an_invalid_flag_names_the_flag_and_the_variable():
    with pytest.raises(ConfigError, match=r"--port \(overrides PXL_SERVER_PORT\)"):
        load_config(env={}, overrides={"port": "x"})


def run_serve(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pxl_prover", "serve"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_to_start_and_says_why():
    done = run_serve(PXL_POOL_SIZE="none", HMAC_SECRET_KEY="topsecret-value")
    assert done.returncode == 2
    assert "PXL_POOL_SIZE" in done.stderr and "Traceback" not in done.stderr


def test_serve_refuses_hmac_without_key_and_never_prints_a_secret():
    done = run_serve(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY="short-topsecret")
    assert done.returncode == 2 and "HMAC_SECRET_KEY" in done.stderr
    assert "topsecret" not in done.stderr + done.stdout


def test_a_timeout_the_engine_cannot_honour_refuses_to_start():
    done = run_serve(PXL_MAX_TIMEOUT_MS="700000")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "PXL_MAX_TIMEOUT_MS" in done.stderr and "600000" in done.stderr
    with pytest.raises(ConfigError, match="PXL_DEFAULT_TIMEOUT_MS"):
        load_config(env={"PXL_DEFAULT_TIMEOUT_MS": "600001"})
    assert load_config(env={"PXL_MAX_TIMEOUT_MS": "600000"}).max_timeout_ms == 600_000


def test_the_engine_takes_its_timeout_ceiling_from_the_configuration():
    from pxl_prover import config, engine

    prover = engine.Prover(checker=None)  # type: ignore[arg-type]
    assert prover._budget(config.TIMEOUT_CEILING_MS) == config.TIMEOUT_CEILING_MS
    with pytest.raises(ValueError, match=str(config.TIMEOUT_CEILING_MS)):
        prover._budget(config.TIMEOUT_CEILING_MS + 1)


def test_shutdown_grace_follows_the_longest_request():
    config = load_config(env={"PXL_MAX_TIMEOUT_MS": "120000", "PXL_POOL_WAIT": "3"})
    assert config.grace_s > config.max_timeout_ms / 1000 + config.pool_wait_s
    assert load_config(env={"PXL_SHUTDOWN_GRACE": "7"}).grace_s == 7.0


def test_waitress_keeps_threads_free_for_probes_beyond_the_admission_limit():
    config = load_config(env={"PXL_POOL_SIZE": "20", "PXL_MAX_QUEUE": "10", "PXL_THREADS": "16"})
    assert config.waitress_threads >= 20 + 10 + 2
    with pytest.raises(ConfigError, match="PXL_MAX_QUEUE"):
        load_config(env={"PXL_MAX_QUEUE": "-1"})
