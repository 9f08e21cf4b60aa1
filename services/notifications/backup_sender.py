"""The backup channel's window on the outside: e-mail through an SMTP server
(smtplib) and SMS through a Twilio-shaped Messages API with notifications' own
account. One per container (a nameko dependency), configured at setup from the
BACKUP_* and SMTP_* settings. ``deliver`` raises on any failure; the caller records
the try and schedules the next."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage

import eventlet
import requests
from nameko.extensions import DependencyProvider

from services.notifications.domain import RetryPolicy
from shared.config import settings_of

SMTP_TIMEOUT = 10.0
SMS_TIMEOUT = (3.0, 10.0)     # connect, read


class NotConfigured(Exception):
    """The channel has no server or account set: a try that cannot succeed yet."""


class BackupChannel(DependencyProvider):
    def setup(self):
        cfg = settings_of(self.container).backup
        self.emails, self.phones = cfg["emails"], cfg["phones"]
        self.after_seconds = cfg["after_seconds"]
        self.retry = RetryPolicy(cfg["retry"], jitter=0)
        self.smtp, self.sms = cfg["smtp"], cfg["sms"]
        self.lease_seconds = SMTP_TIMEOUT + 20
        self.session = requests.Session()
        self.background = eventlet.GreenPool(100)   # sends detached from the lane's workers

    def stop(self):
        self.background.waitall()
        self.session.close()

    def get_dependency(self, worker_ctx):
        return self

    def deliver(self, channel: str, recipient: str, subject: str, text: str) -> None:
        if channel == "email":
            self._email(recipient, subject, text)
        else:
            self._sms(recipient, text)

    def _email(self, to: str, subject: str, text: str) -> None:
        smtp = self.smtp
        if not smtp["host"]:
            raise NotConfigured("SMTP_HOST")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = smtp["sender"], to, subject
        msg.set_content(text)
        with smtplib.SMTP(smtp["host"], smtp["port"], timeout=SMTP_TIMEOUT) as server:
            if smtp["tls"]:
                server.starttls()
            if smtp["user"]:
                server.login(smtp["user"], smtp["password"])
            server.send_message(msg)

    def _sms(self, to: str, text: str) -> None:
        sms = self.sms
        if not (sms["account_sid"] and sms["auth_token"] and sms["sender"]):
            raise NotConfigured("BACKUP_SMS_ACCOUNT_SID, BACKUP_SMS_AUTH_TOKEN, BACKUP_SMS_FROM")
        url = f"{sms['api_base'].rstrip('/')}/2010-04-01/Accounts/{sms['account_sid']}/Messages.json"
        answer = self.session.post(url, data={"To": to, "From": sms["sender"], "Body": text[:1600]},
                                   auth=(sms["account_sid"], sms["auth_token"]), timeout=SMS_TIMEOUT)
        if not 200 <= answer.status_code < 300:
            raise ConnectionError(f"sms answered {answer.status_code}")
