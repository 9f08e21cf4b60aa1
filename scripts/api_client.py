"""A small client of the gateway's HTTP API (/v1), for the demo and the tests: what a
business's or a partner's engineers would write with their API key, or a staff tool
with a login token."""
from __future__ import annotations

import requests


class Api:
    def __init__(self, base_url: str, credential: str | None = None, timeout: float = 20):
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.session = requests.Session()
        if credential:
            self.session.headers["Authorization"] = f"Bearer {credential}"

    @classmethod
    def login(cls, base_url: str, username: str, password: str) -> "Api":
        response = requests.post(f"{base_url}/v1/auth/login", json={"username": username, "password": password},
                                 timeout=20)
        response.raise_for_status()
        return cls(base_url, response.json()["access_token"])

    def call(self, verb: str, path: str, body: dict | None = None, params: dict | None = None) -> requests.Response:
        return self.session.request(verb, self.base_url + path, json=body, params=params, timeout=self.timeout)

    def ok(self, verb: str, path: str, body: dict | None = None, params: dict | None = None):
        """The JSON answer of a call that must succeed (raises with the problem otherwise)."""
        response = self.call(verb, path, body, params)
        if response.status_code >= 400:
            raise RuntimeError(f"{verb} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()
