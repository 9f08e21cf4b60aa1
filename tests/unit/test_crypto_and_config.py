"""Encryption at rest (AES-256-GCM bound to its record), keyed pseudonyms, and the
configuration checks that stop a service from starting with a bad key."""
import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from shared import config
from shared.config import VARIABLES, markdown_table, settings
from shared.crypto import TOKEN_PREFIX, SealedBox, new_key, pseudonym
from shared.errors import ConfigError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET_TEXT = "My name is Somchai, phone +66 81 234 5678; the supervisor took my passport."


# --- SealedBox -----------------------------------------------------------------------

def test_seal_and_open_round_trip():
    box = SealedBox(KEY)
    token = box.seal(SECRET_TEXT, "ILM-TEST0001")
    assert token.startswith(TOKEN_PREFIX)
    assert box.open(token, "ILM-TEST0001") == SECRET_TEXT
    # non-ASCII survives
    thai = "หัวหน้าขู่ว่าจะไล่ออก"
    assert box.open(box.seal(thai, "ILM-TEST0001"), "ILM-TEST0001") == thai
    # and a second box with the same key opens it
    assert SealedBox(KEY).open(token, "ILM-TEST0001") == SECRET_TEXT


def test_same_input_gives_different_ciphertexts():
    box = SealedBox(KEY)
    tokens = {box.seal(SECRET_TEXT, "ILM-TEST0001") for _ in range(20)}
    assert len(tokens) == 20
    nonces = {base64.b64decode(t[len(TOKEN_PREFIX):])[:12] for t in tokens}
    assert len(nonces) == 20


def test_plaintext_is_not_visible_in_the_token():
    token = SealedBox(KEY).seal(SECRET_TEXT, "ILM-TEST0001")
    raw = base64.b64decode(token[len(TOKEN_PREFIX):])
    for fragment in ("Somchai", "234 5678", "passport"):
        assert fragment not in token
        assert fragment.encode() not in raw
    assert SECRET_TEXT.encode() not in raw


def test_token_bound_to_another_record_does_not_open():
    box = SealedBox(KEY)
    token = box.seal(SECRET_TEXT, "ILM-TEST0001")
    with pytest.raises(InvalidTag):
        box.open(token, "ILM-TEST0002")


def test_wrong_key_does_not_open():
    token = SealedBox(KEY).seal(SECRET_TEXT, "ILM-TEST0001")
    with pytest.raises(InvalidTag):
        SealedBox(OTHER_KEY).open(token, "ILM-TEST0001")


def test_tampered_token_does_not_open():
    box = SealedBox(KEY)
    raw = bytearray(base64.b64decode(box.seal(SECRET_TEXT, "ILM-TEST0001")[len(TOKEN_PREFIX):]))
    raw[20] ^= 1
    with pytest.raises(InvalidTag):
        box.open(TOKEN_PREFIX + base64.b64encode(bytes(raw)).decode(), "ILM-TEST0001")


def test_unknown_token_version_and_bad_key_length():
    box = SealedBox(KEY)
    token = box.seal("x", "r")
    with pytest.raises(ValueError, match="unknown token version"):
        box.open("v2:" + token[len(TOKEN_PREFIX):], "r")
    for bad in (b"", b"x" * 16, b"x" * 31, b"x" * 33):
        with pytest.raises(ValueError):
            SealedBox(bad)


def test_new_key_is_base64_of_32_bytes():
    key = new_key()
    assert len(base64.b64decode(key, validate=True)) == 32
    assert new_key() != key


# --- pseudonym -----------------------------------------------------------------------

def test_pseudonym_is_stable_shaped_and_key_dependent():
    a = pseudonym(KEY, "phone:66812345678")
    assert a == pseudonym(KEY, "phone:66812345678")
    assert a.startswith("wk_") and len(a) == 3 + 32
    assert all(c in "0123456789abcdef" for c in a[3:])
    assert a != pseudonym(KEY, "phone:66812345679")
    assert a != pseudonym(OTHER_KEY, "phone:66812345678")
    assert "66812345678" not in a


# --- config --------------------------------------------------------------------------

@pytest.fixture
def fresh_settings():
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.mark.parametrize("name", ["IDENTITY_KEY", "PSEUDONYM_KEY", "WEBHOOK_SECRETS_KEY", "RECEIPT_PEPPER"])
def test_missing_key_names_the_variable(monkeypatch, fresh_settings, name):
    monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=name):
        config._key(name)
    monkeypatch.setenv(name, "")                          # empty counts as missing
    with pytest.raises(ConfigError, match=f"{name} is not set"):
        config._key(name)
    prop = name.lower()
    with pytest.raises(ConfigError, match=name):
        getattr(settings(), prop)


