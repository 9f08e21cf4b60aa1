"""The chat's command words and language detection (services/intake/words.py): a whole
message of command words is a command in any of the six languages; a sentence that
contains one is a message for the case worker; the words agree with the catalogues."""
import pytest

from services.intake import messages, texts
from services.intake.words import INTENTS, PAYLOADS, WORDS, detect_language, intent_of


def test_every_language_has_every_intent():
    assert set(WORDS) == set(texts.LANGUAGES)
    for lang, words in WORDS.items():
        assert set(words) == set(INTENTS), lang
        assert all(w and w == w.casefold() and not any(c.isdigit() for c in w)
                   for ws in words.values() for w in ws), lang


def test_no_word_means_two_things():
    seen = {}
    for words in WORDS.values():
        for intent, ws in words.items():
            for w in ws:
                assert seen.setdefault(w, intent) == intent, w


@pytest.mark.parametrize("lang", texts.LANGUAGES)
def test_every_word_of_every_language_is_its_command(lang):
    for intent, ws in WORDS[lang].items():
        for w in ws:
            assert intent_of(w) == intent
            assert intent_of(f"  {w.upper()}!! ") == intent


@pytest.mark.parametrize("lang", texts.LANGUAGES)
def test_the_words_the_chat_texts_name_are_commands(lang):
    """What the worker is told to send works: the first word of each intent is in the
    text that names it, in the worker's language."""
    opened = texts.say(messages.OPENED, lang, case_ref="ILM-X", receipt="R")
    how_to_answer = texts.say(messages.VALIDATION_HOW_TO_ANSWER, lang)
    assert WORDS[lang]["status"][0] in opened.casefold() and "STATUS" in opened
    assert WORDS[lang]["withdraw"][0] in opened.casefold() and "STOP" in opened
    for intent in ("yes", "partly", "no", "unsafe"):
        assert WORDS[lang][intent][0] in how_to_answer.casefold() and intent.upper() in how_to_answer, intent


@pytest.mark.parametrize("text, intent", [
    ("status", "status"), ("Status?", "status"), ("STATUS 🙏", "status"), ("สถานะ (STATUS)", "status"),
    ("ສະຖານະ", "status"), ("အခြေအနေ။", "status"), ("ស្ថានភាព", "status"), ("स्थिति", "status"),
    ("STOP", "withdraw"), ("withdraw.", "withdraw"), ("ถอน", "withdraw"), ("ถอน (STOP)", "withdraw"),
    ("ຢຸດ", "withdraw"), ("ရပ်", "withdraw"), ("ឈប់", "withdraw"), ("ដក\u200bវិញ", "withdraw"), ("रोक", "withdraw"),
    ("help", "help"), ("ช่วยเหลือ", "help"), ("मद्दत", "help"),
    ("Yes", "yes"), ("yes!", "yes"), ("ใช่ครับ", "yes"), ("ใช่ค่ะ", "yes"), ("ဟုတ်ကဲ့", "yes"),
    ("បាទ/ចាស", "yes"), ("ແມ່ນເຈົ້າ", "yes"), ("हो", "yes"), ("👍 YES 👍", "yes"),
    ("no", "no"), ("ไม่ค่ะ", "no"), ("ไม่ใช่", "no"), ("မဟုတ်ဘူး", "no"), ("ទេ", "no"), ("ບໍ່", "no"), ("होइन", "no"),
    ("  status   status ", "status"),
    ("Partly", "partly"), ("บางส่วนค่ะ", "partly"), ("တစ်စိတ်တစ်ပိုင်း", "partly"), ("ខ្លះ", "partly"),
    ("ບາງສ່ວນ", "partly"), ("आंशिक", "partly"), ("UNSAFE", "unsafe"), ("not safe!", "unsafe"),
    ("ไม่ปลอดภัยครับ", "unsafe"), ("မလုံခြုံဘူး", "unsafe"), ("មិនសុវត្ថិភាព", "unsafe"), ("ບໍ່ປອດໄພ", "unsafe"),
    ("असुरक्षित", "unsafe"),
])
def test_a_whole_message_of_command_words_is_a_command(text, intent):
    assert intent_of(text) == intent


@pytest.mark.parametrize("text", [
    None, "", "   ", "🙏", "1", "2",
    "I want to stop working nights",
    "What is the status of my passport? The agent still has it.",
    "yes no", "stop status",                       # two meanings: ask the person, do not guess
    "นายจ้างไม่จ่ายค่าจ้าง",                        # Thai: the employer does not pay (contains ไม่)
    "ไม่ได้รับเงินเดือนสองเดือน",                      # Thai: no salary for two months
    "หยุดงานไม่ได้เลย",                              # Thai: cannot take a day off (contains หยุด)
    "ဟုတ်တယ်၊ ဒါပေမယ့် လစာ မရသေးဘူး",                  # Burmese: yes, but no salary yet
    "ចៅហ្វាយមិនឲ្យឈប់សម្រាក",                          # Khmer: the boss gives no rest day (contains ឈប់)
    "ບໍ່ໄດ້ຮັບເງິນເດືອນ",                              # Lao: did not receive the salary
    "हो, तर तलब पाएको छैन",                          # Nepali: yes, but I have not been paid
])
def test_a_sentence_is_a_message_not_a_command(text):
    assert intent_of(text) is None


def test_quick_reply_payloads_map_directly_and_win_over_text():
    assert {PAYLOADS[p] for p in PAYLOADS} == set(INTENTS)
    for payload, intent in PAYLOADS.items():
        assert intent_of(None, payload) == intent
        assert intent_of("whatever the button said", payload) == intent
    assert intent_of("status", "SOMETHING_ELSE") == "status"      # an unknown payload: the text decides
    assert intent_of("a sentence", "SOMETHING_ELSE") is None


@pytest.mark.parametrize("text, lang", [
    ("นายจ้างไม่จ่ายค่าแรง", "th"), ("ນາຍຈ້າງບໍ່ຈ່າຍເງິນ", "lo"), ("လစာ မရသေးဘူး", "my"),
    ("ចៅហ្វាយមិនបើកប្រាក់ខែ", "km"), ("तलब पाएको छैन", "ne"),
    ("My boss at the KFC branch ไม่จ่ายเงินเดือนให้พวกเราสามเดือนแล้ว", "th"),   # most letters Thai
    ("ILM-2345 ສະຖານະ", "lo"),
])
def test_language_by_the_script_of_most_letters(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", [None, "", "12345 !!", "🙏🙏", "hello, my salary is late", "Salary late กรุณา"])
def test_latin_or_nothing_known_is_no_language(text):
    assert detect_language(text) is None
