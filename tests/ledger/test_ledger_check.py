"""``manage.py ledger_check``: clean is exit 0 with totals per currency; a tampered ledger (triggers bypassed
with ``session_replication_role = replica``) is a non-zero exit that names what is wrong."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from finance_portal.ledger import services
from tests.conftest import ROOT, _test_database_url
from tests.ledger.conftest import build_world, deposit


def tamper(statement: str, *params: object) -> None:
    """Run ``statement`` with every trigger skipped, as a privileged edit would. Checks still pending in the
    test's transaction run first, on the rows as the services left them."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(statement, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def check() -> tuple[str, str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("ledger_check", stdout=out, stderr=err)
    except CommandError as error:
        return out.getvalue(), err.getvalue(), error
    return out.getvalue(), err.getvalue(), None


@pytest.mark.django_db
def test_a_sound_ledger_passes_and_prints_totals_per_currency(world):
    deposit(world, "financier", "1000.00")
    deposit(world, "supplier", "5.00", currency="USD")
    services.withdrawal_record(organization=world.org("financier"), amount="250.00", currency="CNY",
                               reference="OUT-1", reason="x", actor=None)
    out, err, error = check()
    assert error is None, err
    assert "CNY: organizations' cash 750.00, fee income 0.00, deposits minus withdrawals 750.00" in out
    assert "USD: organizations' cash 5.00" in out
    assert "ledger sound" in out


@pytest.mark.django_db
def test_an_empty_ledger_passes(world):
    assert check()[2] is None


@pytest.mark.django_db
def test_an_amount_edited_behind_the_triggers_is_reported_by_entry(world):
    entry = deposit(world, "financier", "1000.00", reference="IN-7")
    tamper("UPDATE ledger_posting SET amount = 900 WHERE entry_id = %s AND amount > 0", entry.pk)
    out, err, error = check()
    assert error is not None
    assert f"entry #{entry.pk} (deposit, IN-7) does not balance: its CNY postings sum to -100.00" in err
    assert "CNY: the platform holds 900.00, but deposits minus withdrawals are 1000.00" in err


@pytest.mark.django_db
def test_a_negative_cash_balance_is_reported(world):
    deposit(world, "financier", "100.00")
    out_entry = services.withdrawal_record(organization=world.org("financier"), amount="100.00", currency="CNY",
                                           reference="OUT-1", reason="x", actor=None)
    # Both legs of the withdrawal doubled: the entry still balances, the cash account is below zero.
    tamper("UPDATE ledger_posting SET amount = amount * 2 WHERE entry_id = %s", out_entry.pk)
    _, err, error = check()
    assert error is not None
    assert "is below zero: -100.00 CNY" in err
    assert "does not balance" not in err


@pytest.mark.django_db
def test_a_deleted_posting_and_a_currency_change_are_reported(world):
    a = deposit(world, "financier", "100.00")
    b = deposit(world, "supplier", "100.00")
    tamper("DELETE FROM ledger_posting WHERE entry_id = %s AND amount < 0", a.pk)
    tamper("UPDATE ledger_posting SET currency = 'USD' WHERE entry_id = %s AND amount > 0", b.pk)
    _, err, error = check()
    assert error is not None
    assert f"entry #{a.pk} (deposit, {a.reference}) has 1 posting(s)" in err
    assert f"entry #{b.pk}: posting" in err and "is in USD on a CNY account" in err


def _run_command() -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "finance_portal.settings.test",
           "DATABASE_URL": _test_database_url()}
    return subprocess.run([sys.executable, "manage.py", "ledger_check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_zero_when_sound_and_non_zero_after_tampering():
    world = build_world()
    entry = deposit(world, "financier", "1000.00", reference="IN-9")
    sound = _run_command()
    assert sound.returncode == 0, sound.stderr
    tamper("UPDATE ledger_posting SET amount = 1 WHERE entry_id = %s AND amount > 0", entry.pk)
    broken = _run_command()
    assert broken.returncode != 0
    assert f"entry #{entry.pk} (deposit, IN-9) does not balance" in broken.stderr
