"""A note to the worker: a case worker writes to the worker on the chat they reported
from, as a reply queued on their chat thread (sent by the same sweep as every reply,
services/intake/replies.py, with its retries). Only intake holds the chat, so the
text travels from the gateway to intake directly (an RPC), never in an event; it is
stored sealed like every reply and never logged. The case worker writes in the
worker's language: the answer says which it is and on which channel it goes.
A worker without an open chat (a hotline call, a chat that ended) cannot be written
to this way: 409."""
from __future__ import annotations

from datetime import datetime

from shared.errors import InvalidTransition, NotFound
from shared.logging import get_logger

log = get_logger(__name__)


def message_worker(grievances, vault, p: dict, actor: dict, now: datetime) -> dict:
    case = grievances.load(p["case_ref"], missing=lambda _: NotFound(f"case {p['case_ref']} not found"))
    thread_ref = grievances.repo.chat_thread_of_worker(case.worker_key) if case.worker_key else None
    if thread_ref is None:
        raise InvalidTransition(f"the worker of case {p['case_ref']} has no open chat to write to")

    def queue(thread):
        if not thread.open_for_chat:
            raise InvalidTransition(f"the worker of case {p['case_ref']} has no open chat to write to")
        thread.queue_reply(vault.seal(p["text"], thread.case_ref), now)
        return thread.channel, thread.language

    channel, language = grievances.change(thread_ref, queue).result
    log.info("worker_message_queued", channel=channel, actor_role=actor["role"])
    return {"case_ref": p["case_ref"], "queued": True, "channel": channel, "language": language}
