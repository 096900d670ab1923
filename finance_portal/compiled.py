"""Hot reads compiled to SQL once per process, run with each call's values.

Django compiles a queryset to SQL on every evaluation. For the joined reads of a transition's answer (the bill
with its four parties, its purchases with buyer and seller) that took about 1 to 5 ms of Python each, more than
PostgreSQL took to answer them (docs/architecture.md, "Reads compiled once"). ``CompiledRead`` builds a
queryset once per shape with stand-in values for its parameters, compiles it, remembers where each stand-in sits
among the SQL's parameters, and from then on runs the same SQL with the call's values in those places, through
Django's own iterable (``select_related``, annotations, ``from_db``, ``prefetch_related`` as before).

The one thing to know: the SQL must depend on the parameters only through their values. Anything else the
builder reads (today's date, a setting, whether the viewer is a regulator) is frozen into the SQL of its shape,
so it must be a parameter or part of the ``shape`` key. With ``settings.COMPILED_READS_CHECK`` (on in the test
settings) every call also builds and compiles the queryset afresh and raises ``CompiledReadMismatch`` when its
SQL or parameters differ from the remembered ones, so the whole suite checks every compiled read it touches.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet

T = TypeVar("T")  # a model instance, or a row of values_list()

_counter = itertools.count(1)


class CompiledReadMismatch(AssertionError):
    """The remembered SQL of a compiled read is not what the builder compiles to now (a builder bug)."""


def _stand_in(name: str, value: object) -> object:
    """A value of ``value``'s type that no real call passes and no builder writes as a constant."""
    n = next(_counter)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=(0xC0FFEE << 100) + n)
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name}: a flag or None changes the SQL's shape; make it part of the shape key.")
    if isinstance(value, int):
        return -7_340_000_000_000 - n
    if isinstance(value, str):
        return f"\x1fstand-in {name} {n}\x1f"
    if isinstance(value, Decimal):
        return Decimal(f"-734000000.{n:09d}")
    if isinstance(value, dt.datetime):
        return dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=n)
    if isinstance(value, dt.date):
        return dt.date(1, 1, 1) + dt.timedelta(days=n)
    raise TypeError(f"{name}: a compiled read takes UUIDs, integers, strings, decimals and dates, "
                    f"not {type(value).__name__} (a list would change the SQL with its length).")


@dataclass
class _Shape:
    queryset: QuerySet[Any]
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    slots: list[tuple[int, str]]
    types: dict[str, type]


class CompiledRead(Generic[T]):
    """``build(**values)`` returns a queryset; ``rows``/``first`` run it with the SQL compiled once per shape.

    ``build`` must give the same SQL for every value of the same types (see the module docstring). The
    results are lists or instances, never a queryset: a queryset carrying remembered SQL must not be chained.
    """

    def __init__(self, build: Callable[..., QuerySet[Any, T]], *, first: bool = False) -> None:
        self._build = build
        self._first = first
        self._shapes: dict[Hashable, _Shape] = {}

    def _queryset(self, values: dict[str, Any]) -> QuerySet[Any, T]:
        qs = self._build(**values)
        if self._first:  # QuerySet.first()'s own query
            qs = (qs if qs.ordered else qs.order_by("pk"))[:1]
        return qs

    def _compile(self, shape: Hashable, values: dict[str, Any]) -> _Shape:
        stand_ins = {name: _stand_in(name, value) for name, value in values.items()}
        qs = self._queryset(stand_ins)
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()
        slots: list[tuple[int, str]] = []
        for i, param in enumerate(params):
            for name, stand_in in stand_ins.items():
                if type(param) is type(stand_in) and param == stand_in:
                    slots.append((i, name))
        missing = set(stand_ins) - {name for _, name in slots}
        if missing:
            raise TypeError(f"{', '.join(sorted(missing))}: not passed to the SQL as given (transformed, or unused); "
                            "such a read cannot be compiled once.")
        found = _Shape(queryset=qs, compiler=compiler, sql=sql, params=tuple(params), slots=slots,
                       types={name: type(value) for name, value in stand_ins.items()})
        self._shapes[shape] = found
        return found

    def _run(self, shape: Hashable, values: dict[str, Any]) -> list[T]:
        found = self._shapes.get(shape) or self._compile(shape, values)
        params = list(found.params)
        for i, name in found.slots:
            value = values[name]
            if type(value) is not found.types[name]:
                raise TypeError(f"{name}: expected {found.types[name].__name__}, got {type(value).__name__}.")
            params[i] = value
        template = found.queryset
        db = template.db
        if template.query.select_for_update and connections[db].get_autocommit():  # as SQLCompiler.as_sql
            raise transaction.TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        if getattr(settings, "COMPILED_READS_CHECK", False):
            fresh = self._queryset(values)
            sql, fresh_params = fresh.query.get_compiler(using=db).as_sql()
            if sql != found.sql or list(fresh_params) != params:
                raise CompiledReadMismatch(f"{self._build.__qualname__} {shape!r}: the remembered SQL differs from "
                                           f"today's.\nremembered: {found.sql} {params}\ntoday: {sql} {fresh_params}")
        compiler = copy.copy(found.compiler)
        compiler.connection = connections[db]
        compiler.as_sql = lambda *args, **kwargs: (found.sql, params)  # type: ignore[method-assign]
        query = copy.copy(template.query)
        query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        qs: Any = template.__class__(model=template.model, query=query, using=db)  # as QuerySet._chain() would
        qs._iterable_class, qs._fields = template._iterable_class, template._fields  # type: ignore[attr-defined]
        qs._prefetch_related_lookups = template._prefetch_related_lookups  # type: ignore[attr-defined]
        return list(qs)

    def rows(self, shape: Hashable = (), **values: Any) -> list[T]:
        """Every row of the read for these values (``shape``: what else the SQL depends on)."""
        assert not self._first, "a read compiled with first=True gives first() only"
        return self._run(shape, values)

    def first(self, shape: Hashable = (), **values: Any) -> T | None:
        """``QuerySet.first()`` of the read for these values."""
        assert self._first, "compile the read with first=True to take first()"
        found = self._run(shape, values)
        return found[0] if found else None
