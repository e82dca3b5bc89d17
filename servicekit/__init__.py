"""Shared service plumbing: settings, logging, app factory, errors, database, HTTP client.

Every service stands on these pieces; none of them knows about a particular
service, and this package imports nothing else of ours.
"""

from servicekit.app import (
    DB_ENGINE,
    GUARDED_HTTP_CLIENT,
    HTTP_CLIENT,
    METRICS_REGISTRY,
    READINESS_CHECKS,
    SETTINGS,
    create_service_app,
    database_context,
    http_client_context,
)
from servicekit.auth import ApiKeyVerifier, bearer_token, generate_api_key, hash_api_key
from servicekit.db import create_engine, is_postgres, migrate
from servicekit.errors import (
    Conflict,
    DataspaceError,
    Forbidden,
    IllegalTransition,
    InvalidRequest,
    InvalidToken,
    NotFound,
    PayloadTooLarge,
    PolicyDenied,
    RateLimited,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    ValidationFailed,
)
from servicekit.http import create_client_session
from servicekit.logging import configure_logging, get_logger
from servicekit.openapi import build_openapi, operation
from servicekit.settings import ServiceSettings
from servicekit.web import json_response, parse_body, problem_response, read_json

__all__ = [
    "DB_ENGINE",
    "GUARDED_HTTP_CLIENT",
    "HTTP_CLIENT",
    "METRICS_REGISTRY",
    "READINESS_CHECKS",
    "SETTINGS",
    "ApiKeyVerifier",
    "Conflict",
    "DataspaceError",
    "Forbidden",
    "IllegalTransition",
    "InvalidRequest",
    "InvalidToken",
    "NotFound",
    "PayloadTooLarge",
    "PolicyDenied",
    "RateLimited",
    "ServiceSettings",
    "Unauthorized",
    "UpstreamError",
    "UpstreamTimeout",
    "ValidationFailed",
    "bearer_token",
    "build_openapi",
    "configure_logging",
    "create_client_session",
    "create_engine",
    "create_service_app",
    "database_context",
    "generate_api_key",
    "get_logger",
    "hash_api_key",
    "http_client_context",
    "is_postgres",
    "json_response",
    "migrate",
    "operation",
    "parse_body",
    "problem_response",
    "read_json",
]
