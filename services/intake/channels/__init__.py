"""The workers' chat providers, one adapter each (verify, parse, outbound).

The endpoint for channel ``c`` does: ``a = adapter_for(c)``; ``a.verify(settings, url,
headers, raw_body)`` (BadSignature: 401, store nothing); ``a.parse(raw_body)``
(BadPayload: 400) gives the Inbound messages, none for receipts, reads and
subscriptions; an answer goes out as ``a.outbound(settings, chat_id, text, account)``,
sent by the caller, which checks ``a.accepted(status, body)``. WhatsApp and Messenger
also answer the GET ``a.handshake(settings, query)``.
"""
from services.intake.channels import line, meta, sms, viber

ADAPTERS = {
    "line": line.ADAPTER,
    "whatsapp": meta.WHATSAPP,
    "facebook_messenger": meta.MESSENGER,
    "viber": viber.ADAPTER,
    "sms": sms.ADAPTER,
}


def adapter_for(channel: str):
    """The adapter of a chat channel; KeyError for any other name (an unknown provider)."""
    return ADAPTERS[channel]
