"""The error family every layer raises; the web layer turns them into responses.

Handlers never build error responses themselves: they raise an `AppError` with a status and a
message that is safe to show to the caller, and one middleware renders it as HTML, JSON or
Mastodon's `{"error": ...}` depending on where it happened.
"""

from __future__ import annotations


class AppError(Exception):
    """An error whose message is safe to show to whoever made the request."""

    status = 400

    def __init__(self, safe_message: str, *, status: int | None = None, field: str | None = None):
        super().__init__(safe_message)
        self.safe_message = safe_message
        if status is not None:
            self.status = status
        self.field = field


class BadRequest(AppError):
    status = 400


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Gone(AppError):
    status = 410


class PayloadTooLarge(AppError):
    status = 413


class UnsupportedMediaType(AppError):
    status = 415


class ValidationError(AppError):
    """A well-formed request whose content is refused; names the offending field."""

    status = 422


class TooManyRequests(AppError):
    status = 429

    def __init__(self, safe_message: str, *, retry_after: int = 60):
        super().__init__(safe_message)
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    status = 503

    def __init__(self, safe_message: str, *, retry_after: int = 5):
        super().__init__(safe_message)
        self.retry_after = retry_after


class ConfigError(Exception):
    """A configuration value is missing or invalid; the message names the key."""


class UsageError(Exception):
    """A command-line mistake: printed as one line, exit status 2."""
