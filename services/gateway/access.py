"""The ``access`` dependency: the gateway's staff-token signer and rate limits, made
once per container from its settings (the key is the gateway's ACTOR_SIGNING_KEY)."""
from nameko.extensions import DependencyProvider

from services.gateway.doorkeeper import Doorkeeper
from services.gateway.sessions import StaffTokens
from services.gateway.two_factor import OtpVault, SecondFactor
from shared.auth import parse_signing_key
from shared.config import settings_of
from shared.ratelimit import RateLimits


class Access(DependencyProvider):
    def setup(self):
        s = settings_of(self.container)
        self.staff_tokens = StaffTokens(parse_signing_key(s.actor_signing_key), s.staff_token_ttl)
        self.limits = RateLimits(s.rate_limit_storage)
        self.otp_vault = OtpVault(s.staff_otp_key)
        self.settings = s

    def get_dependency(self, worker_ctx):
        return self

    def doorkeeper(self, accounts, keys) -> Doorkeeper:
        return Doorkeeper(accounts, keys, self.staff_tokens, self.limits, self.settings.api_rate_limit)

    def second_factor(self, policies, now) -> SecondFactor:
        return SecondFactor(self.otp_vault, policies, now)
