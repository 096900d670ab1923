"""The anonymous crawl of issue 8, as a test: start from the contract's ``Anchored`` logs (public to anyone with
a node), visit every public page reachable from them and follow every link; then do the same from every
verification link a holder could share. Zero bill ids and zero non-public field values may be reached.

Bills of every event type, in both canonical formats, anchored on the session's Anvil.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bills import services
from bills.events import fields_of_event, writing_format
from bills.models import Bill, BillEvent
from bills.verify_tokens import verification_token_create
from chain_adapter import txmanager
from chain_adapter.client import ChainClient
from finance_portal.organizations.models import Organization
from tests.bills import factories as f
from tests.bills.test_disclosure import ORACLE, build_scenario

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

MAX_PAGES = 600


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.found.append(value)


def links_of(body: str) -> list[str]:
    parser = Links()
    parser.feed(body)
    return parser.found


def crawl(client: Client, seeds: Iterable[str]) -> dict[str, str]:
    """GET every same-site page reachable from ``seeds`` (redirects followed); returns path -> body."""
    seen: dict[str, str] = {}
    queue = deque(seeds)
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft().split("#")[0]
        if not path.startswith("/") or path.startswith("//") or path in seen or path.startswith("/static/"):
            continue
        response = client.get(path)
        body = response.content.decode("utf-8", errors="replace")
        seen[path] = body + "\n" + response.get("Location", "")
        if response.status_code in (301, 302) and response.get("Location"):
            queue.append(response["Location"])
        if "html" in response.get("Content-Type", ""):
            queue.extend(links_of(body))
    assert len(seen) < MAX_PAGES, "the crawl did not end: something enumerates"
    return seen


def secrets_of_the_bills() -> tuple[set[str], set[str], set[str]]:
    """(bill ids and numbers, non-public values, secret salts), with what is public anywhere left out."""
    public_values: set[str] = set()
    hidden_values: set[str] = set()
    salts: set[str] = set()
    for event in BillEvent.objects.select_related("actor"):
        public = ORACLE[event.type]["public"]
        for name, value in fields_of_event(event).items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            if name in public:
                public_values.add(text)
            else:
                hidden_values.add(text)
                if event.salts:
                    salts.add(event.salts[name])
    # A page shows a public time as a day in the portal's time zone, and the certificate the day it was made:
    # a hidden date equal to one of those days is not told by the page (CI ran after 16:00 UTC, when Shanghai's
    # day is already the next and a bill issued that day has that date).
    for value in list(public_values):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if timezone.is_aware(moment):
            public_values.add(timezone.localtime(moment).date().isoformat())
    public_values.add(timezone.localdate().isoformat())
    on_chain = set(BillEvent.objects.values_list("hash", flat=True))  # public in the logs (e.g. a parent_event)
    hidden_values = {v for v in hidden_values - public_values - on_chain if len(v) >= 4 and v not in ("null", "true")
                     and not any(v in p for p in public_values)}  # e.g. an issue date is the day of a public time
    # A page shows amounts with thousands separators and rates as percentages: look for those forms too.
    for value in list(hidden_values):
        if re.fullmatch(r"-?[0-9]+\.[0-9]+", value):
            number = Decimal(value)
            hidden_values.add(f"{number:,.2f}")
            if number < 1:  # a rate
                hidden_values.add(f"{number * 100:,.2f}%")
    debtors = set(Bill.objects.values_list("debtor__credit_code", flat=True))
    for org in Organization.objects.exclude(credit_code__in=debtors):
        hidden_values.add(org.legal_name)
    ids = {str(pk) for pk in Bill.objects.values_list("pk", flat=True)}
    ids |= {i.replace("-", "") for i in ids} | set(Bill.objects.values_list("number", flat=True))
    return ids, hidden_values, salts


def shows(body: str, value: str) -> bool:
    """Whether ``body`` tells ``value``. A number counts only as a whole token: 3700 is told by "3700" or
    "3,700.00" but not by a hash, address or timestamp that happens to hold those digits (0x…a3700f…)."""
    if re.fullmatch(r"[-+]?[0-9][0-9,.]*%?", value):
        return re.search(rf"(?<![0-9A-Za-z.,]){re.escape(value)}(?![0-9A-Za-z])", body) is not None
    return value in body


def assert_nothing_leaks(pages: dict[str, str]) -> None:
    ids, hidden, salts = secrets_of_the_bills()
    for path, body in pages.items():
        low = body.lower()
        leaked_ids = [i for i in ids if i.lower() in low]
        assert not leaked_ids, f"{path} shows bill ids or numbers {leaked_ids[:3]}"
        leaked = [v for v in hidden if shows(body, v) or shows(body, json.dumps(v, ensure_ascii=False)[1:-1])]
        assert not leaked, f"{path} shows non-public values {leaked[:5]}"
        assert not [s for s in salts if s in body], f"{path} shows the salt of a non-public field"


@pytest.fixture
def anchored_bills(db, anvil, anchor_contract, settings):  # type: ignore[no-untyped-def]
    world = f.build_world()
    settings.ANCHOR_MAX_WAIT_SECONDS = 0
    settings.VERIFY_RATE_LIMIT = 0  # a crawler from one address would be throttled; leaks are the question here
    scenario = build_scenario(world)
    with writing_format(1):
        old = f.financed(world, "12000.00", buyer="financier2")
        mixed = f.listed(world, "13000.00")
    services.bill_unlist(bill_id=mixed.pk, actor=world.user("supplier"))
    for _ in range(3):  # overdue and default were written after the clock moved: anchor whatever waits
        txmanager.run_once()
    assert not BillEvent.objects.exclude(anchor__status="confirmed").exists()
    return world, [*scenario.bills.values(), old, mixed]


def test_an_anonymous_crawl_from_the_chain_reaches_no_bill_id_and_no_private_value(anchored_bills, anchor_contract):
    logs = ChainClient.from_settings().anchored_logs(anchor_contract.address, from_block=anchor_contract.block_number)
    assert len(logs) == BillEvent.objects.count()
    seeds = {f"/verify/tx/{log.tx_hash}/" for log in logs}
    # What else an outsider could try with what the chain shows: keys and hashes as ids, tokens, bundles.
    for log in logs[:20]:
        seeds |= {f"/verify/{log.key}/", f"/verify/t/{log.key[2:]}/", f"/verify/{log.event_hash}/bundle.json"}
    pages = crawl(Client(), sorted(seeds))
    tx_pages = [p for p in pages if p.startswith("/verify/tx/")]
    assert len(tx_pages) == len({log.tx_hash for log in logs})
    for log in logs:
        assert log.key in pages[f"/verify/tx/{log.tx_hash}/"]
    assert not any(p.startswith("/verify/t/") and "data-verdict=\"verified\"" in b for p, b in pages.items())
    assert_nothing_leaks(pages)


def test_every_shared_verification_link_shows_only_the_public_profile(anchored_bills):
    world, bills = anchored_bills
    seeds = []
    for bill in bills:
        bill = Bill.objects.get(pk=bill.pk)
        holder = next(name for name in ("supplier", "supplier2", "buyer", "financier", "financier2")
                      if world.org(name).pk == bill.holder_id)
        token = verification_token_create(bill_id=bill.pk, actor=world.user(holder))
        seeds.append(f"/verify/t/{token.token}/")
    client = Client()
    pages = crawl(client, seeds)
    verified = [p for p in seeds if 'data-verdict="verified"' in pages[p]]
    assert verified == seeds, [p for p in seeds if p not in verified]
    bundles = [p for p in pages if p.endswith("/bundle.json")]
    assert len(bundles) == len(seeds)
    for path in bundles:
        bundle: dict[str, Any] = json.loads(client.get(path).content)
        assert bundle["bill_id"] is None and bundle["profile"] == "public"
    assert_nothing_leaks(pages)
    # The pages do show what the public profile promises: face, debtor, maturity, each transition.
    late = Bill.objects.get(pk=bills[8].pk)
    page = next(pages[p] for p in seeds if late.bill_key in pages[p])
    assert f"{late.face:,.2f}" in page and late.debtor.legal_name in page and late.maturity_date.isoformat() in page
    assert len(re.findall(r"data-seq=", page)) == late.events.count()
