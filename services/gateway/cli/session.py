"""Where the ``ilm`` command line talks to: the gateway's HTTP API with the caller's
token, kept between commands in a file only its owner can read, and what a refusal
means as an exit code. The CLI never reaches a service or a database directly (except
``ilm admin create``, which makes the first account).

The token comes from, in order: ``ILM_TOKEN`` (a staff token or a business's or
partner's API key, for scripts), or the file ``ilm login`` wrote
(``$ILM_CONFIG``, else ``$XDG_CONFIG_HOME/ilm/session.json``, else
``~/.config/ilm/session.json``, mode 0600). The API's address: ``--url`` at login,
else ``ILM_URL``, else the local run's gateway.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import requests
import typer

DEFAULT_URL = "http://127.0.0.1:8000"

# Exit codes a script can rely on (README "The ilm command line").
OK, FAILED, BAD_INPUT, NOT_ALLOWED, NOT_FOUND, CONFLICT, UNAVAILABLE = 0, 1, 2, 3, 4, 5, 6
EXIT_FOR_STATUS = {400: BAD_INPUT, 413: BAD_INPUT, 415: BAD_INPUT, 401: NOT_ALLOWED, 403: NOT_ALLOWED,
                   404: NOT_FOUND, 409: CONFLICT, 410: NOT_FOUND, 429: UNAVAILABLE, 503: UNAVAILABLE}


def config_path() -> Path:
    if os.environ.get("ILM_CONFIG"):
        return Path(os.environ["ILM_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "ilm" / "session.json"


def save_session(url: str, token: str, username: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 before anything is written: the token never sits in a readable file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"url": url, "token": token, "username": username}, out)
    os.chmod(path, 0o600)
    return path


def load_session() -> dict:
    try:
        return json.loads(config_path().read_text())
    except (OSError, ValueError):
        return {}


def forget_session() -> bool:
    try:
        config_path().unlink()
        return True
    except FileNotFoundError:
        return False


def api_url(explicit: str | None = None) -> str:
    return (explicit or os.environ.get("ILM_URL") or load_session().get("url") or DEFAULT_URL).rstrip("/")


class Refused(Exception):
    """The API said no (or could not be reached): the message and the exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class Client:
    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30):
        session = load_session()
        self.url = api_url(url)
        self.token = token or os.environ.get("ILM_TOKEN") or session.get("token")
        self.timeout = timeout

    def call(self, verb: str, path: str, body: dict | None = None, params: dict | None = None):
        if not self.token:
            raise Refused("not logged in: run `ilm login` (or set ILM_TOKEN)", NOT_ALLOWED)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = requests.request(verb, self.url + path, json=body, params=params, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            raise Refused(f"cannot reach the API at {self.url}: {type(exc).__name__}", UNAVAILABLE) from None
        return answer_of(response)


def login(url: str, username: str, password: str, otp: str | None = None) -> dict:
    body = {"username": username, "password": password, **({"otp": otp} if otp else {})}
    try:
        response = requests.post(f"{url}/v1/auth/login", json=body, timeout=30)
    except requests.RequestException as exc:
        raise Refused(f"cannot reach the API at {url}: {type(exc).__name__}", UNAVAILABLE) from None
    return answer_of(response)


def answer_of(response: requests.Response):
    if response.status_code < 400:
        return response.json() if response.content else None
    try:
        problem = response.json()
        detail = problem.get("detail") or problem.get("title") or response.reason
        errors = problem.get("errors")
    except ValueError:
        detail, errors = response.reason, None
    message = f"{response.status_code}: {detail}"
    if errors:
        message += " " + json.dumps(errors, ensure_ascii=False)
    if response.status_code == 401:
        message += " (log in again: `ilm login`)"
    raise Refused(message, EXIT_FOR_STATUS.get(response.status_code, FAILED))


def fail(refused: Refused):
    typer.echo(f"error: {refused}", err=True)
    raise typer.Exit(refused.code)
