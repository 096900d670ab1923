"""Reads on the ledger: balances (always derived from postings), who sees which account, statements, and the
proofs behind ``manage.py ledger_check``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value, Window
from django.db.models.functions import Coalesce

from finance_portal.ledger.errors import AccountNotFound
from finance_portal.ledger.models import Account, AccountKind, JournalEntry, Posting
from finance_portal.organizations.selectors import membership_of
from finance_portal.users import Viewer

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=20, decimal_places=2)


def is_platform_staff(user: Viewer) -> bool:
    """A superuser, or a staff user who is a member of the platform operator."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_staff", False):
        return False
    membership = membership_of(user)
    return membership is not None and membership.organization.is_platform


def account_balance(account: Account) -> Decimal:
    """The account's balance: the sum of its postings (0.00 when it has none)."""
    total = Posting.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
    return total if total is not None else ZERO


def with_balances(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """``accounts`` with a ``balance`` attribute each, in one query."""
    return accounts.annotate(balance=Coalesce(Sum("postings__amount"), Value(ZERO), output_field=_MONEY))


def accounts_visible_to(user: Viewer) -> QuerySet[Account]:
    """The accounts of the user's organization; platform members (and superusers) also see the platform's own
    accounts (bank clearing, fee income). Ordered by kind, currency, id."""
    if isinstance(user, AnonymousUser):
        return Account.objects.none()
    membership = membership_of(user)
    reach = Q(pk__in=[])
    if membership is not None:
        reach |= Q(organization_id=membership.organization_id)
    if (membership is not None and membership.organization.is_platform) or getattr(user, "is_superuser", False):
        reach |= Q(organization__isnull=True)
    return Account.objects.filter(reach).order_by("kind", "currency", "pk")


def account_get_visible(*, user: Viewer, account_id: object) -> Account:
    """The account if the user may see it; ``AccountNotFound`` otherwise (foreign and missing look alike)."""
    try:
        return accounts_visible_to(user).get(pk=int(str(account_id)))
    except (Account.DoesNotExist, ValueError, OverflowError):
        raise AccountNotFound("No such account among your organization's.") from None


def sees_all_accounts(user: Viewer) -> bool:
    """Regulators, members of the platform operator and superusers read every account, read-only (DESIGN §8:
    "everything, read-only"). Reading is all this grants: moving money stays with platform staff."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated or not getattr(user, "is_active", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    membership = membership_of(user)
    return membership is not None and (membership.organization.is_regulator or membership.organization.is_platform)


def accounts_readable_by(user: Viewer) -> QuerySet[Account]:
    """What the portal's money pages may show the user: every account for those who see everything
    (``sees_all_accounts``), otherwise the accounts of ``accounts_visible_to``. Owners joined."""
    queryset = Account.objects.all() if sees_all_accounts(user) else accounts_visible_to(user)
    return queryset.select_related("organization")


def account_get_readable(*, user: Viewer, account_id: object) -> Account:
    """The account if the user may read it (``accounts_readable_by``); ``AccountNotFound`` otherwise."""
    try:
        return accounts_readable_by(user).select_related("organization").get(pk=int(str(account_id)))
    except (Account.DoesNotExist, ValueError, OverflowError):
        raise AccountNotFound("No such account among those you may read.") from None


def accounts_overview(*, organization_id: int | None = None) -> QuerySet[Account]:
    """Every account with its ``balance`` and owner, for readers of everything: organizations' cash by
    organization name, then the platform's own; or one organization's (``organization_id``). One query."""
    queryset = Account.objects.all() if organization_id is None else Account.objects.filter(
        organization_id=organization_id)
    return with_balances(queryset.select_related("organization")).order_by(
        F("organization__legal_name").asc(nulls_last=True), "kind", "currency", "pk")


# ---------------------------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    account: Account
    date_from: dt.date | None
    date_to: dt.date | None
    opening_balance: Decimal
    closing_balance: Decimal
    lines: QuerySet[Posting]  # each with .balance (running, after the line) and .entry
    count: int = 0  # how many lines
    balance_now: Decimal = ZERO  # the account's balance now, whatever the period


class CountedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator told its count (``Statement.count``) instead of asking the database for it."""

    def __init__(self, object_list: Any, per_page: int, *, count: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count  # ``Paginator.count`` is a cached property: this is its cached value


def _day_start(day: dt.date, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def account_statement(*, account: Account, date_from: dt.date | None = None,
                      date_to: dt.date | None = None, tz: dt.tzinfo = dt.UTC) -> Statement:
    """The account's postings between two dates (both inclusive, days in ``tz``: UTC unless the caller names
    another zone, as the portal does with the platform's), oldest first, each with the running balance after
    it; the opening balance is everything before ``date_from``. The opening, the period's total and its number
    of lines, and the balance now come from one aggregate over the account's postings (a filter each)."""
    postings = Posting.objects.filter(account=account)
    period = Q()
    if date_from:
        period &= Q(entry__created_at__gte=_day_start(date_from, tz))
    if date_to:
        period &= Q(entry__created_at__lt=_day_start(date_to + dt.timedelta(days=1), tz))
    sums = {"in_period": Sum("amount", filter=period or None, default=ZERO), "count": Count("pk", filter=period or None),
            "now": Sum("amount", default=ZERO)}
    if date_from:
        sums["opening"] = Sum("amount", filter=Q(entry__created_at__lt=_day_start(date_from, tz)), default=ZERO)
    figures = postings.aggregate(**sums)
    opening = figures.get("opening", ZERO)
    order = [F("entry__created_at").asc(), F("entry_id").asc()]
    lines = (
        postings.filter(period).select_related("entry")
        .annotate(balance=Window(Sum("amount"), order_by=order, output_field=_MONEY) + Value(opening, _MONEY))
        .order_by(*order)
    )
    return Statement(account, date_from, date_to, opening, opening + figures["in_period"], lines,
                     count=figures["count"], balance_now=figures["now"])


# ---------------------------------------------------------------------------------------------------------
# Proofs (manage.py ledger_check)
# ---------------------------------------------------------------------------------------------------------


def totals_by_currency() -> dict[str, dict[str, Decimal]]:
    """Per currency: the sum of balances of each account kind."""
    out: dict[str, dict[str, Decimal]] = {}
    rows = Posting.objects.order_by().values("currency", "account__kind").annotate(total=Sum("amount"))
    for row in rows:
        out.setdefault(row["currency"], {})[row["account__kind"]] = row["total"]
    return out


def ledger_problems() -> list[str]:
    """Everything that is wrong with the ledger, one sentence each; empty when it is sound.

    Checked from the rows, trusting no trigger: every entry has two postings or more, summing to zero per
    currency, all in the entry's and their account's currency; no cash balance is negative; and, per currency,
    the money held on the platform (organizations' cash and fee income) equals deposits minus withdrawals
    (the bank-clearing balance negated).
    """
    problems: list[str] = []
    unbalanced = list(
        Posting.objects.order_by().values("entry_id", "currency").annotate(total=Sum("amount")).exclude(total=0)
    )
    thin = list(JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("pk", "n"))
    named = JournalEntry.objects.in_bulk({row["entry_id"] for row in unbalanced} | {pk for pk, _ in thin})

    def entry(pk: int) -> str:
        e = named[pk]
        return f"entry #{pk} ({e.kind}{', ' + e.reference if e.reference else ''})"

    for row in sorted(unbalanced, key=lambda r: (r["entry_id"], r["currency"])):
        problems.append(f"{entry(row['entry_id'])} does not balance: its {row['currency']} postings sum to {row['total']}")
    for pk, n in sorted(thin):
        problems.append(f"{entry(pk)} has {n} posting(s); an entry needs two or more")
    mismatched = (
        Posting.objects.filter(~Q(currency=F("entry__currency")) | ~Q(currency=F("account__currency")))
        .order_by("entry_id", "pk")
        .values_list("entry_id", "pk", "currency", "account__currency", "entry__currency")
    )
    for entry_id, pk, currency, account_currency, entry_currency in mismatched:
        problems.append(
            f"entry #{entry_id}: posting {pk} is in {currency} on a {account_currency} account of a "
            f"{entry_currency} entry"
        )
    negative = (
        Account.objects.filter(kind=AccountKind.CASH)
        .annotate(total=Sum("postings__amount"))
        .filter(total__lt=0)
        .order_by("pk")
        .values_list("pk", "name", "total", "currency")
    )
    for pk, name, total, currency in negative:
        problems.append(f"account {pk} ({name}) is below zero: {total} {currency}")
    for currency, kinds in sorted(totals_by_currency().items()):
        held = sum((total for kind, total in kinds.items() if kind != AccountKind.BANK_CLEARING), ZERO)
        banked = -kinds.get(AccountKind.BANK_CLEARING, ZERO)
        if held != banked:
            problems.append(f"{currency}: the platform holds {held}, but deposits minus withdrawals are {banked}")
    return problems
