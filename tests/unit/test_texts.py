"""Every worker-facing text exists in every language (issue 10): for each gettext
domain in the English locale folder (chat, the worker page, whatever comes next)
and each of texts.LANGUAGES, the catalogue exists, translates every English id
(non-empty, not fuzzy) with the same {placeholders}, and has no id English lacks."""
import re
import string

import pytest
from babel.messages.pofile import read_po

from services.intake import messages, texts

DOMAINS = sorted(p.stem for p in (texts.LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po"))
CASES = [(d, lang) for d in DOMAINS for lang in texts.LANGUAGES]
# {name} (str.format, the chat) and %(name)s (Jinja2's i18n, the worker page).
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\(\w+\)[sd]")


def ids(domain, language):
    return {m.id: m for m in texts.catalogue(domain, language) if m.id}


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def test_the_chat_domain_is_there():
    assert "chat" in DOMAINS


@pytest.mark.parametrize("domain, language", CASES)
def test_the_catalogue_translates_every_english_id(domain, language):
    path = texts.LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    assert path.is_file(), f"{domain} has no {language} catalogue"
    english, here = ids(domain, "en"), ids(domain, language)
    assert sorted(set(english) - set(here)) == [], f"{domain}/{language} lacks these"
    assert sorted(set(here) - set(english)) == [], f"{domain}/{language} has ids English lacks"
    for msgid, message in here.items():
        assert isinstance(message.string, str) and message.string.strip(), f"{language}: {msgid!r} untranslated"
        assert not message.fuzzy, f"{language}: {msgid!r} is fuzzy"
        assert placeholders(message.string) == placeholders(msgid), f"{language}: {msgid!r}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_english_maps_each_id_to_itself(domain):
    assert all(m.string == msgid for msgid, m in ids(domain, "en").items())


def test_the_english_chat_ids_are_exactly_the_chat_messages():
    assert set(ids("chat", "en")) == set(messages.CHAT)
    assert len(set(messages.CHAT)) == len(messages.CHAT)


def test_the_chat_template_is_up_to_date():
    """locale/chat.pot is what ``pybabel extract`` (services/intake/babel.cfg) makes of messages.py."""
    with open(texts.LOCALE_DIR / "chat.pot", "rb") as f:
        assert {m.id for m in read_po(f) if m.id} == set(messages.CHAT)


def test_a_catalogue_lacking_a_message_fails_the_check(monkeypatch):
    """The check above bites: a message dropped from one language is reported."""
    real = texts.catalogue

    def without_one(domain, language):
        cat = real(domain, language)
        if language == "km":
            cat.delete(messages.ADDED)
        return cat
    monkeypatch.setattr(texts, "catalogue", without_one)
    with pytest.raises(AssertionError, match="lacks"):
        test_the_catalogue_translates_every_english_id("chat", "km")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", texts.LANGUAGES)
def test_say_fills_the_placeholders_in_each_language(language):
    for message in messages.CHAT:
        params = {name: f"<{name}>" for name in _fields(message)}
        said = texts.say(message, language, **params)
        assert all(value in said for value in params.values()), (language, message)
        assert "{" not in said and "}" not in said
        if language != "en":
            assert said != message, f"{language}: {message!r} is still English"


def test_say_builds_a_status_line_from_two_messages():
    status = texts.say(messages.STATUS_NAMES["remediating"], "th")
    line = texts.say(messages.STATUS, "th", case_ref="ILM-ABCD2345", status=status)
    assert line == "เรื่อง ILM-ABCD2345: บริษัทกำลังแก้ปัญหา"


@pytest.mark.parametrize("tag, language", [
    ("th", "th"), ("th-TH", "th"), ("my_MM", "my"), ("KM", "km"), ("lo-LA", "lo"), ("ne-NP", "ne"),
    ("en-GB", "en"), ("fr", "en"), ("", "en"), (None, "en"), ("zz-ZZ", "en"),
])
def test_language_of_falls_back_to_english(tag, language):
    assert texts.language_of(tag) == language


def test_an_unknown_language_says_it_in_english():
    assert texts.say(messages.ADDED, "fr", case_ref="ILM-1") == "Thank you, your message is added to case ILM-1."
