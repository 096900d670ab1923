"""Rules evaluated when bill events happen: ``bills`` tells the hooks named in ``BILL_EVENT_HOOKS`` of each
event; oversight's hook adds the bill to the waiting ones once the event commits and queues
``oversight.evaluate_pending`` unless one waits, and the task stores what the bill-scoped rules find for every
waiting bill, without waiting for the sweep."""

from __future__ import annotations

import time

import pytest
from django.db import transaction
from django.test import override_settings

from bills import services
from bills.errors import BillTransitionRefused
from finance_portal.oversight import hooks, tasks
from finance_portal.oversight.models import OversightFlag, Rule
from finance_portal.oversight.services import SweepResult, oversight_evaluate_bill
from tests.bills.factories import accepted, build_world, draft, financed, in_days, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):  # type: ignore[no-untyped-def]
    """``evaluate_pending.delay`` runs the task here and now (as a worker would); the bills it evaluated."""
    hooks.forget_pending()  # what earlier tests of this worker left in Redis
    evaluated: list[str] = []
    real = tasks.oversight_evaluate_bill

    def evaluate(*, bill_id: str):  # type: ignore[no-untyped-def]
        evaluated.append(bill_id)
        return real(bill_id=bill_id)

    monkeypatch.setattr(tasks, "oversight_evaluate_bill", evaluate)
    monkeypatch.setattr(tasks.evaluate_pending, "delay", lambda: tasks.evaluate_pending.apply().get())
    yield evaluated
    hooks.forget_pending()


def test_bills_name_the_oversight_hook_by_setting(settings):
    assert "finance_portal.oversight.hooks.bill_event_appended" in settings.BILL_EVENT_HOOKS


@override_settings(OVERSIGHT_NO_INVOICE_THRESHOLD="1000000.00")
def test_a_flag_appears_when_the_event_commits(world, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bill = services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code,
                                   face="2500000.00", maturity_date=in_days(90).isoformat())
        assert not OversightFlag.objects.exists()  # nothing before the commit
    [flag] = OversightFlag.objects.all()
    assert flag.rule == Rule.ISSUED_WITHOUT_INVOICES and flag.bill_id == bill.pk
    assert queued == [str(bill.pk)]


