"""drf-spectacular post-processing: what every API operation can answer, documented once.

Any operation that takes a request body can be sent a body in a media type it does not parse (or a multipart
body too broken to read as one): DRF answers 415 in the project's one error shape. Declaring that on each view
would repeat it fifty times and miss the next view; the hook adds it to every operation with a body.
"""

from __future__ import annotations

from typing import Any

from finance_portal.errors import ERROR_SCHEMA

UNSUPPORTED = {
    "description": "The body's media type is not one this operation reads (or the body cannot be parsed as it).",
    "content": {"application/json": {"schema": ERROR_SCHEMA}},
}


def document_unsupported_media_type(result: dict[str, Any], generator: object, request: object, public: bool,
                                    **_: object) -> dict[str, Any]:
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("415", UNSUPPORTED)
    return result
