"""Error types every service shares.

Registered with nameko's ``deserialize_to_instance`` so an RPC caller gets the same
exception class back (with its message naming the field or state), not a bare
``RemoteError``. ``http_status`` maps each to the HTTP answer intake gives.
"""
from nameko.exceptions import deserialize_to_instance


class ConfigError(Exception):
    """A required setting is missing or malformed (raised at start-up)."""


@deserialize_to_instance
class InvalidInput(Exception):
    """A payload failed its schema. ``errors`` maps field name -> messages."""

    http_status = 400

    def __init__(self, errors):
        # nameko re-creates the exception from its args on the caller's side.
        if isinstance(errors, str):
            errors = {"_schema": [errors]}
        self.errors = errors
        super().__init__(errors)

    def __str__(self):
        parts = [f"{field}: {'; '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                 for field, msgs in sorted(self.errors.items())]
        return "invalid input: " + ", ".join(parts)


@deserialize_to_instance
class NotFound(Exception):
    http_status = 404


@deserialize_to_instance
class InvalidTransition(Exception):
    """The state machine forbids this step from the case's current state."""

    http_status = 409


@deserialize_to_instance
class Forbidden(Exception):
    """The actor's role may not take this step."""

    http_status = 403


class ReferenceExhausted(Exception):
    """No free case reference after the configured tries: fail loudly (a 500), never
    answer for a case that was not stored."""


@deserialize_to_instance
class Unauthorized(Exception):
    """The caller did not prove who it is (a wrong or missing receipt or token). The
    message never says which part was wrong, nor whether a reference exists."""

    http_status = 401


@deserialize_to_instance
class TooManyAttempts(Exception):
    """Too many failed proofs: try again after ``retry_after`` seconds."""

    http_status = 429

    def __init__(self, retry_after):
        self.retry_after = int(retry_after)
        super().__init__(self.retry_after)

    def __str__(self):
        return f"too many failed attempts: try again in {self.retry_after} s"


class ServiceUnavailable(Exception):
    """A service this one needs did not answer in time: try again later (503, with
    ``Retry-After`` when ``retry_after`` seconds are given)."""

    http_status = 503

    def __init__(self, message="service unavailable", retry_after=None):
        self.retry_after = None if retry_after is None else int(retry_after)
        super().__init__(message)


class PayloadTooLarge(Exception):
    """A request body over the size limit (413)."""

    http_status = 413


class UnsupportedMediaType(Exception):
    """A request body that is not declared as JSON (415)."""

    http_status = 415


class ConcurrentUpdate(Exception):
    """The document changed since it was read; the caller reloads and retries."""


class PoisonMessage(Exception):
    """A message that can never be processed: dead-lettered, not retried."""


# Errors that are the caller's fault: answered, logged as warnings, never retried.
EXPECTED = (InvalidInput, NotFound, InvalidTransition, Forbidden, Unauthorized, TooManyAttempts,
            ServiceUnavailable, PayloadTooLarge, UnsupportedMediaType)
