"""The only place that holds the keys to worker identity. Contact details and free
text are sealed (AES-256-GCM, bound to the case reference) before they are stored;
other services only ever see the keyed pseudonym ``worker_key``."""
import secrets

from nameko.extensions import DependencyProvider

from services.intake.domain import contact_identifier
from shared.config import settings_of
from shared.crypto import SealedBox, pseudonym


class IdentityVault(DependencyProvider):

    def setup(self):
        cfg = settings_of(self.container)
        self.box = SealedBox(cfg.identity_key)
        self.pseudonym_key = cfg.pseudonym_key

    def get_dependency(self, worker_ctx):
        return self

    def seal(self, value: str, case_ref: str) -> str:
        return self.box.seal(value, case_ref)

    def open(self, token: str, case_ref: str) -> str:
        return self.box.open(token, case_ref)

    def chat_key(self, channel: str, chat_id: str) -> str:
        """Finds a chat's thread without storing the chat id in the clear."""
        return pseudonym(self.pseudonym_key, f"chat:{channel}:{chat_id}")

    def worker_key(self, contact: dict | None) -> str:
        """Same worker, same key across reports; an anonymous report gets its own."""
        handle = contact_identifier(contact) or "anonymous:" + secrets.token_hex(16)
        return pseudonym(self.pseudonym_key, handle)
