"""The words of a notification, built from its ``kind`` and ``params`` in the active language (gettext), so the
inbox shows each reader their language and an email goes out in its recipient's."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext

from finance_portal.notifications.models import NotificationKind
from finance_portal.portal.templatetags.money import format_money, percent


def _values(params: Mapping[str, object]) -> dict[str, str]:
    values = {key: str(value) for key, value in params.items()}
    values["face"] = format_money(params.get("face") or None, str(params.get("currency", "")))
    return values


def title(kind: str) -> str:
    """The notification's heading: its kind's label in the active language."""
    return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind


def body(kind: str, params: Mapping[str, object]) -> str:
    """One sentence that says what happened and what the recipient should do."""
    v = _values(params)
    if kind == NotificationKind.BILL_SUBMITTED:
        return gettext("%(creditor)s submitted bill %(number)s for %(face)s, due %(maturity)s: accept it or "
                       "reject it.") % v
    if kind == NotificationKind.BILL_ISSUED:
        return gettext("%(debtor)s issued bill %(number)s to you for %(face)s, due %(maturity)s: sign for it or "
                       "refuse it.") % v
    if kind == NotificationKind.BILL_TRANSFERRED:
        return gettext("%(sender)s transferred bill %(number)s to you (%(face)s, owed by %(debtor)s, due "
                       "%(maturity)s): sign for it or refuse it.") % v
    if kind == NotificationKind.BILL_OVERDUE and params.get("as") == "debtor":
        return gettext("Bill %(number)s that you owe (%(face)s) fell due on %(maturity)s and is unpaid: pay the "
                       "holder.") % v
    if kind == NotificationKind.BILL_OVERDUE:
        return gettext("Bill %(number)s owed by %(debtor)s (%(face)s) fell due on %(maturity)s and is unpaid: "
                       "it is overdue.") % v
    if kind == NotificationKind.BILL_FROZEN:
        return gettext("Bill %(number)s (%(face)s, owed by %(debtor)s) was frozen by the platform: it cannot move "
                       "until it is unfrozen.") % v
    if kind == NotificationKind.OFFER_MADE:
        v["rate"] = percent(params.get("rate"))
        return gettext("%(financier)s offers %(rate)s a year for bill %(number)s (%(face)s, owed by %(debtor)s): "
                       "accept the offer on the bill's page, or let it lapse.") % v
    if kind == NotificationKind.EARLY_SETTLEMENT_REQUESTED:
        return gettext("%(debtor)s asks to pay bill %(number)s (%(face)s) now, before its maturity on "
                       "%(maturity)s: accept the early settlement on the bill's page, or leave it.") % v
    return title(kind)
