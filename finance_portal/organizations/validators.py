"""The unified social credit code (统一社会信用代码, GB 32100-2015).

18 characters from a 31-symbol alphabet (digits and capitals without I, O, Z, S, V): registration
authority, organization type, a 6-digit administrative division, the 9-character organization code, and a
check character computed modulo 31 with weights 3^i mod 31.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
REGISTRATION_AUTHORITIES = "123456789ANY"


def credit_code_check_char(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalize_credit_code(value: str) -> str:
    return (value or "").strip().upper()


def validate_credit_code(value: str) -> None:
    code = normalize_credit_code(value)
    if len(code) != 18:
        raise ValidationError(
            "A unified social credit code has 18 characters; this one has %(n)d.", code="length", params={"n": len(code)}
        )
    bad = sorted({ch for ch in code if ch not in ALPHABET})
    if bad:
        raise ValidationError(
            "A unified social credit code uses digits and capitals except I, O, Z, S and V; found %(bad)s.",
            code="alphabet",
            params={"bad": ", ".join(bad)},
        )
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise ValidationError("The first character (registration authority) is not a valid one.", code="authority")
    if not code[2:8].isdigit():
        raise ValidationError("Characters 3 to 8 (administrative division) must be digits.", code="division")
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError("The check character does not match: the code has a typo.", code="checksum")


def make_credit_code(prefix17: str) -> str:
    """Complete 17 characters with their check character (demo data and tests)."""
    return prefix17 + credit_code_check_char(prefix17)
