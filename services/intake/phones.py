"""Phone numbers in one form (E.164) before anything derives from them: a worker who
types "081 234 5678" one day and "+66 81 234 5678" the next is the same worker (the
pseudonym), and a chat provider's sender id ("66812345678", WhatsApp) matches too."""
from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "TH"


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 (``+66812345678``) when the number parses as a valid one: as written in
    ``region``, then with ``00`` read as the international prefix (Thailand's own is
    001, so phonenumbers does not take "0066..."), then as an international number
    without its ``+`` (how WhatsApp and SMS gateways send it). Otherwise only its
    digits: the schema checked its shape, and such a number is still a way back to
    the worker."""
    digits = re.sub(r"\D", "", raw or "")
    candidates = [raw]
    if digits.startswith("00"):
        candidates.append("+" + digits[2:])
    candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return digits
