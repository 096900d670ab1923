"""`make run`'s last step end to end: devnet, worker, beat and web come up, users log in, a killed worker is
started again while the web keeps serving, and a stop ends all."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest
from django.conf import settings

from chain_adapter.devnet import DEV_ACCOUNTS, chain_id_at, free_port
from chain_adapter.models import AnchorRecord, AnchorStatus, AnchorTransaction
from tests.conftest import ROOT, _test_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _login(base: str, username: str, password: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=data, headers={"Referer": f"{base}/accounts/login/"})
    response = opener.open(request, timeout=10)
    return response.geturl()


def test_runstack_serves_the_login_and_stops_everything_on_sigint(tmp_path: Path):
    web_port, rpc_port = free_port(), free_port()
    env = os.environ.copy()
    env.update(
        DJANGO_SETTINGS_MODULE="finance_portal.settings.dev",
        DATABASE_URL=_test_database_url(),
        ETH_RPC_URL=f"http://127.0.0.1:{rpc_port}",
        ANVIL_STATE_FILE=str(tmp_path / "anvil" / "state.json"),
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE + "-runstack",
        PORT=str(web_port),
    )
    output = tmp_path / "runstack.log"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstack"], cwd=ROOT, env=env,
        stdout=open(output, "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C" not in output.read_text():
            assert proc.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        banner = output.read_text()
        assert f"{base}/" in banner and "demo12345" in banner
        for user in ("supplier", "supplier2", "buyer", "financier", "financier2", "regulator", "admin"):
            assert user in banner
        assert chain_id_at(env["ETH_RPC_URL"]) == 31337
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "anvil" in names and "celery" in names and " worker" in names and " beat" in names and "gunicorn" in names
        assert _login(base, "financier", "demo12345") == f"{base}/home/financier/"
        assert _login(base, "buyer", "demo12345") == f"{base}/home/core_enterprise/"

        # make run anchors with two keys (MAKE_RUN_ANCHORING): the demo's history is anchored by both senders.
        deadline = time.monotonic() + 90
        while AnchorRecord.objects.exclude(status=AnchorStatus.CONFIRMED).exists() or not AnchorRecord.objects.exists():
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        senders = set(AnchorTransaction.objects.values_list("sender", flat=True))
        assert senders == {DEV_ACCOUNTS[0][0], DEV_ACCOUNTS[1][0]}, senders

        # A crashed worker is started again with backoff; the web keeps serving meanwhile.
        worker = next(c for c in children if " worker" in " ".join(c.cmdline()) and c.ppid() == proc.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "worker: started again (restart 1" not in output.read_text():
            assert proc.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            assert _login(base, "supplier", "demo12345") == f"{base}/home/supplier/"
            time.sleep(0.2)
        assert "worker exited with code -9" in output.read_text()
        children = psutil.Process(proc.pid).children(recursive=True)
        workers = [c for c in children if " worker" in " ".join(c.cmdline()) and c.ppid() == proc.pid]
        assert len(workers) == 1 and workers[0].pid != worker.pid and workers[0].is_running()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, child.cmdline()
    assert chain_id_at(env["ETH_RPC_URL"]) is None
    assert (tmp_path / "anvil" / "state.json").exists(), "Anvil should save its state on the way out"
