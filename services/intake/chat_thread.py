"""A grievance's chat thread: the worker's chat it came from, the provider messages
already taken (redelivery is harmless), the validation question waiting for a reply,
and the replies still to send. Pure rules, mixed into the Grievance aggregate, so a
message and the reply it calls for are stored in one write: a crash never leaves a
worker without their receipt, nor sends one twice because a message came twice.

Replies are sealed with the case's key (services/intake/identity.py) and their text is
dropped once sent: the store keeps that a reply went out, not what it said.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from shared.contracts.events import iso

SEEN_WINDOW = 64            # provider message ids remembered per thread (redelivery comes within hours)
REPLY_ATTEMPTS = 8
REPLY_LEASE = timedelta(seconds=30)   # a sender that died mid-send is replaced after this
# Threads stored by intake before group cases (4a648fc, issue 12) hold the question on
# their own case as chat.awaiting_round (the round number), and such a question may still
# be open. Only ``awaited`` reads it; a newer question or the answer drops it. It may go
# once no stored grievance has one: count_documents({"chat.awaiting_round": {"$gt": 0}}).
LEGACY_AWAITING = "awaiting_round"


def reply_delay(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at 10 minutes: a provider down for a while still gets it."""
    return timedelta(seconds=min(2 ** (attempts - 1), 600))


class ChatThread:
    """Methods over the Grievance fields chat_key, chat, ended_at, replies, replies_pending."""

    # --- the thread --------------------------------------------------------------
    def link_chat(self, chat_key: str, channel: str, sealed_id: str, account: str | None,
                  message_key: str) -> None:
        self.chat_key = chat_key
        self.chat = {"channel": channel, "sealed_id": sealed_id, "account": account,
                     "seen": [message_key], "awaiting": None}

    def has_seen(self, message_key: str) -> bool:
        return bool(self.chat) and message_key in self.chat["seen"]

    def saw(self, message_key: str) -> None:
        """The message is applied; any message but the confirming STOP cancels a pending withdrawal."""
        self.chat["seen"] = (self.chat["seen"] + [message_key])[-SEEN_WINDOW:]
        self.chat["withdrawal_asked"] = False

    def ask_to_confirm_withdrawal(self, message_key: str) -> None:
        """A single word should not end a case by accident: the next STOP confirms it."""
        self.saw(message_key)
        self.chat["withdrawal_asked"] = True

    @property
    def withdrawal_asked(self) -> bool:
        return bool(self.chat and self.chat.get("withdrawal_asked"))

    @property
    def open_for_chat(self) -> bool:
        return bool(self.chat) and not self.ended_at

    def end(self, status: str, now: datetime) -> None:
        """The case reached a final state: the chat's next message opens a new case."""
        if not self.ended_at:
            self.ended_at = iso(now)
            self.ended_as = status

    def forget_chat(self, now: datetime) -> None:
        """Erasure: nothing may lead from the chat to this case any more (its pseudonym
        included), and no reply is left to send."""
        self.end(self.ended_as or "erased", now)
        self.chat_key, self.chat = None, None
        for reply in self.replies:
            if reply["state"] in ("pending", "sending"):
                reply.update(state="failed", error="erased", sealed_text=None)
        self.replies_pending = False

    def await_answer(self, case_ref: str, round_no: int) -> None:
        """The next YES / PARTLY / NO / UNSAFE on this chat answers round ``round_no`` of
        ``case_ref``: this worker's own case, or a group case they are one of the workers of."""
        if self.chat:
            self.chat["awaiting"] = {"case_ref": case_ref, "round_no": round_no}
            self.chat.pop(LEGACY_AWAITING, None)     # the newer question supersedes it

    @property
    def awaited(self) -> dict | None:
        """{"case_ref", "round_no"} the chat waits for an answer on, or None."""
        if not self.chat:
            return None
        if self.chat.get(LEGACY_AWAITING):
            return {"case_ref": self.case_ref, "round_no": self.chat[LEGACY_AWAITING]}
        return self.chat.get("awaiting")

    def answered(self, message_key: str) -> None:
        """The awaited answer is applied: the next answer word is an ordinary message."""
        self.chat["awaiting"] = None
        self.chat.pop(LEGACY_AWAITING, None)
        self.saw(message_key)

    # --- replies -----------------------------------------------------------------
    def queue_reply(self, sealed_text: str, now: datetime) -> None:
        if not self.chat:
            return
        self.replies.append({"id": secrets.token_hex(8), "sealed_text": sealed_text, "state": "pending",
                             "attempts": 0, "due_at": iso(now), "queued_at": iso(now)})
        self.replies_pending = True

    def due_replies(self, now: datetime) -> list[dict]:
        """Pending replies due now, and sends whose lease lapsed (the sender died)."""
        at = iso(now)
        return [r for r in self.replies if r["state"] in ("pending", "sending") and r["due_at"] <= at]

    def claim_reply(self, reply_id: str, now: datetime) -> bool:
        """Take a due reply for sending (a lease), so one sender sends it."""
        reply = self._reply(reply_id)
        if reply is None or reply["state"] not in ("pending", "sending") or reply["due_at"] > iso(now):
            return False
        reply.update(state="sending", attempts=reply["attempts"] + 1, due_at=iso(now + REPLY_LEASE))
        return True

    def reply_sent(self, reply_id: str, now: datetime) -> None:
        reply = self._reply(reply_id)
        reply.update(state="sent", sent_at=iso(now), sealed_text=None)
        self._settle()

    def reply_failed(self, reply_id: str, error: str, now: datetime, permanent: bool = False) -> None:
        reply = self._reply(reply_id)
        if permanent or reply["attempts"] >= REPLY_ATTEMPTS:
            reply.update(state="failed", error=error, failed_at=iso(now), sealed_text=None)
        else:
            reply.update(state="pending", error=error, due_at=iso(now + reply_delay(reply["attempts"])))
        self._settle()

    def _reply(self, reply_id: str) -> dict | None:
        return next((r for r in self.replies if r["id"] == reply_id), None)

    def _settle(self) -> None:
        self.replies_pending = any(r["state"] in ("pending", "sending") for r in self.replies)
