"""Problems of a bill's hash chain, as messages a page can show in the reader's language.

A ``Problem`` is its English text (what logs, the API and the audit trail keep) with the message it was made of,
so oversight flags and reconciliation runs store ``{"template", "params"}`` and render it per reader
(``message_text``). ``bills.events.bill_chain_verify`` makes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext


class Problem(str):
    """One problem of a bill's chain: its English text (the ``str`` itself, what logs, the API and the audit
    trail keep), with the message it was made of, ``template`` (an English msgid) and ``params`` (texts, or a
    nested ``{"template", "params"}``), so a page can show it in the reader's language."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Problem:
        text = super().__new__(cls, template % {k: str(v) for k, v in params.items()})
        text.template = template
        text.params = {k: v.as_message() if isinstance(v, Problem) else str(v) for k, v in params.items()}
        return text

    def as_message(self) -> dict[str, Any]:
        """``{"template": ..., "params": ...}``, to be stored beside the text."""
        return {"template": self.template, "params": self.params}

    def translated(self) -> str:
        """The problem in the active language."""
        return message_text(self.template, self.params)


def message_text(template: str, params: Mapping[str, Any], *, translate: Callable[[str], str] = gettext) -> str:
    """A stored message in the reader's language: ``translate(template) % params``, nested messages
    (``{"template", "params"}`` values) rendered first. ``translate=str`` gives the English text.
    A translation whose placeholders do not fit falls back to the English template."""
    values = {name: message_text(value["template"], value.get("params", {}), translate=translate)
              if isinstance(value, dict) else value for name, value in params.items()}
    try:
        return translate(template) % values
    except (KeyError, TypeError, ValueError):
        return template % values


def problem_message(problem: str) -> dict[str, Any]:
    """The stored message of ``problem``; a plain string (an older caller's) is its own template."""
    if isinstance(problem, Problem):
        return problem.as_message()
    return {"template": "%(text)s", "params": {"text": str(problem)}}
