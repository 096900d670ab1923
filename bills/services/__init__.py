"""The bill services: every transition of the rule book (``bills.rules``), one function each, by family.

``from bills import services`` and ``services.bill_accept(bill_id=..., actor=...)`` is how views, the API,
admin actions, commands and tasks change bills; nothing else writes the bills tables. ``SERVICES`` maps each
rule-book action to its function.

| module | actions |
|---|---|
| ``core`` | the guard, the event append, numbering, new bills, participants (shared) |
| ``inputs`` | parsing of inputs (400 naming the field) |
| ``creation`` | create, issue |
| ``review`` | submit, accept, reject, cancel |
| ``transfers`` | transfer, receive, refuse, split |
| ``market`` | list, unlist, buy (and the purchase that ``accept_offer`` shares) |
| ``offers`` | offer, accept_offer, and a financier withdrawing its offer |
| ``settlement`` | settle, request and accept early settlement, auto_settle: the face paid through the ledger |
| ``maturity`` | overdue, default, lapse, and the daily sweep |
| ``freeze`` | freeze, unfreeze |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bills.services.core import platform_organization
from bills.services.creation import bill_create, bill_issue
from bills.services.freeze import bill_freeze, bill_unfreeze
from bills.services.market import bill_buy, bill_list, bill_unlist
from bills.services.maturity import (
    bill_lapse,
    bill_mark_defaulted,
    bill_mark_overdue,
    bills_mark_overdue_and_default,
)
from bills.services.offers import offer_accept, offer_make, offer_withdraw
from bills.services.review import bill_accept, bill_cancel, bill_reject, bill_submit
from bills.services.settlement import (
    bill_accept_early_settlement,
    bill_auto_settle,
    bill_request_early_settlement,
    bill_settle,
)
from bills.services.transfers import bill_receive, bill_refuse, bill_split, bill_transfer

SERVICES: dict[str, Callable[..., Any]] = {
    "create": bill_create,
    "issue": bill_issue,
    "submit": bill_submit,
    "accept": bill_accept,
    "reject": bill_reject,
    "cancel": bill_cancel,
    "transfer": bill_transfer,
    "receive": bill_receive,
    "refuse": bill_refuse,
    "split": bill_split,
    "list": bill_list,
    "unlist": bill_unlist,
    "buy": bill_buy,
    "offer": offer_make,
    "accept_offer": offer_accept,
    "settle": bill_settle,
    "request_early_settlement": bill_request_early_settlement,
    "accept_early_settlement": bill_accept_early_settlement,
    "auto_settle": bill_auto_settle,
    "overdue": bill_mark_overdue,
    "default": bill_mark_defaulted,
    "lapse": bill_lapse,
    "freeze": bill_freeze,
    "unfreeze": bill_unfreeze,
}

__all__ = [
    "SERVICES",
    "bill_accept_early_settlement",
    "bill_auto_settle",
    "bill_request_early_settlement",
    "offer_accept",
    "offer_make",
    "offer_withdraw",
    "bill_accept",
    "bill_buy",
    "bill_cancel",
    "bill_create",
    "bill_freeze",
    "bill_issue",
    "bill_lapse",
    "bill_list",
    "bill_mark_defaulted",
    "bill_mark_overdue",
    "bill_receive",
    "bill_refuse",
    "bill_reject",
    "bill_settle",
    "bill_split",
    "bill_submit",
    "bill_transfer",
    "bill_unfreeze",
    "bill_unlist",
    "bills_mark_overdue_and_default",
    "platform_organization",
]
