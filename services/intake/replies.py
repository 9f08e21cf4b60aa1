"""Sending replies to workers through each provider's send API (the base URLs are
settings: the local run and the tests point them at scripts/fake_providers.py).

Only intake sends, so chat ids and phone numbers never leave it. A provider's answer
decides what happens to a reply: 2xx sent; 429, 5xx or no answer: tried again later
(services/intake/chat_thread.py spaces the tries); any other 4xx: the provider will
never take it (a blocked bot, an unknown user), so it is kept as failed.
"""
from __future__ import annotations

import eventlet
import requests
from nameko.extensions import DependencyProvider

from services.intake.channels import adapter_for
from services.intake.channels.base import split_text
from shared.config import settings_of
from shared.logging import get_logger

log = get_logger(__name__)
TIMEOUT = (3.0, 10.0)      # connect, read (seconds)


class Refused(Exception):
    """The provider answered that it will never deliver this message."""


class Sender:
    def __init__(self, cfg, session=None):
        self.cfg, self.session = cfg, session or requests.Session()

    def send(self, channel: str, chat_id: str, account: str | None, text: str) -> None:
        """Raises Refused (do not retry) or any other error (retry later). A text over
        the provider's limit goes in pieces (a retry may then repeat the first ones)."""
        adapter = adapter_for(channel)
        for piece in split_text(text, adapter.max_text):
            out = adapter.outbound(self.cfg, chat_id, piece, account)
            answer = self.session.request(out.method, out.url, headers=out.headers, json=out.json, data=out.form,
                                          auth=out.auth, timeout=TIMEOUT)
            if adapter.accepted(answer.status_code, answer.content):
                continue
            if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
                raise Refused(f"{channel} answered {answer.status_code}")
            raise ConnectionError(f"{channel} answered {answer.status_code}")

    def try_send(self, channel: str, chat_id: str, account: str | None, text: str) -> bool:
        """Best effort, for an answer to a chat with no case (nothing is stored to retry from)."""
        try:
            self.send(channel, chat_id, account, text)
            return True
        except Exception as exc:          # noqa: BLE001 - logged; the worker can write again
            log.warning("chat_reply_not_sent", channel=channel, error_type=type(exc).__name__)
            return False


class ChannelSender(DependencyProvider):
    def setup(self):
        self.sender = Sender(settings_of(self.container))

    def get_dependency(self, worker_ctx):
        return self.sender


def deliver(grievances, vault, sender: Sender, now, limit: int = 50, case_refs=None) -> int:
    """Send the replies due now: of ``case_refs``, or of any case holding some (the
    timer's sweep); returns how many went out. Each
    is claimed first (a lease in the grievance), so two intake replicas never both
    send it; a sender that dies mid-send leaves a lease that lapses, and it is sent
    again (a worker may then get it twice, never zero times)."""
    sent = 0
    for case_ref in grievances.repo.with_replies_pending(limit) if case_refs is None else case_refs:
        grievance = grievances.get(case_ref)
        for reply in grievance.due_replies(now) if grievance else ():
            if grievances.change(case_ref, lambda g: g.claim_reply(reply["id"], now)).result:
                sent += _send_one(grievances, vault, sender, grievance, reply, now)
    return sent


def _send_one(grievances, vault, sender: Sender, g, reply: dict, now) -> int:
    chat = g.chat
    try:
        text = vault.open(reply["sealed_text"], g.case_ref)
        chat_id = vault.open(chat["sealed_id"], g.case_ref)
        sender.send(chat["channel"], chat_id, chat.get("account"), text)
    except Refused as exc:
        reason = str(exc)
        grievances.change(g.case_ref, lambda a: a.reply_failed(reply["id"], reason, now, permanent=True))
        log.warning("chat_reply_refused", case_id=g.case_ref, channel=chat["channel"])
        return 0
    except Exception as exc:      # noqa: BLE001 - an outage of the provider: tried again later
        reason = type(exc).__name__
        grievances.change(g.case_ref, lambda a: a.reply_failed(reply["id"], reason, now))
        log.warning("chat_reply_failed", case_id=g.case_ref, channel=chat["channel"], error_type=reason)
        return 0
    grievances.change(g.case_ref, lambda a: a.reply_sent(reply["id"], now))
    return 1


def deliver_soon(grievances, vault, sender: Sender, now, case_refs) -> None:
    """Send the replies of ``case_refs`` (what a request just queued) in a greenthread of
    its own: a webhook's answer does not wait for the provider's send API, and no request
    sweeps every case. The timer sweeps whatever this misses."""
    if not case_refs:
        return

    def run():
        try:
            deliver(grievances, vault, sender, now, case_refs=case_refs)
        except Exception as exc:       # noqa: BLE001 - the timer tries again
            log.warning("chat_reply_sweep_failed", error_type=type(exc).__name__)
    eventlet.spawn_n(run)
