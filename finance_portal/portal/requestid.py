"""One id per request, in the response, in every log line, and in the Celery tasks the request queued.

``RequestIdMiddleware`` takes a sane incoming ``X-Request-ID`` (1 to 64 characters of ``[A-Za-z0-9_-]``; a
proxy's or a client's id, so one request is followed across systems) or makes a uuid4 hex, keeps it in a
context variable for the request's duration and returns it in the ``X-Request-ID`` header.
``RequestIdFilter`` (named in ``LOGGING``) puts the current id on every log record as ``request_id``
(``-`` outside a request). The Celery signal handlers, connected in ``finance_portal.celery``, carry the id in
the message headers of a task published during a request and restore it in the worker while the task runs.

This module imports no models: the logging configuration loads it before Django's apps are ready.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
TASK_HEADER = "request_id"
NO_ID = "-"
_SANE = re.compile(r"[A-Za-z0-9_-]{1,64}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)
_task_tokens: dict[str, Token[str | None]] = {}


def current_request_id() -> str | None:
    return _current.get()


def sane_or_new(incoming: str | None) -> str:
    """``incoming`` when it is a sane id, else a new uuid4 hex."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_or_new(request.META.get(META_KEY))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Kept until the response is closed (``request_finished``), not only until the middleware returns:
        # Django logs a 4xx/5xx answer ("Not Found: ...") after the middleware chain, and that line needs it too.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _request_finished(**_: Any) -> None:
    _current.set(None)


request_finished.connect(_request_finished, dispatch_uid="finance_portal.requestid.finished", weak=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _current.get() or NO_ID
        return True


def on_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery ``before_task_publish``: the current request's id goes into the message headers."""
    request_id = _current.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Celery ``task_prerun``: the id the publisher put in the headers becomes the worker's current id."""
    request = getattr(task, "request", None)
    request_id = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    if request_id and task_id:
        _task_tokens[task_id] = _current.set(sane_or_new(str(request_id)))


def on_task_postrun(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # set in another context (a pool that ran prerun elsewhere): nothing to undo here
            _current.set(None)
