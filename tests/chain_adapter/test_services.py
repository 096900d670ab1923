"""The operator's retry of a failed record (service and admin action), and who may do it."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chain_adapter.errors import AnchoringNotPermitted, AnchorRecordNotFound, AnchorRetryRefused
from chain_adapter.hashing import ZERO_HASH, keccak256_hex
from chain_adapter.models import AnchorAuditLog, AnchorRecord, AnchorStatus
from chain_adapter.services import anchor_record_retry
from tests.conftest import login

pytestmark = pytest.mark.django_db


def failed_record(name: str = "failed") -> AnchorRecord:
    return AnchorRecord.objects.create(
        key=keccak256_hex(name + "-key"), prev_hash=ZERO_HASH, event_hash=keccak256_hex(name + "-event"),
        status=AnchorStatus.FAILED, last_error="On chain, the head of key … is something else.",
    )


def user(username: str):
    return get_user_model().objects.get(username=username)


def test_platform_staff_puts_a_failed_record_back_in_the_queue(demo_orgs):
    record = failed_record()
    retried = anchor_record_retry(record_id=record.pk, actor=user("admin"))
    assert retried.status == AnchorStatus.PENDING and retried.last_error == ""
    record.refresh_from_db()
    assert record.status == AnchorStatus.PENDING
    entry = AnchorAuditLog.objects.get(record=record)
    assert entry.action == "retry" and entry.actor == user("admin")
    assert entry.detail["previous_error"].startswith("On chain")


def test_only_failed_records_can_be_retried(demo_orgs):
    record = failed_record()
    anchor_record_retry(record_id=record.pk, actor=user("admin"))
    with pytest.raises(AnchorRetryRefused, match="pending") as refused:
        anchor_record_retry(record_id=record.pk, actor=user("admin"))
    assert refused.value.http_status == 409
    assert AnchorAuditLog.objects.count() == 1


def test_others_than_platform_staff_may_not_retry(demo_orgs):
    record = failed_record()
    for username in ("supplier", "financier", "regulator"):
        with pytest.raises(AnchoringNotPermitted) as refused:
            anchor_record_retry(record_id=record.pk, actor=user(username))
        assert refused.value.http_status == 403
    record.refresh_from_db()
    assert record.status == AnchorStatus.FAILED and not AnchorAuditLog.objects.exists()


def test_an_unknown_record_is_not_found(demo_orgs):
    with pytest.raises(AnchorRecordNotFound) as missing:
        anchor_record_retry(record_id=987654, actor=user("admin"))
    assert missing.value.http_status == 404


def test_the_admin_retry_action_goes_through_the_service(demo_orgs):
    failed, pending = failed_record("a"), failed_record("b")
    anchor_record_retry(record_id=pending.pk, actor=user("admin"))
    client = login(Client(), "admin")
    response = client.post(
        "/admin/chain_adapter/anchorrecord/",
        {"action": "retry_failed", "_selected_action": [failed.pk, pending.pk]},
        follow=True,
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == AnchorStatus.PENDING
    text = response.content.decode()
    assert "1 record(s) queued again" in text and "Only failed records can be retried" in text
    assert AnchorAuditLog.objects.filter(record=failed, actor=user("admin")).exists()


def test_the_admin_lists_records_and_transactions_by_status(demo_orgs):
    failed_record()
    client = login(Client(), "admin")
    for url in ("/admin/chain_adapter/anchorrecord/?status__exact=failed",
                "/admin/chain_adapter/anchortransaction/?status__exact=sent",
                "/admin/chain_adapter/contractdeployment/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/chain_adapter/contractdeployment/add/").status_code == 403
