"""structlog set-up: one JSON object per line on stdout.

Context (service, correlation_id, case_id, event_id) is bound per worker through
contextvars; each eventlet greenthread has its own context, so concurrent workers
never mix their ids. A last processor drops keys that could carry worker identity,
so a careless ``log.info(..., contact=...)`` cannot leak it. Exceptions are logged
by type and code location only, never their message or a traceback's text (ours,
nameko's or a library's): an error about input can quote the input.
"""
from __future__ import annotations

import logging
import sys
import traceback

import structlog

# Never logged, whatever a caller passes: identity and free text stay in intake's
# encrypted store (every contact field of intake's schema: a unit test checks), and
# no credential of anyone (receipts, passwords, API keys, tokens, webhook secrets).
FORBIDDEN_KEYS = frozenset({
    "contact", "worker_contact", "name", "worker_name", "phone", "whatsapp", "line_id", "messenger_id", "viber_id",
    "chat_id", "user_id", "sender", "recipient", "from_", "to",
    "email", "text", "free_text", "description", "identity", "address",
    "receipt", "password", "api_key", "access_token", "actor_token", "authorization", "secret",
})


def _drop_identity(_, __, event_dict):
    for key in FORBIDDEN_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def _exceptions_by_type(_, __, event_dict):
    """An exception becomes ``error_type`` and ``error_at`` (file:line function of
    its frames); a library's %-style message gets its arguments back with any
    exception among them replaced by its type."""
    args = event_dict.pop("positional_args", None)
    if args:
        try:
            event_dict["event"] = str(event_dict["event"]) % (
                {k: _type_if_exception(v) for k, v in args.items()} if isinstance(args, dict)
                else tuple(map(_type_if_exception, args)))
        except (TypeError, ValueError, KeyError):
            pass      # keep the bare template rather than risk the arguments
    exc_info = event_dict.pop("exc_info", None)
    exc = sys.exc_info()[1] if exc_info is True else exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(exc, BaseException):
        event_dict["error_type"] = type(exc).__name__
        event_dict["error_at"] = [f"{f.filename}:{f.lineno} {f.name}"
                                  for f in traceback.extract_tb(exc.__traceback__, limit=-8)]
    return event_dict


def _type_if_exception(value):
    return type(value).__name__ if isinstance(value, BaseException) else value


# Before rendering, on our lines and the libraries' alike.
SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    _drop_identity,
    _exceptions_by_type,
]


def json_handler(stream=None) -> logging.Handler:
    """A handler writing JSON lines for our logs and the libraries' (nameko, kombu)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    # The libraries' messages stay templates with their arguments apart until
    # _exceptions_by_type has looked at the arguments.
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *SHARED_PROCESSORS],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer(sort_keys=True)],
        use_get_message=False, pass_foreign_args=True,
    ))
    return handler


def configure_structlog(level: str = "INFO") -> None:
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def configure(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout: the process's only log handler."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler()]
    root.setLevel(level)
    configure_structlog(level)
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


def bind(**ids) -> None:
    """Bind ids (case_id, event_id, ...) to every later line of this worker."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})
