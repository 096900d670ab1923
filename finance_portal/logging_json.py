"""Log records as one JSON object per line, for a log shipper: ``LOG_FORMAT=json`` (production's default).

Fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, ``request_id`` (set by
``finance_portal.portal.requestid.RequestIdFilter``; ``-`` outside a request) and, when there is one, ``exc_info``
(the formatted traceback). Values that are not JSON become their ``str``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
