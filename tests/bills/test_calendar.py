"""One calendar for dates (issue 13): invoices and bills alike date things in the platform's time zone
(settings.TIME_ZONE, Asia/Shanghai by default), not in UTC. At 23:30 UTC it is already tomorrow in Shanghai:
a bill drafted then is issued tomorrow, and an invoice dated tomorrow (UTC) is not "in the future"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bills import clock, services
from invoices import services as invoice_services
from invoices.errors import InvoiceInvalid
from tests.bills.factories import accepted, make_invoice

pytestmark = pytest.mark.django_db

LATE_UTC = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)  # 07:30 on 26 November in Shanghai
SHANGHAI_DAY = dt.date(2026, 11, 26)


def test_the_platform_calendar_is_shanghai_not_utc(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    with clock.travel_to(LATE_UTC):
        assert clock.now().date() == dt.date(2026, 11, 25)
        assert clock.today() == SHANGHAI_DAY


def test_a_bill_drafted_late_utc_is_issued_on_the_shanghai_date_and_counts_days_from_it(world):
    with clock.travel_to(LATE_UTC):
        invoice = make_invoice(world.org("supplier"), world.org("buyer"), total="10000.00")
        bill = services.bill_create(actor=world.user("supplier"), maturity_date="2026-12-26",
                                    invoice_allocations=[{"invoice": str(invoice.pk), "amount": "10000.00"}])
        assert bill.issue_date == SHANGHAI_DAY
        with pytest.raises(Exception) as refused:  # maturity must come after today, which is the 26th there
            services.bill_create(actor=world.user("supplier"), maturity_date="2026-11-26", invoice_allocations=[
                {"invoice": str(make_invoice(world.org("supplier"), world.org("buyer")).pk), "amount": "10000.00"}])
        assert "maturity" in str(refused.value).lower() or getattr(refused.value, "field", "") == "maturity_date"


def test_settling_counts_days_late_in_the_platform_calendar(world):
    bill = accepted(world, "10000.00", days=30)
    maturity = bill.maturity_date
    # 16:30 UTC on the day after maturity is 00:30 two days after in Shanghai: two days late, not one.
    moment = dt.datetime.combine(maturity + dt.timedelta(days=1), dt.time(16, 30), tzinfo=dt.UTC)
    with clock.travel_to(moment):
        services.bill_settle(bill_id=bill.pk, actor=world.user("buyer"))
    from bills.models_money import BillSettlement

    assert BillSettlement.objects.get(bill=bill).days_late == 2


def test_an_invoice_dated_today_in_shanghai_is_accepted_at_late_utc(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: LATE_UTC)
    assert invoice_services._clean_issue_date(SHANGHAI_DAY.isoformat()) == SHANGHAI_DAY
    with pytest.raises(InvoiceInvalid):
        invoice_services._clean_issue_date((SHANGHAI_DAY + dt.timedelta(days=1)).isoformat())
