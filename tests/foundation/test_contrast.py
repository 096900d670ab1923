"""Colour contrast (WCAG 2.1 AA, 4.5:1 for text): the portal's text colours on the backgrounds they are used on,
and every bill-state badge's text on its tint, read from the stylesheet itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = re.sub(r"/\*.*?\*/", "", (Path(__file__).resolve().parents[2] / "finance_portal" / "static" / "css"
                                 / "portal.css").read_text(), flags=re.S)


def luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


VARIABLES = dict(re.findall(r"--(\w+):\s*(#[0-9a-fA-F]{3,6})", CSS))


@pytest.mark.parametrize(("text", "background"), [
    ("ink", "bg"), ("muted", "bg"), ("brand", "bg"), ("err", "bg"), ("warn", "warnbg"),
])
def test_the_palette_reads_at_aa(text, background):
    assert ratio(VARIABLES[text], VARIABLES[background]) >= 4.5, (text, background)


def test_text_on_white_cards_reads_at_aa():
    for name in ("ink", "muted", "brand", "err"):
        assert ratio(VARIABLES[name], "#ffffff") >= 4.5, name


def state_rules() -> dict[str, tuple[str, str]]:
    rules = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", CSS):
        background = re.search(r"background:(#[0-9a-fA-F]{3,6})", body)
        colour = re.search(r"(?<![-\w])color:(#[0-9a-fA-F]{3,6})", body)
        for selector in selectors.split(","):
            selector = selector.strip()
            if selector.startswith(".state-") and background and colour:
                rules[selector] = (colour.group(1), background.group(1))
    return rules


def test_every_bill_state_has_a_badge_that_reads_at_aa():
    from bills.models import BillState

    rules = state_rules()
    assert {f".state-{state.replace('_', '')}" for state in BillState.values} - {".state-draft"} <= set(rules), rules
    base = rules[".state-badge"]
    assert ratio(*base) >= 4.5  # the draft state and any state without a tint of its own
    for selector, (colour, background) in rules.items():
        assert ratio(colour, background) >= 4.5, (selector, colour, background, round(ratio(colour, background), 2))
