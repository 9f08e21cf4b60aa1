"""structlog set-up: one JSON object per line on stdout.

Context (service, correlation_id, case_id, event_id) is bound per worker through
contextvars; each eventlet greenthread has its own context, so concurrent workers
never mix their ids. A last processor drops keys that could carry worker identity,
so a careless ``log.info(..., contact=...)`` cannot leak it.
"""
from __future__ import annotations

import logging
import sys

import structlog

# Never logged, whatever a caller passes: identity and free text stay in intake's
# encrypted store.
FORBIDDEN_KEYS = frozenset({
    "contact", "worker_contact", "name", "worker_name", "phone", "email", "text",
    "free_text", "description", "identity", "address", "line_id",
})


def _drop_identity(_, __, event_dict):
    for key in FORBIDDEN_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def configure(service: str, level: str = "INFO") -> None:
    """JSON lines for our own logs and for the libraries' (nameko, kombu) alike."""
    shared_processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_identity,
    ]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(sort_keys=True)],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


def bind(**ids) -> None:
    """Bind ids (case_id, event_id, ...) to every later line of this worker."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})
