"""List filters that read digits the way the rest of the platform does: ASCII only (docs/architecture.md, "Input
rules"). django-filter's number and date filters go through Python's ``Decimal`` and ``strptime``, which accept
"１２", "١٢" and "２０２６-０１-０１"; these refuse them with a 400 that names the parameter instead."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

ASCII_ONLY = "Use ASCII digits (0-9) only."


def _ascii(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        raise ValidationError(ASCII_ONLY, code="invalid")
    return value


class AsciiDecimalField(forms.DecimalField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(_ascii(value))


class AsciiDateField(forms.DateField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(_ascii(value))


class AsciiNumberFilter(django_filters.NumberFilter):
    field_class = AsciiDecimalField


class AsciiDateFilter(django_filters.DateFilter):
    field_class = AsciiDateField
