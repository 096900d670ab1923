"""``make run``'s last step: the devnet, the contract, demo data, the Celery worker and beat, and the web server.

Every process it starts is its child; Ctrl-C (or SIGTERM) stops them all. A worker, beat or web process that
crashes is started again with backoff (``finance_portal.portal.supervisor``) while the others keep running.
A second run reuses what exists: the Anvil state file under ``.run/anvil/``, the database, the deployed
contract and the demo data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chain_adapter.devnet import Anvil, DevnetError, chain_id_at
from finance_portal.portal.demo import DEMO_LOGINS, DEMO_PASSWORD
from finance_portal.portal.supervisor import Supervisor

ROOT = Path(settings.BASE_DIR)


class Command(BaseCommand):
    help = "Run the whole platform in the foreground (devnet, worker, beat, web). Ctrl-C stops everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")

    def handle(self, *args: Any, **options: Any) -> None:
        port = int(options["port"])
        run_dir = ROOT / ".run"
        logs = run_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(self.spawn, self.say)
        anvil: Anvil | None = None

        def stop_all(*_: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop_all)
        signal.signal(signal.SIGINT, stop_all)
        try:
            rpc = settings.ETH_RPC_URL
            existing = chain_id_at(rpc)
            if existing is not None:
                if existing != settings.CHAIN_ID:
                    raise CommandError(f"{rpc} answers with chain id {existing}, expected {settings.CHAIN_ID}.")
                self.say(f"devnet: reusing the node already answering at {rpc}")
            else:
                parsed = urlparse(rpc)
                if parsed.hostname not in ("127.0.0.1", "localhost"):
                    raise CommandError(f"Nothing answers at ETH_RPC_URL={rpc}.")
                anvil = Anvil(
                    port=parsed.port or 8545,
                    chain_id=settings.CHAIN_ID,
                    state_file=Path(settings.ANVIL_STATE_FILE),
                    block_time=1,
                    state_interval=5,
                    log_file=logs / "anvil.log",
                )
                try:
                    anvil.start()
                except DevnetError as err:
                    raise CommandError(f"Could not start Anvil: {err}") from err
                self.say(f"devnet: Anvil on {anvil.url} (state in {settings.ANVIL_STATE_FILE})")

            self.deploy_contract()
            if not options["no_demo"]:
                call_command("seed_demo", stdout=self.stdout)

            python = sys.executable
            env = os.environ.copy()
            env.setdefault("DJANGO_SETTINGS_MODULE", "finance_portal.settings.dev")
            celery = [python, "-m", "celery", "-A", "finance_portal"]
            supervisor.start("worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2", "-Q",
                                        settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"worker-{os.getpid()}@%h"],
                             env, logs / "worker.log")
            supervisor.start("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule",
                                      str(run_dir / "celerybeat-schedule")], env, logs / "beat.log")
            call_command("collectstatic", interactive=False, verbosity=0)
            supervisor.start("web", [python, "-m", "gunicorn", "finance_portal.wsgi:application", "--bind",
                                     f"127.0.0.1:{port}", "--workers", "3", "--timeout", "60",
                                     "--access-logfile", "-"], env, logs / "web.log")
            self.wait_for_web(port, supervisor)
            self.banner(port)
            while True:
                supervisor.check()
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.say("stopping…")
        finally:
            supervisor.stop_all()
            if anvil is not None:
                anvil.stop()
            self.say("stopped.")

    def deploy_contract(self) -> None:
        """Deploy the anchoring contract, or find the existing deployment (once chain_adapter provides it)."""
        if "deploy_contract" in get_commands():
            call_command("deploy_contract", stdout=self.stdout)

    def spawn(self, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        out = open(log, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=str(ROOT))

    def wait_for_web(self, port: int, supervisor: Supervisor) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
                return
            except (urllib.error.URLError, OSError):
                supervisor.check()
                time.sleep(0.3)
        raise CommandError("The web server did not answer within 60 s; see .run/logs/web.log")

    def banner(self, port: int) -> None:
        width = max(len(u) for u, _ in DEMO_LOGINS)
        lines = [
            "",
            f"  The finance portal is running: http://127.0.0.1:{port}/",
            f"  Log in at http://127.0.0.1:{port}/accounts/login/ with password {DEMO_PASSWORD}:",
        ]
        lines += [f"    {user.ljust(width)}  {what}" for user, what in DEMO_LOGINS]
        lines += [
            f"  API: http://127.0.0.1:{port}/api/v1/   docs: http://127.0.0.1:{port}/api/docs/",
            "  DEBUG is " + ("on (Django's debug pages)" if settings.DEBUG else "off (DEBUG=1 make run for Django's debug pages)"),
            "  Logs: .run/logs/   Press Ctrl-C to stop everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def say(self, message: str) -> None:
        self.stdout.write(f"[run] {message}")
        self.stdout.flush()
