import pytest
from django.core.exceptions import ValidationError

from finance_portal.organizations.validators import (
    credit_code_check_char,
    make_credit_code,
    validate_credit_code,
)

# Published examples of real-format codes (check characters verified by hand against GB 32100-2015).
VALID = ["91350100M000100Y43", "91110000600037341L", "11100000MA5F00066" + credit_code_check_char("11100000MA5F00066")]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass(code):
    validate_credit_code(code)


def test_lowercase_is_accepted_after_normalization():
    validate_credit_code("91350100m000100y43")


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y433", "18 characters"),
        ("91350100M000100I43", "except I, O, Z, S and V"),
        ("91350100M000100Y44", "check character"),
        ("B1350100M000100Y43", "registration authority"),
        ("9135A100M000100Y43", "administrative division"),
        ("", "18 characters"),
    ],
)
def test_invalid_codes_are_refused_with_a_reason(code, fragment):
    with pytest.raises(ValidationError) as err:
        validate_credit_code(code)
    assert fragment in err.value.messages[0]


def test_every_single_character_typo_is_caught():
    code = "91350100M000100Y43"
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for i in range(17):
        for ch in alphabet:
            if ch == code[i] or (i in range(2, 8) and not ch.isdigit()) or (i == 0 and ch not in "123456789ANY"):
                continue
            typo = code[:i] + ch + code[i + 1 :]
            with pytest.raises(ValidationError):
                validate_credit_code(typo)


def test_make_credit_code_completes_a_valid_code():
    validate_credit_code(make_credit_code("91440300MA5F00011"))
