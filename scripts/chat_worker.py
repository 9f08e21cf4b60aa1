"""A worker on a chat app, for the demo and the tests: each message goes to intake as
the provider's signed webhook (scripts/provider_webhooks.py), and the worker reads
what intake sent back through the provider's send API (scripts/fake_providers.py
recorded it). Both sides can be printed, as the demo does."""
from __future__ import annotations

import re
import secrets

import requests

from scripts import provider_webhooks as hooks

CASE_REF = re.compile(r"ILM-[0-9A-Z]{8}")
RECEIPT = re.compile(r"\d{4}(?:-\d{4}){4}")
PHONE_NUMBER_ID, PAGE_ID = "106540352242922", "102390852731649"   # the operator's WhatsApp number, Facebook page


def signed(channel: str, env: dict, chat_id: str, text: str, intake_url: str, message_id: str | None = None):
    """(headers, body) of one text message as ``channel`` would deliver it to intake."""
    if channel == "line":
        return hooks.line_text(env["LINE_CHANNEL_SECRET"], chat_id, text, event_id=message_id)
    if channel == "whatsapp":
        return hooks.whatsapp_text(env["META_APP_SECRET"], chat_id, text, PHONE_NUMBER_ID, msg_id=message_id)
    if channel == "facebook_messenger":
        return hooks.messenger_text(env["META_APP_SECRET"], chat_id, text, PAGE_ID, mid=message_id)
    if channel == "viber":
        return hooks.viber_text(env["VIBER_AUTH_TOKEN"], chat_id, text, token=int(message_id) if message_id else None)
    if channel == "sms":
        return hooks.sms(env["TWILIO_AUTH_TOKEN"], env["SMS_WEBHOOK_URL"], chat_id, text, sid=message_id)
    raise ValueError(channel)


class ChatWorker:
    def __init__(self, channel: str, intake_url: str, providers, env: dict, chat_id: str | None = None,
                 name: str = "worker", say=lambda _: None):
        self.channel, self.intake_url, self.providers, self.env = channel, intake_url, providers, env
        self.chat_id = chat_id or new_chat_id(channel)
        self.name, self.say, self.read = name, say, 0

    def send(self, text: str, message_id: str | None = None) -> requests.Response:
        headers, body = signed(self.channel, self.env, self.chat_id, text, self.intake_url, message_id)
        answer = requests.post(f"{self.intake_url}/channels/{self.channel}", data=body, headers=headers, timeout=15)
        answer.raise_for_status()
        self.say(f"  {self.name} -> {self.channel}: {text}")
        return answer

    def replies(self) -> list[str]:
        return [s["text"] for s in self.providers.sent if s["channel"] == self.channel and s["to"] == self.chat_id]

    def next_reply(self, timeout: float = 20.0, containing: str | None = None) -> str:
        """The next reply not read yet (with ``containing``: the first such one), waiting for it."""
        def arrived(_sent):
            fresh = self.replies()[self.read:]
            return any(containing is None or containing in t for t in fresh)
        self.providers.wait_for(arrived, timeout)
        fresh = self.replies()[self.read:]
        index = next(i for i, t in enumerate(fresh) if containing is None or containing in t)
        self.read += index + 1
        self.say(f"  {self.channel} -> {self.name}: {fresh[index]}")
        return fresh[index]


def new_chat_id(channel: str) -> str:
    """An id in the provider's own form."""
    if channel == "line":
        return "U" + secrets.token_hex(16)
    if channel in ("whatsapp", "sms"):
        return ("" if channel == "whatsapp" else "+") + "6681" + str(secrets.randbelow(10 ** 7)).zfill(7)
    if channel == "facebook_messenger":
        return str(10 ** 15 + secrets.randbelow(10 ** 15))
    return secrets.token_urlsafe(16)[:22] + "=="      # viber


def case_and_receipt(opened: str) -> tuple[str, str]:
    """The case reference and the receipt from the reply to a first message."""
    return CASE_REF.search(opened).group(0), RECEIPT.search(opened).group(0)


def main(argv=None) -> None:
    """``python -m scripts.chat_worker "text" [--channel line] [--chat-id U...]``: send one
    message to a running local system as the provider would (signed with the local
    run's secrets in .local/keys.env); the running demo prints intake's replies."""
    import argparse
    from pathlib import Path

    from scripts.stack import dev_keys
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("text")
    p.add_argument("--channel", default="line", choices=("line", "whatsapp", "facebook_messenger", "viber", "sms"))
    p.add_argument("--chat-id", default="U" + "0" * 31 + "1", help="the same id threads onto the same case")
    p.add_argument("--intake", default="http://127.0.0.1:8000")
    args = p.parse_args(argv)
    env = dev_keys(Path(__file__).resolve().parents[1] / ".local" / "keys.env")
    env["SMS_WEBHOOK_URL"] = f"{args.intake}/channels/sms"
    ChatWorker(args.channel, args.intake, None, env, chat_id=args.chat_id, say=print).send(args.text)


if __name__ == "__main__":
    main()
