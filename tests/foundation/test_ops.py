"""Operations: liveness and readiness, request ids in responses, logs and Celery tasks, JSON logs, metrics."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import types

import pytest
from celery.signals import before_task_publish
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chain_adapter.models import AnchorRecord
from finance_portal.logging_json import JsonFormatter
from finance_portal.portal import requestid
from tests.conftest import login

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pending_record(age: dt.timedelta) -> AnchorRecord:
    record = AnchorRecord.objects.create(key="0x" + "ab" * 32, prev_hash="0x" + "00" * 32, event_hash="0x" + "cd" * 32)
    AnchorRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


# --- /healthz and /readyz ------------------------------------------------------------------------------------

def test_healthz_answers_without_touching_the_database():
    with CaptureQueriesContext(connection) as queries:
        response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert len(queries) == 0


@pytest.mark.chain
def test_readyz_is_200_when_every_check_passes(anchor_contract):
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "redis", "chain", "contract", "anchoring_lag"}
    assert all(check["ok"] for check in body["checks"].values())
    assert anchor_contract.address in body["checks"]["contract"]["detail"]


@pytest.mark.chain
def test_readyz_is_503_naming_redis_when_redis_is_down(anchor_contract, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]
    assert response.json()["status"] == "fail"


@pytest.mark.chain
def test_readyz_is_503_naming_the_anchoring_lag_when_an_old_record_waits(anchor_contract, settings):
    settings.READYZ_MAX_ANCHOR_LAG_SECONDS = 60
    pending_record(dt.timedelta(minutes=10))
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["anchoring_lag"]
    assert "over 60 s" in response.json()["checks"]["anchoring_lag"]["detail"]


def test_readyz_names_the_chain_and_contract_when_the_node_is_down(settings):
    settings.ETH_RPC_URL = f"http://127.0.0.1:{closed_port()}"
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert {"chain", "contract"} <= set(response.json()["failing"])


def test_health_endpoints_need_no_login_and_no_csrf():
    client = Client(enforce_csrf_checks=True)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/readyz")["Content-Type"] == "application/json"


# --- request ids ---------------------------------------------------------------------------------------------

def test_a_sane_incoming_request_id_comes_back():
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a_01")
    assert response["X-Request-ID"] == "edge-7f3a_01"


@pytest.mark.parametrize("incoming", [None, "", "x" * 65, "bad id", "<script>", "a;b"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    first = Client().get("/healthz", **headers)["X-Request-ID"]
    second = Client().get("/healthz", **headers)["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0 and first != second


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(requestid.RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_log_records_of_a_request_carry_its_id():
    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        Client().get("/no-such-page/", HTTP_X_REQUEST_ID="req-42")
    finally:
        logging.getLogger().removeHandler(capture)
    not_found = [r for r in capture.records if r.getMessage().startswith("Not Found")]
    assert not_found and all(r.request_id == "req-42" for r in not_found)  # type: ignore[attr-defined]
    logging.getLogger("test").warning("after the request")
    assert requestid.current_request_id() is None


def test_the_configured_console_handler_adds_the_request_id(settings):
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]
    console = [h for h in logging.getLogger().handlers
               if any(isinstance(f, requestid.RequestIdFilter) for f in h.filters)]
    assert console, "LOGGING's console handler has no RequestIdFilter"


def test_the_json_formatter_writes_one_object_per_record():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("bills", logging.ERROR, __file__, 1, "bill %s refused", ("B-1",), exc_info=True)
        import sys

        record.exc_info = sys.exc_info()
    record.request_id = "abc"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "ERROR" and entry["logger"] == "bills" and entry["message"] == "bill B-1 refused"
    assert entry["request_id"] == "abc" and "ValueError: boom" in entry["exc_info"]
    assert dt.datetime.fromisoformat(entry["time"]).utcoffset() == dt.timedelta(0)


def test_production_logs_json_and_development_text():
    from tests.foundation.test_settings import PRODUCTION, manage

    script = "from django.conf import settings; print(settings.LOG_FORMAT, settings.LOGGING['handlers']['console']['formatter'])"
    assert manage("shell", "-c", script, env=PRODUCTION).stdout.strip().splitlines()[-1] == "json json"
    dev = manage("shell", "-c", script, env={"DJANGO_SETTINGS_MODULE": "finance_portal.settings.dev"})
    assert dev.stdout.strip().splitlines()[-1] == "text text"


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_during_a_request_carries_its_id(demo_orgs):
    published: list[dict[str, object]] = []

    def record(headers=None, **_):  # type: ignore[no-untyped-def]
        published.append(dict(headers or {}))

    before_task_publish.connect(record, weak=False)
    try:
        client = login(Client(), "admin")
        response = client.post("/ops/worker/", HTTP_X_REQUEST_ID="probe-req-1")  # queues a probe on commit
    finally:
        before_task_publish.disconnect(record)
    assert response.status_code == 302
    assert [h.get("request_id") for h in published if h.get("task") == "portal.worker_probe_process"] == ["probe-req-1"]


def test_the_worker_runs_a_task_under_the_id_it_carries():
    task = types.SimpleNamespace(request=types.SimpleNamespace(request_id="from-web-1"))
    requestid.on_task_prerun(task_id="t1", task=task)
    assert requestid.current_request_id() == "from-web-1"
    requestid.on_task_postrun(task_id="t1")
    assert requestid.current_request_id() is None
    headers: dict[str, object] = {}
    requestid.on_before_task_publish(headers=headers)  # outside a request: nothing to carry
    assert headers == {}


# --- /metrics ------------------------------------------------------------------------------------------------

def metric_value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics")


def test_metrics_show_anchoring_bills_and_request_latency():
    pending_record(dt.timedelta(minutes=5))
    client = Client()
    client.get("/healthz")
    text = client.get("/metrics").content.decode()
    assert 300 <= metric_value(text, "finance_portal_anchoring_lag_seconds") < 400
    assert metric_value(text, 'finance_portal_anchor_records{status="pending"}') == 1
    assert metric_value(text, 'finance_portal_anchor_records{status="confirmed"}') == 0
    assert 'finance_portal_anchor_transactions{status="stuck"} 0.0' in text
    assert 'finance_portal_bills{state="accepted"} 0.0' in text
    assert '# TYPE finance_portal_http_request_duration_seconds histogram' in text
    assert 'finance_portal_http_request_duration_seconds_count{method="GET",route="portal:health"}' in text


def test_metrics_are_refused_to_remote_addresses_without_the_token(settings, demo_orgs):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert Client().get("/metrics", **remote).status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **remote).status_code == 403
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403  # proxied from loopback
    assert login(Client(), "supplier").get("/metrics", **remote).status_code == 403
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token", **remote).status_code == 200
    assert login(Client(), "admin").get("/metrics", **remote).status_code == 200  # platform staff
    assert Client().get("/metrics").status_code == 200  # loopback
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ", **remote).status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_a_task_under_the_id_of_the_request_that_queued_it(celery_worker_process, demo_orgs):
    from finance_portal.portal.models import WorkerProbe
    from tests.foundation.test_celery_roundtrip import wait_for

    marker = "req-" + socket.gethostname().replace(".", "-")[:20] + "-" + str(celery_worker_process.process.pid)
    response = login(Client(), "admin").post("/ops/worker/", HTTP_X_REQUEST_ID=marker)
    assert response.status_code == 302
    assert wait_for(lambda: WorkerProbe.objects.filter(processed_at__isnull=False).exists())
    assert wait_for(lambda: any(marker in line and "succeeded" in line
                                for line in celery_worker_process.log.read_text().splitlines())), (
        f"no log line of the task with {marker}; see {celery_worker_process.log}")
