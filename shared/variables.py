"""The declaration of a setting, and the chat providers' settings (a block of their own:
services/intake/channels reads them; shared/config.py lists them with the rest)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Var:
    name: str
    default: str | None
    doc: str
    secret: bool = False


# The workers' chat providers (services/intake/channels); an empty secret turns its channel off.
CHANNEL_VARIABLES: tuple[Var, ...] = (
    Var("LINE_CHANNEL_SECRET", "", "LINE channel secret: verifies x-line-signature of LINE webhooks.", True),
    Var("LINE_CHANNEL_TOKEN", "", "LINE channel access token (bearer) for the push API.", True),
    Var("LINE_API_BASE", "https://api.line.me", "Base URL of the LINE Messaging API."),
    Var("META_APP_SECRET", "", "Meta app secret: verifies X-Hub-Signature-256 of WhatsApp and Messenger webhooks.", True),
    Var("META_VERIFY_TOKEN", "", "Token Meta echoes in the webhook GET handshake (hub.verify_token).", True),
    Var("WHATSAPP_TOKEN", "", "WhatsApp Cloud API access token (bearer).", True),
    Var("MESSENGER_PAGE_TOKEN", "", "Facebook page access token for the Messenger send API.", True),
    Var("GRAPH_API_BASE", "https://graph.facebook.com/v21.0", "Base URL (with version) of Meta's Graph API."),
    Var("VIBER_AUTH_TOKEN", "", "Viber bot auth token: signs Viber callbacks and authenticates sends.", True),
    Var("VIBER_SENDER_NAME", "ILM", "Sender name shown on Viber messages (at most 28 characters)."),
    Var("VIBER_API_BASE", "https://chatapi.viber.com", "Base URL of the Viber bot API."),
    Var("TWILIO_ACCOUNT_SID", "", "Twilio account SID (AC...): the SMS API's account and basic-auth user."),
    Var("TWILIO_AUTH_TOKEN", "", "Twilio auth token: verifies X-Twilio-Signature and authenticates sends.", True),
    Var("TWILIO_FROM", "", "Number (E.164) SMS are sent from when no receiving number is known."),
    Var("TWILIO_API_BASE", "https://api.twilio.com", "Base URL of the Twilio REST API."),
    Var("SMS_WEBHOOK_URL", "", "Public URL Twilio calls for inbound SMS (its signature covers it); empty: the URL intake saw."),
)