@override_settings(OVERSIGHT_OUTLIER_MIN_HISTORY=5)
def test_an_outlier_is_flagged_by_its_creation_event(world, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for face in ("10000.00", "12000.00", "9000.00", "11000.00", "10000.00"):
            draft(world, face)
        big = draft(world, "300000.00")
    assert list(OversightFlag.objects.values_list("rule", "bill_id")) == [(Rule.AMOUNT_OUTLIER, big.pk)]


def test_an_invoice_reused_is_flagged_by_the_second_bills_event(world, queued, django_capture_on_commit_callbacks):
    inv = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
    with django_capture_on_commit_callbacks(execute=True):
        draft(world, "4000.00", invoice=inv)
        draft(world, "6000.00", invoice=inv)
    [flag] = OversightFlag.objects.all()
    assert flag.rule == Rule.INVOICE_REUSED and flag.subject == f"invoice:{inv.pk}"


def test_a_circular_transfer_is_flagged_by_the_receipt_that_closes_it(world, queued,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bill = accepted(world)
        for giver, taker in (("supplier", "supplier2"), ("supplier2", "supplier")):
            services.bill_transfer(bill_id=bill.pk, actor=world.user(giver), to=world.org(taker).credit_code)
            services.bill_receive(bill_id=bill.pk, actor=world.user(taker))
    [flag] = OversightFlag.objects.all()
    assert flag.rule == Rule.CIRCULAR_TRANSFER and flag.bill_id == bill.pk
    assert queued[-1] == str(bill.pk)


@override_settings(OVERSIGHT_QUICK_FINANCING_COUNT=2, OVERSIGHT_QUICK_FINANCING_MINUTES=30)
def test_quick_financing_is_flagged_by_the_purchase_that_reaches_the_count(world, queued,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        financed(world)
    assert not OversightFlag.objects.filter(rule=Rule.QUICK_FINANCING).exists()  # one purchase: under the count
    with django_capture_on_commit_callbacks(execute=True):
        financed(world)
    [flag] = OversightFlag.objects.filter(rule=Rule.QUICK_FINANCING)
    assert flag.organization_id == world.org("buyer").pk and len(flag.evidence["bills"]) == 2


def test_one_evaluation_per_bill_and_transaction(world, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            bill = draft(world)
            services.bill_submit(bill_id=bill.pk, actor=world.user("supplier"))
            services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))
            other = draft(world)
    assert sorted(queued) == sorted([str(bill.pk), str(other.pk)])
    assert [c.bill_id for c in callbacks if isinstance(c, hooks._Evaluate)].count(str(bill.pk)) == 1


def test_commits_while_an_evaluation_waits_queue_no_other_message(world, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    """Three transactions while the first message waits untaken: one message, three bills waiting; the task
    evaluates all three and a commit after it started queues a message again."""
    hooks.forget_pending()
    sent: list[int] = []
    monkeypatch.setattr(tasks.evaluate_pending, "delay", lambda: sent.append(1))
    bills = []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            bills.append(draft(world))
    assert sent == [1]
    evaluated: list[str] = []
    monkeypatch.setattr(tasks, "oversight_evaluate_bill",
                        lambda *, bill_id: evaluated.append(bill_id) or SweepResult())
    assert tasks.evaluate_pending.apply().get() == {"bills": 3, "created": 0}
    assert sorted(evaluated) == sorted(str(b.pk) for b in bills) and hooks.take_pending(10) == []
    with django_capture_on_commit_callbacks(execute=True):
        draft(world)
    assert sent == [1, 1]
    hooks.forget_pending()


def test_a_failed_evaluation_puts_the_rest_back(world, monkeypatch):
    hooks.forget_pending()
    monkeypatch.setattr(tasks.evaluate_pending, "delay", lambda: None)
    hooks.queue_evaluations(["b1", "b2", "b3"])
    seen: list[str] = []

    def evaluate(*, bill_id: str):  # type: ignore[no-untyped-def]
        seen.append(bill_id)
        if bill_id == "b2":
            raise RuntimeError("the database went away")
        return SweepResult()

    monkeypatch.setattr(tasks, "oversight_evaluate_bill", evaluate)
    with pytest.raises(RuntimeError):
        tasks.evaluate_pending.apply(throw=True)
    assert seen == ["b1", "b2"] and hooks.take_pending(10) == ["b2", "b3"]
    hooks.forget_pending()


def test_a_refused_event_queues_nothing(world, queued, django_capture_on_commit_callbacks):
    bill = draft(world)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(BillTransitionRefused):
            services.bill_accept(bill_id=bill.pk, actor=world.user("buyer"))  # a draft is not accepted
    assert callbacks == [] and queued == []


def test_evaluating_twice_keeps_one_flag(world):
    bill = services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code,
                               face="2500000.00", maturity_date=in_days(90).isoformat())
    first = oversight_evaluate_bill(bill_id=bill.pk)
    second = oversight_evaluate_bill(bill_id=str(bill.pk))
    assert (first.created, second.created, second.updated) == (1, 0, 1)
    assert OversightFlag.objects.count() == 1
    assert oversight_evaluate_bill(bill_id="not-a-bill").created == 0


def test_evaluating_a_clean_bill_stores_nothing(world, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        financed(world)
        accepted(world, debtor="buyer2")
    assert queued and OversightFlag.objects.count() == 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_stores_the_flag_after_the_event(celery_worker_process):
    """The worker reads its own settings: the default threshold (1,000,000.00) applies."""
    world = build_world()
    bill = services.bill_issue(actor=world.user("buyer"), to=world.org("supplier").credit_code,
                               face="2500000.00", maturity_date=in_days(90).isoformat())
    deadline = time.monotonic() + 30
    while not OversightFlag.objects.filter(bill=bill).exists():
        assert time.monotonic() < deadline, f"no flag within 30 s; see {celery_worker_process.log}"
        time.sleep(0.1)
    assert OversightFlag.objects.get(bill=bill).rule == Rule.ISSUED_WITHOUT_INVOICES


def test_a_purchase_after_16_utc_counts_for_the_next_shanghai_day(world):
    """``financing_facts(day=…)`` reads the platform's calendar day (Asia/Shanghai), whatever the hour the suite
    runs: a purchase at 16:30 UTC belongs to the next local day, not to its UTC day."""
    import datetime as dt

    from django.utils import timezone

    from bills import clock
    from finance_portal.oversight.selectors import financing_facts

    at = dt.datetime(2026, 3, 9, 16, 30, tzinfo=dt.UTC)  # 00:30 on 10 March in Shanghai
    with clock.travel_to(at):
        bill = financed(world)
    assert timezone.localdate(at) == dt.date(2026, 3, 10)
    debtor = bill.debtor_id
    assert [f.bill_id for f in financing_facts(debtor_id=debtor, day=dt.date(2026, 3, 10))] == [bill.pk]
    assert financing_facts(debtor_id=debtor, day=dt.date(2026, 3, 9)) == []