def test_key_not_base64_names_the_variable(monkeypatch, fresh_settings):
    monkeypatch.setenv("IDENTITY_KEY", "not base64 at all!!")
    with pytest.raises(ConfigError, match="IDENTITY_KEY is not valid base64"):
        config._key("IDENTITY_KEY")
    with pytest.raises(ConfigError, match="IDENTITY_KEY"):
        settings().identity_key


@pytest.mark.parametrize("length", [16, 31, 33, 64])
def test_key_of_the_wrong_length_names_the_variable(monkeypatch, fresh_settings, length):
    monkeypatch.setenv("IDENTITY_KEY", base64.b64encode(os.urandom(length)).decode())
    with pytest.raises(ConfigError, match=f"IDENTITY_KEY must decode to 32 bytes, got {length}"):
        settings().identity_key


def test_good_key_is_decoded(monkeypatch, fresh_settings):
    monkeypatch.setenv("IDENTITY_KEY", base64.b64encode(KEY).decode())
    assert settings().identity_key == KEY


def test_settings_defaults_and_overrides(monkeypatch, fresh_settings):
    monkeypatch.delenv("MAX_WORKERS", raising=False)
    monkeypatch.setenv("DEADLINES_HIGH", "1,2,3")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    s = settings()
    assert s.max_workers == 10
    assert s.deadlines["high"] == (1, 2, 3)
    assert s.deadlines["critical"] == (2, 7, 30)
    assert s.log_level == "DEBUG"
    assert s.nameko_config()["serializer"] == "json"
    assert settings() is s                                # cached


@pytest.mark.parametrize("name,value", [
    ("MAX_WORKERS", "ten"), ("OUTBOX_GRACE_SECONDS", "soon"), ("DEADLINES_NORMAL", "7,21"), ("DEADLINES_HIGH", "5,x,45"),
    ("DEADLINES_CRITICAL", "2,-7,30"), ("QUEUE_TYPE", "lazy"), ("WEBHOOK_RETRY_SCHEDULE", "0,5,soon"),
    ("WEBHOOK_RETRY_SCHEDULE", "0,-5"), ("ESCALATION_LEVEL_HOURS", "0,72"), ("CONSOLE_HTTPS_PROXY", "ture"),
    ("SMTP_TLS", "maybe"), ("WEBHOOK_ALLOW_HTTP", "on"), ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "yess"),
    ("WEBHOOK_ALLOWED_PORTS", "443,https"), ("WEBHOOK_ALLOWED_PORTS", ","), ("WEBHOOK_ENDPOINT_CONCURRENCY", "2.5"),
    ("BACKUP_RETRY_SCHEDULE", "0,30,later"), ("BACKUP_RETRY_SCHEDULE", "0,-30"), ("SMTP_PORT", "smtp"),
    ("SAFEGUARDING_ACK_MINUTES", "soon"), ("VALIDATION_SAMPLE_MIN", "1.5"), ("REPORT_SUPPRESS_BELOW", "ten"),
    ("SILENT_SITE_DAYS", "a month")])
def test_bad_settings_name_the_variable(monkeypatch, fresh_settings, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        settings()


@pytest.mark.parametrize("value,expected", [("true", True), (" TRUE ", True), ("1", True), ("yes", True),
                                            ("false", False), ("0", False), ("No", False)])
def test_flags_read_true_or_false(monkeypatch, fresh_settings, value, expected):
    for name in ("CONSOLE_HTTPS_PROXY", "SMTP_TLS", "WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE_NETWORKS"):
        monkeypatch.setenv(name, value)
    s = settings()
    assert s.console_https_proxy is expected and s.backup["smtp"]["tls"] is expected
    assert s.webhook_egress["allow_http"] is expected and s.webhook_egress["allow_private"] is expected


def test_number_lists_skip_blanks_and_keep_their_kind(monkeypatch, fresh_settings):
    monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "0, 1.5,,60")
    monkeypatch.setenv("BACKUP_RETRY_SCHEDULE", "0,30,")
    monkeypatch.setenv("WEBHOOK_ALLOWED_PORTS", "443, 8443")
    s = settings()
    assert s.webhook_retry_schedule == (0.0, 1.5, 60.0) and s.backup["retry"] == (0.0, 30.0)
    assert s.webhook_egress["ports"] == frozenset({443, 8443})


def test_markdown_table_lists_every_variable():
    table = markdown_table()
    lines = table.splitlines()
    assert lines[0] == "| variable | default | meaning |"
    assert len(lines) == 2 + len(VARIABLES)
    for var in VARIABLES:
        row = next(line for line in lines if line.startswith(f"| `{var.name}` |"))
        assert var.doc in row
        assert ("(required)" in row) == (var.default is None)
    assert len({v.name for v in VARIABLES}) == len(VARIABLES)


def test_every_variable_read_by_settings_is_declared():
    with pytest.raises(StopIteration):
        config._raw("NOT_A_DECLARED_VARIABLE")
