"""The public verification page of a bill (no login): its transitions, where each is anchored, the verdict.

Anyone holding a bill's id (from the holder, a QR code or a bundle) can check it here or, without trusting
this server at all, download the bundle and run the standalone verifier against any node of the chain.
"""

from __future__ import annotations

import json
import uuid

import segno
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from bills.models import Bill
from bills.verification import bill_bundle, bill_verdict
from chain_adapter.errors import ChainError
from chain_adapter.selectors import deployment_current


def _bill_or_404(bill_id: str) -> Bill:
    try:
        pk = uuid.UUID(str(bill_id))
    except ValueError:
        raise Http404("No such bill.") from None
    try:
        return Bill.objects.select_related("debtor").get(pk=pk)
    except Bill.DoesNotExist:
        raise Http404("No such bill.") from None


@require_GET
def verify_page(request: HttpRequest, bill_id: str) -> HttpResponse:
    bill = _bill_or_404(bill_id)
    verdict = bill_verdict(bill=bill)
    checks = {c.hash: c for c in (verdict.report.events if verdict.report else [])}
    rows = []
    for event in bill.events.select_related("anchor").order_by("seq"):
        check = checks.get(event.hash)
        rows.append({"event": event, "check": check, "anchor": event.anchor})
    url = request.build_absolute_uri()
    qr_svg = segno.make(url, error="m").svg_inline(scale=3, dark="#1d2433")
    context = {
        "title": f"Verify bill {bill.number}",
        "bill": bill,
        "verdict": verdict,
        "rows": rows,
        "qr_svg": mark_safe(qr_svg),  # noqa: S308 (segno's own SVG of our own URL)
        "page_url": url,
        "rpc_url": settings.ETH_RPC_URL,
        "chain_id": settings.CHAIN_ID,
        "deployment": deployment_current(chain_id=settings.CHAIN_ID),
    }
    return render(request, "bills/verify.html", context)


@require_GET
def verify_bundle_download(request: HttpRequest, bill_id: str) -> HttpResponse:
    bill = _bill_or_404(bill_id)
    body = json.dumps(bill_bundle(bill=bill), indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="bill-{bill.number}-bundle.json"'
    return response


@require_GET
def verify_transaction(request: HttpRequest, tx_hash: str) -> HttpResponse:
    """The anchoring transaction as the node reports it: block, status and the bills it anchored."""
    from chain_adapter.client import ChainClient

    text = tx_hash.lower()
    if len(text) != 66 or not text.startswith("0x") or any(c not in "0123456789abcdef" for c in text[2:]):
        raise Http404("Not a transaction hash.")
    deployment = deployment_current(chain_id=settings.CHAIN_ID)
    receipt, error, anchored = None, None, []
    try:
        receipt = ChainClient.from_settings().receipt(text)
    except ChainError as err:
        error = str(err)
    if receipt is not None and deployment is not None:
        anchored = receipt.anchored(deployment.address)
    keys = {a.key for a in anchored}
    bills = {b.bill_key: b for b in Bill.objects.filter(pk__in=_ids_for_keys(keys))} if keys else {}
    return render(request, "bills/verify_tx.html", {
        "title": "Anchoring transaction", "tx_hash": text, "receipt": receipt, "error": error,
        "anchored": [(a, bills.get(a.key)) for a in anchored], "deployment": deployment,
    })


def _ids_for_keys(keys: set[str]) -> list[uuid.UUID]:
    from bills.models import BillEvent

    hashes = BillEvent.objects.filter(anchor__key__in=keys).values_list("bill_id", flat=True).distinct()
    return list(hashes)
