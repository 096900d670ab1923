"""Verification tokens: the revocable links (``/verify/t/<token>/``) a bill's holder shares so anyone can
verify the bill's public profile without learning its id (DESIGN §8, issue 8).

The one thing to know: a token is the only way in for anyone without a login. It is 192 random bits, so it
cannot be guessed; only the bill's current holder creates or revokes one; a revoked token opens nothing.

A token is also printed on paper as its *verification code* (``verification_code``): the same bits, all 192
of them, written for typing: Crockford base32 (digits and capital letters without I, L, O and U), one check
character that catches every single mistyped character and most swaps of neighbours, in groups of four
(``0K7Q-M2XD-…``, 40 characters). Reading it back (``verification_code_parse``) tolerates lower case, I/L for
1, O for 0, full-width characters and any spaces or dashes. The code adds no state and no second secret: it
*is* the token, so revoking the link revokes the code.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import unicodedata

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from bills.errors import BillActionNotPermitted, BillNotFound
from bills.models import Bill, VerificationToken
from bills.selectors import parse_bill_id
from finance_portal.organizations.models import Organization
from finance_portal.organizations.services import require_acting_organization
from finance_portal.users import User

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def _holder_only(bill: Bill, org: Organization, refusal: str) -> None:
    if bill.holder_id != org.pk:
        raise BillActionNotPermitted(refusal)


def verification_token_create(*, bill_id: object, actor: User) -> VerificationToken:
    """The holder creates a new verification link for its bill. Refused (404) for a bill the actor's
    organization takes no part in, (403) for one it does not hold."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        bill = Bill.objects.select_for_update().filter(pk=parse_bill_id(bill_id)).first()
        if bill is None or not bill.participants.filter(organization=org).exists():
            raise BillNotFound(gettext("No such bill."))
        _holder_only(bill, org, gettext("Only the bill's holder creates its verification links."))
        return VerificationToken.objects.create(
            bill=bill, token=secrets.token_urlsafe(TOKEN_BYTES), created_by=org, created_by_user=actor,
            created_at=timezone.now(),
        )


def verification_token_revoke(*, token_id: int, actor: User) -> VerificationToken:
    """The holder revokes a verification link of its bill; revoking a revoked link changes nothing."""
    org = require_acting_organization(actor)
    with transaction.atomic():
        token = VerificationToken.objects.select_for_update().select_related("bill").filter(pk=token_id).first()
        if token is None or not token.bill.participants.filter(organization=org).exists():
            raise BillNotFound(gettext("No such verification link."))
        _holder_only(token.bill, org, gettext("Only the bill's holder revokes its verification links."))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by_user = actor
            token.save(update_fields=["revoked_at", "revoked_by_user"])
        return token


def verification_token_lookup(token: str) -> VerificationToken | None:
    """The token row (live or revoked) with its bill and the bill's parties, or None."""
    if not (32 <= len(token) <= 64):
        return None
    return (VerificationToken.objects.select_related("bill", "bill__debtor", "bill__holder")
            .filter(token=token).first())


def verification_tokens_live(bill: Bill) -> QuerySet[VerificationToken]:
    return VerificationToken.objects.filter(bill=bill, revoked_at__isnull=True).order_by("-created_at", "id")


# ---------------------------------------------------------------------------------------------------------
# The verification code: the token written for typing
# ---------------------------------------------------------------------------------------------------------

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_GROUP = 4
CODE_MAX_INPUT = 200  # characters a lookup reads at most (a 40-character code with generous separators)
_CODE_VALUE = {c: i for i, c in enumerate(CODE_ALPHABET)} | {"I": 1, "L": 1, "O": 0}


class CodeError(ValueError):
    """A typed verification code that cannot be a code: ``reason`` is ``empty``, ``format`` or ``check``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _luhn_sum(values: list[int], *, double_first: bool) -> int:
    """Luhn mod 32 over ``values`` from the right, doubling every other one (the rightmost if
    ``double_first``)."""
    total, factor, n = 0, 2 if double_first else 1, len(CODE_ALPHABET)
    for value in reversed(values):
        addend = factor * value
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return total % n


def _token_bytes(token: str) -> bytes | None:
    """The bytes a URL-safe base64 token encodes, when it encodes them canonically (re-encoding gives it back)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if raw and base64.urlsafe_b64encode(raw).decode().rstrip("=") == token else None


def verification_code(token: str) -> str | None:
    """The printable code of ``token``: its bytes in Crockford base32 plus a check character, grouped by
    four. None for a token that is not canonical URL-safe base64 (every token ``secrets.token_urlsafe``
    makes is)."""
    raw = _token_bytes(token)
    if raw is None:
        return None
    length = -(-len(raw) * 8 // 5)
    number = int.from_bytes(raw, "big")
    values = [(number >> (5 * (length - 1 - i))) & 31 for i in range(length)]
    values.append((len(CODE_ALPHABET) - _luhn_sum(values, double_first=True)) % len(CODE_ALPHABET))
    text = "".join(CODE_ALPHABET[v] for v in values)
    return "-".join(text[i : i + CODE_GROUP] for i in range(0, len(text), CODE_GROUP))


def verification_code_parse(text: str) -> str:
    """The token a typed code stands for. Tolerates case, I/L for 1, O for 0, full-width forms and any
    spaces or dashes between characters; raises ``CodeError`` (``empty``: nothing typed, ``format``: not
    letters and digits of a code, ``check``: a mistyped character). Says nothing about whether the token
    exists."""
    if len(text) > CODE_MAX_INPUT:
        raise CodeError("format")
    normal = unicodedata.normalize("NFKC", text).upper()
    chars = [c for c in normal if not (c.isspace() or unicodedata.category(c) == "Pd")]
    if not chars:
        raise CodeError("empty")
    if any(c not in _CODE_VALUE for c in chars) or len(chars) < 3:
        raise CodeError("format")
    values = [_CODE_VALUE[c] for c in chars]
    data = values[:-1]
    size = len(data) * 5 // 8  # the byte count whose base32 length is len(data) (that map is one to one)
    if -(-size * 8 // 5) != len(data) or size == 0:
        raise CodeError("format")
    if _luhn_sum(values, double_first=False) != 0:
        raise CodeError("check")
    number = 0
    for value in data:
        number = number << 5 | value
    if number >> (size * 8):
        raise CodeError("format")  # the leading padding bits must be zero
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).decode().rstrip("=")
