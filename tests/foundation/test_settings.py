"""Start-up refuses missing or malformed settings with one line naming the variable."""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import get_origin, get_type_hints

import pytest

from finance_portal.settings import base

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "finance_portal.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "ETH_RPC_URL": "https://rpc.example.com",
    "CHAIN_ID": "11155111",
    "ANCHOR_PRIVATE_KEY": "0x" + secrets.token_hex(32),
}
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def manage(*args: str, env: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    leaked = ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "TEST_DATABASE_NAME")
    full = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in leaked}
    full.update(env)
    for key in drop:
        full.pop(key, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "variable", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "CHAIN_ID", "ANCHOR_PRIVATE_KEY"]
)
def test_production_refuses_to_start_without_a_required_variable(variable):
    result = manage("check", env=PRODUCTION, drop=(variable,))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


@pytest.mark.parametrize(
    "variable, value",
    [
        ("SECRET_KEY", "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnop"),
        ("SECRET_KEY", "short"),
        ("SECRET_KEY", "a" * 60),
        ("ALLOWED_HOSTS", "*"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("CHAIN_ID", "mainnet"),
        ("CHAIN_ID", "0"),
        ("DEBUG", "perhaps"),
        ("ANCHOR_PRIVATE_KEY", "0x1234"),
        ("ANCHOR_BATCH_SIZE", "0"),
        ("ANCHOR_MAX_WAIT_SECONDS", "-1"),
        ("ANCHOR_MAX_WAIT_SECONDS", "NaN"),
        ("ANCHOR_MAX_WAIT_SECONDS", "soon"),
    ],
)
def test_malformed_values_stop_start_up_naming_the_variable(variable, value):
    result = manage("check", env={**PRODUCTION, variable: value})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


@pytest.mark.parametrize("key", [ANVIL_KEY, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"])
def test_anvil_dev_keys_are_refused_on_a_chain_that_is_not_a_devnet(key):
    result = manage("check", env={**PRODUCTION, "ANCHOR_PRIVATE_KEY": key, "CHAIN_ID": "1"})
    assert result.returncode == 2
    assert "ANCHOR_PRIVATE_KEY" in result.stderr and "chain id 1" in result.stderr


@pytest.mark.parametrize(("extra", "message"), [
    ({"ANCHOR_SENDERS": "2"}, "needs exactly 1 keys in ANCHOR_EXTRA_PRIVATE_KEYS"),
    ({"ANCHOR_EXTRA_PRIVATE_KEYS": "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"},
     "public development key, refused on chain id 1"),
])
def test_extra_anchor_senders_need_keys_of_their_own_in_production(extra, message):
    result = manage("check", env={**PRODUCTION, "CHAIN_ID": "1", **extra})
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_anvil_dev_key_is_accepted_on_a_devnet():
    result = manage("check", env={**PRODUCTION, "ANCHOR_PRIVATE_KEY": ANVIL_KEY, "CHAIN_ID": "31337"})
    assert result.returncode == 0, result.stderr


def test_development_settings_work_with_no_variables_at_all():
    result = manage("check", env={"DJANGO_SETTINGS_MODULE": "finance_portal.settings.dev"},
                    drop=("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "CHAIN_ID"))
    assert result.returncode == 0, result.stderr


def test_production_debug_is_off_by_default():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)",
                    env=PRODUCTION)
    assert result.stdout.strip().splitlines()[-1] == "False True", result.stderr


@pytest.mark.parametrize("debug, expected", [(None, "False"), ("1", "True"), ("0", "False")])
def test_development_debug_is_off_unless_debug_1(debug, expected):
    """``make run`` (development settings) shows the portal's error pages; ``DEBUG=1`` brings the debug page."""
    script = "from django.conf import settings as s; print(s.DEBUG, '127.0.0.1' in s.ALLOWED_HOSTS and 'localhost' in s.ALLOWED_HOSTS)"
    env = {"DJANGO_SETTINGS_MODULE": "finance_portal.settings.dev"} | ({"DEBUG": debug} if debug else {})
    result = manage("shell", "-c", script, env=env)
    assert result.stdout.strip().splitlines()[-1] == f"{expected} True", result.stdout + result.stderr


def test_development_serves_static_files_and_the_styled_404_with_debug_off():
    script = (
        "from django.test import Client; c = Client();"
        "print(c.get('/static/css/portal.css').status_code, c.get('/static/favicon.svg').status_code,"
        " c.get('/no-such-page/').status_code, b'URLconf' in c.get('/no-such-page/').content)"
    )
    result = manage("shell", "-c", script, env={"DJANGO_SETTINGS_MODULE": "finance_portal.settings.dev"})
    assert result.stdout.strip().splitlines()[-1] == "200 200 404 False", result.stdout + result.stderr


def test_admin_asks_for_a_one_time_password_when_2fa_is_required(tmp_path):
    script = (
        "from django.test import Client; from django.conf import settings; settings.ALLOWED_HOSTS=['testserver'];"
        "r = Client().get('/admin/login/', secure=True); print(r.status_code, b'otp_token' in r.content)"
    )
    # Production serves hashed static names from collectstatic's manifest: collect into a directory of its own,
    # so the test does not depend on an earlier `make run` having collected them.
    production = {**PRODUCTION, "ADMIN_REQUIRE_2FA": "1", "STATIC_ROOT": str(tmp_path / "static")}
    collected = manage("collectstatic", "--noinput", "-v", "0", env=production)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    result = manage("shell", "-c", script, env=production)
    assert result.stdout.strip().splitlines()[-1] == "200 True", result.stdout + result.stderr
    dev = manage("shell", "-c", script, env={"DJANGO_SETTINGS_MODULE": "finance_portal.settings.dev", "ADMIN_REQUIRE_2FA": "0"})
    assert dev.stdout.strip().splitlines()[-1] == "200 False", dev.stdout + dev.stderr


def test_the_settings_build_returns_are_declared_with_their_types():
    """base.py declares (annotations, no values) exactly what build() returns, so mypy's django plugin sees them."""
    hints = get_type_hints(base)
    declared = {name for name in hints if not hasattr(base, name)}
    built = base.build(dev=True)
    assert declared == set(built)
    for name, value in built.items():
        assert isinstance(value, get_origin(hints[name]) or hints[name]), name
