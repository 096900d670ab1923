"""What a confirmation page says before an action that moves money or cannot be undone runs: who pays whom
how much, where the bill goes, what ends for good, in the request's language.

The one thing to know: nothing here decides or writes. The figures come from the same functions the services
use (``selectors.purchase_quote`` for a price, the bill's face for a settlement), an input that cannot be
read raises the services' own error so the form shows it beside its field, and the service checks everything
again when the confirmed form is posted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from bills import page_forms, rules, selectors
from bills.errors import BillInvalid
from bills.models import Bill
from bills.portfolio import annualized_yield
from bills.selectors import PurchaseQuote
from bills.services import inputs
from finance_portal.money import CURRENCIES, parse_amount, quantize


@dataclass
class Summary:
    sentence: str
    lines: list[str] = field(default_factory=list)
    quote: PurchaseQuote | None = None
    annual_yield: Decimal | None = None
    final: bool = True  # cannot be undone once done


@dataclass(frozen=True)
class Preview:
    """A price at a rate, as the live preview and the confirmations show it."""

    quote: PurchaseQuote | None
    annual_yield: Decimal | None


def price_preview(bill: Bill, rate: Decimal) -> Preview:
    """The price, interest and days of ``bill`` bought today at ``rate``, and the buyer's yield a year: the
    services' own quote (``selectors.purchase_quote``), never a second formula."""
    quote = selectors.purchase_quote(bill=bill, rate=rate)
    if quote is None:
        return Preview(quote=None, annual_yield=None)
    return Preview(quote=quote, annual_yield=annualized_yield(gain=quote.interest, cost=quote.price,
                                                              days=quote.days, basis=quote.basis))


def money_text(amount: Decimal, bill: Bill) -> str:
    """As the ``money`` template filter shows it: 9,910.00 CNY (a true minus sign for a negative amount)."""
    shown = quantize(amount, bill.currency)
    sign = "\u2212" if shown < 0 else ""
    return f"{sign}{abs(shown):,.{CURRENCIES[bill.currency]}f} {bill.currency}"


def summary(request: HttpRequest, *, bill: Bill, rule: rules.Transition, kwargs: dict[str, Any],
            rows: list[page_forms.PartRow]) -> Summary:
    """The words of the confirmation of ``rule`` on ``bill`` with the form's arguments ``kwargs``."""
    org = selectors.viewer_organization(request.user)
    assert org is not None  # the rule book let the viewer's organization try the action
    inputs.reason_text(kwargs.get("reason", ""), required=rule.reason_required)
    words = {"number": bill.number, "face": money_text(bill.face, bill)}
    action = rule.action
    if action == "list":
        rate = inputs.parse_rate(kwargs["rate"])
        preview = price_preview(bill, rate)
        text = _("Bill %(number)s (face %(face)s) goes on the marketplace at %(rate)s a year. Any financier may "
                 "buy it at that rate without asking you again.") % {**words, "rate": _percent(rate)}
        lines = []
        if preview.quote is not None:
            lines.append(_("Bought today, it pays you %(price)s: the face less %(interest)s interest for "
                           "%(days)s days. The price rises as maturity nears.")
                         % {"price": money_text(preview.quote.price, bill), "interest": money_text(preview.quote.interest, bill),
                            "days": preview.quote.days})
        return Summary(text, lines, preview.quote, preview.annual_yield, final=False)
    if action == "transfer":
        receiver = page_forms.receiver_for_summary(kwargs["to"], acting=org, field_name="to")
        return Summary(_("Bill %(number)s (face %(face)s) is offered to %(name)s (%(code)s). Once it signs for the "
                         "bill, it holds the claim and your organization no longer does.")
                       % {**words, "name": receiver.display_name, "code": receiver.credit_code})
    if action == "split":
        return Summary(_("Bill %(number)s (face %(face)s) ends for good and becomes these %(count)s bills:")
                       % {**words, "count": len(rows)}, _split_lines(bill, rows, org))
    if action == "cancel":
        return Summary(_("Bill %(number)s (face %(face)s) is cancelled for good; its invoices are free again.")
                       % words)
    if action == "reject":
        return Summary(_("Your organization rejects bill %(number)s (face %(face)s) for good; its creditor sees "
                         "your reason.") % words)
    if action == "settle":
        return Summary(_("Your organization pays %(holder)s %(face)s, the face of bill %(number)s; the bill is "
                         "settled.") % {**words, "holder": bill.holder.display_name})
    if action == "accept_early_settlement":
        return Summary(_("%(debtor)s pays your organization %(face)s now, the face of bill %(number)s; the bill is "
                         "settled before maturity.") % {**words, "debtor": bill.debtor.display_name})
    return Summary(_("Bill %(number)s: %(action)s.") % {**words, "action": _(rule.label)})


def _split_lines(bill: Bill, rows: list[page_forms.PartRow], org: Any) -> list[str]:
    lines = []
    total = Decimal("0")
    for n, row in enumerate(rows):
        amount = inputs.check_face(parse_amount(row.face, bill.currency, field=f"parts[{n}].face"), bill.currency,
                                   field=f"parts[{n}].face", part=True)
        total += amount
        if row.transfer_to:
            receiver = page_forms.receiver_for_summary(row.transfer_to, acting=org,
                                                       field_name=f"parts[{n}].transfer_to")
            lines.append(_("Part %(n)s: %(amount)s, offered to %(name)s (%(code)s)")
                         % {"n": n + 1, "amount": money_text(amount, bill), "name": receiver.display_name,
                            "code": receiver.credit_code})
        else:
            lines.append(_("Part %(n)s: %(amount)s, stays with your organization")
                         % {"n": n + 1, "amount": money_text(amount, bill)})
    if len(rows) < 2:
        raise BillInvalid(_("A split makes at least two parts."), field="parts")
    if total != bill.face:
        raise BillInvalid(_("The parts add up to %(total)s; they must add up to the face, %(face)s (%(left)s "
                            "left to share out).") % {"total": money_text(total, bill), "face": money_text(bill.face, bill),
                                                      "left": money_text(bill.face - total, bill)}, field="parts")
    return lines



def _percent(rate: Decimal) -> str:
    from bills.market_views import percent_text  # the pages' one way of writing a rate

    return percent_text(rate)
