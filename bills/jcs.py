"""RFC 8785 (JCS) text of a JSON value, fast for the values bill events are made of.

``rfc8785.dumps`` is written in Python and was most of what ``reconcile`` spent rebuilding each event's text.
For a value made only of dicts with ASCII keys, lists, strings, booleans, ``None`` and integers within
±(2**53 - 1), the standard library's C encoder writes the same text: keys sorted (ASCII keys sort alike by
code point and by UTF-16 unit), ``,`` and ``:`` without spaces, non-ASCII characters as they are, and the
same escapes (``\\" \\\\ \\b \\f \\n \\r \\t``, other control characters as lowercase ``\\u00xx``). Anything
else (floats, tuples, subclasses, other keys, an integer out of range, a lone surrogate) goes to ``rfc8785``,
which writes it or raises its error as before.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_INT_MAX = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False,
                            check_circular=False)


def _plain(value: Any) -> bool:
    """Whether ``value`` is made only of what the C encoder writes exactly as RFC 8785 does."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -_INT_MAX <= value <= _INT_MAX
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and not _plain(item):
                return False
        return True
    if kind is list:
        return all(type(item) is str or _plain(item) for item in value)
    return False


def canonical_json(value: Any) -> str:
    """The JCS text of ``value``: ``rfc8785.dumps(value)`` decoded from UTF-8."""
    if not _plain(value):
        return rfc8785.dumps(value).decode("utf-8")
    text = _ENCODER.encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 refuses it with its own error
            return rfc8785.dumps(value).decode("utf-8")
    return text
