"""A standalone RPC client that acts as one principal: every call carries a fresh
token minted by the door that vouches for that kind of principal (shared/auth.py).

Only a holder of that door's signing key can use it: the gateway's process, and for
a local run, the tests, the demo and the bench (the dev keyring, ILM_DEV_SIGNING_KEYS).

    with SignedRpc(amqp_uri, Principal("cw-1", "case_worker"), keyring) as rpc:
        rpc.remediation.triage({"case_ref": ref})
"""
from __future__ import annotations

from nameko.standalone.rpc import ClusterRpcProxy

from shared.auth import TOKEN_KEY, Minter, Principal, issuer_for, parse_signing_key


class SignedRpc:
    def __init__(self, amqp_uri: str, principal: Principal, signing_keys: dict[str, str],
                 timeout: float = 20):
        issuer = issuer_for(principal)
        self.principal = principal
        self._minter = Minter(issuer, parse_signing_key(signing_keys[issuer]))
        self._context: dict = {}   # nameko reads it on every call: the token is refreshed per call
        self._proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data=self._context, timeout=timeout)
        self._cluster = None

    def start(self) -> "SignedRpc":
        self._cluster = self._proxy.start()
        return self

    def stop(self) -> None:
        self._proxy.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __getattr__(self, service: str) -> "_Service":
        if service.startswith("_"):
            raise AttributeError(service)
        return _Service(self, service)

    def call(self, service: str, method: str, payload: dict):
        self._context[TOKEN_KEY] = self._minter.mint(self.principal)
        return getattr(getattr(self._cluster, service), method)(payload)


class _Service:
    def __init__(self, client: SignedRpc, name: str):
        self._client, self._name = client, name

    def __getattr__(self, method: str):
        return lambda payload: self._client.call(self._name, method, payload)
