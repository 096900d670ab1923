"""Settings of the REST API: Django REST Framework (authentication, the one error shape, pagination, filters) and
drf-spectacular (the OpenAPI schema at /api/schema/ and its docs). Imported by ``base``; no environment reads."""

from __future__ import annotations

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "finance_portal.portal.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"auth_token": "10/minute"},
    "EXCEPTION_HANDLER": "finance_portal.portal.api_errors.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Supply-chain finance portal API",
    "DESCRIPTION": "Digital bills, invoices and their on-chain anchoring.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "finance_portal.portal.schema_hooks.document_unsupported_media_type",
    ],
}
