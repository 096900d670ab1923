"""The compose file cannot run here (no Docker engine): check it is consistent with the code instead."""

from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def test_compose_has_every_service():
    assert set(COMPOSE["services"]) == {"web", "worker", "beat", "postgres", "redis", "anvil"}


def test_every_portal_service_command_refers_to_something_that_exists():
    known_commands = set(get_commands())
    for name in ("web", "worker", "beat", "anvil"):
        service = COMPOSE["services"][name]
        assert service["build"]["dockerfile"] == "docker/Dockerfile"
        command = " ".join(service["command"])
        for part in command.split("&&"):
            words = part.split()
            if "manage.py" in words:
                sub = words[words.index("manage.py") + 1]
                assert sub in known_commands, f"{name}: unknown command {sub}"
            if words[0] == "celery" or "celery" in words:
                assert words[words.index("-A") + 1] == "finance_portal"
            if "gunicorn" in words:
                module, _, attr = words[words.index("gunicorn") + 1].partition(":")
                assert (ROOT / (module.replace(".", "/") + ".py")).exists() and attr == "application"
            if words[0].startswith("node_modules/"):
                assert words[0] == "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
                assert (ROOT / "package.json").read_text().count("@foundry-rs/anvil") == 1


def test_the_dockerfile_copies_every_top_level_package():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for package in ("finance_portal", "bills", "invoices", "sme_credit", "chain_adapter", "templates", "manage.py"):
        assert f"COPY {package}" in dockerfile
    assert "finance_portal.settings.production" in dockerfile


def test_the_portal_services_use_the_settings_the_code_reads():
    env = COMPOSE["x-portal-env"]
    for variable in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "CHAIN_ID",
                     "ANCHOR_PRIVATE_KEY"):
        assert variable in env
    assert env["DJANGO_SETTINGS_MODULE"] == "finance_portal.settings.production"
