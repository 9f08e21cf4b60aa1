"""The log processor that keeps identity and credentials out of every log line,
whatever a caller passes as a keyword."""
import pytest

from services.intake.schemas import Contact
from shared.logging import FORBIDDEN_KEYS, _drop_identity


def test_every_contact_field_of_intake_is_never_logged():
    assert set(Contact().fields) <= FORBIDDEN_KEYS


@pytest.mark.parametrize("key", sorted(FORBIDDEN_KEYS))
def test_a_forbidden_key_is_redacted_whatever_its_value(key):
    line = _drop_identity(None, "info", {"event": "x", key: "+66 81 555 0199", "case_id": "ILM-1"})
    assert line == {"event": "x", key: "[redacted]", "case_id": "ILM-1"}


def test_credentials_are_forbidden_too():
    assert {"receipt", "password", "api_key", "access_token", "secret", "whatsapp", "messenger_id"} <= FORBIDDEN_KEYS
