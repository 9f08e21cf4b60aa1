"""What a chat message means before it is a message: its language (by script) and
whether the whole message is a command word (status, withdraw, help, and the four
validation answers: yes, partly, no, unsafe).

A command is only a message that is nothing but command words of one meaning:
"STATUS", "สถานะ", "สถานะ (STATUS)" (what the chat texts tell the worker to send),
"ใช่ครับ". "I want to STOP working nights" is a message for the case worker, never a
withdrawal: misreading a grievance as a command loses it, so anything in doubt is an
ordinary message. Quick-reply buttons send a payload instead, mapped directly.
"""
from __future__ import annotations

import unicodedata

INTENTS = ("status", "withdraw", "help", "yes", "partly", "no", "unsafe")

# The command words, per language and intent: the words the catalogues
# (locale/*/LC_MESSAGES/chat.po) tell the worker to send come first. Lower case; no
# digits (a menu number means nothing once the menu has scrolled away).
WORDS = {
    "en": {"status": ("status",), "withdraw": ("stop", "withdraw", "cancel"), "help": ("help", "menu"),
           "yes": ("yes", "y"), "partly": ("partly", "partially", "partial"), "no": ("no", "n"),
           "unsafe": ("unsafe", "not safe")},
    "th": {"status": ("สถานะ", "ติดตาม"), "withdraw": ("ถอน", "หยุด", "ถอนเรื่อง", "ยกเลิก"),
           "help": ("ช่วยเหลือ", "วิธีใช้"), "yes": ("ใช่",), "partly": ("บางส่วน", "แค่บางส่วน"),
           "no": ("ไม่", "ไม่ใช่"), "unsafe": ("ไม่ปลอดภัย",)},
    "my": {"status": ("အခြေအနေ",), "withdraw": ("ရပ်", "ရုပ်သိမ်း", "ရပ်ပါ"), "help": ("အကူအညီ",),
           "yes": ("ဟုတ်", "ဟုတ်ကဲ့", "ဟုတ်တယ်"), "partly": ("တစ်စိတ်တစ်ပိုင်း",), "no": ("မဟုတ်", "မဟုတ်ဘူး"),
           "unsafe": ("မလုံခြုံ", "မလုံခြုံဘူး")},
    "km": {"status": ("ស្ថានភាព",), "withdraw": ("ឈប់", "ដកវិញ", "ដកករណី"), "help": ("ជំនួយ",),
           "yes": ("បាទ", "ចាស", "ចាស៎", "ចាស់"), "partly": ("ខ្លះ", "មួយផ្នែក"), "no": ("ទេ",),
           "unsafe": ("មិនសុវត្ថិភាព",)},
    "lo": {"status": ("ສະຖານະ",), "withdraw": ("ຢຸດ", "ຖອນ", "ຖອນເລື່ອງ"), "help": ("ຊ່ວຍເຫຼືອ",),
           "yes": ("ແມ່ນ", "ແມ່ນແລ້ວ", "ເຈົ້າ"), "partly": ("ບາງສ່ວນ",), "no": ("ບໍ່", "ບໍ່ແມ່ນ"),
           "unsafe": ("ບໍ່ປອດໄພ",)},
    "ne": {"status": ("स्थिति", "अवस्था"), "withdraw": ("रोक", "रोक्नुहोस्", "फिर्ता"), "help": ("मद्दत", "सहायता"),
           "yes": ("हो", "हजुर हो"), "partly": ("आंशिक", "केही मात्र"), "no": ("होइन",),
           "unsafe": ("असुरक्षित",)},
}
# Polite endings a worker adds to a one-word answer ("ใช่ครับ", "ບໍ່ເຈົ້າ"): not words of their own.
POLITE_ENDINGS = ("ครับ", "คับ", "ค่ะ", "คะ", "จ้า", "ເຈົ້າ", "ပါ", "ရှင့်", "ခင်ဗျာ")
PAYLOADS = {f"ILM_{intent.upper()}": intent for intent in INTENTS}   # quick replies

_INTENT_OF_WORD = {word: intent for words in WORDS.values() for intent, ws in words.items() for word in ws}

# Script ranges (Unicode blocks) of the workers' languages.
SCRIPTS = (("th", 0x0E00, 0x0E7F), ("lo", 0x0E80, 0x0EFF), ("my", 0x1000, 0x109F),
           ("km", 0x1780, 0x17FF), ("ne", 0x0900, 0x097F))


def detect_language(text: str | None) -> str | None:
    """The language whose script most letters are in; None when Latin (or nothing
    we know) is the most: English or a romanised language we cannot tell apart."""
    counts = {"latin": 0}
    for ch in text or "":
        code = ord(ch)
        for lang, low, high in SCRIPTS:
            if low <= code <= high:
                counts[lang] = counts.get(lang, 0) + 1
                break
        else:
            if ch.isalpha() and code < 0x0250:
                counts["latin"] += 1
    best = max(counts, key=counts.get)
    return None if best == "latin" or counts[best] == 0 else best


def intent_of(text: str | None, payload: str | None = None) -> str | None:
    """One of INTENTS, or None for an ordinary message."""
    if payload and payload.strip().upper() in PAYLOADS:
        return PAYLOADS[payload.strip().upper()]
    words = _words(text or "")
    if not words:
        return None
    whole = _INTENT_OF_WORD.get(" ".join(words))     # a command of several words ("हजुर हो")
    if whole:
        return whole
    intents = {_INTENT_OF_WORD.get(_unpolite(w)) for w in words}
    return intents.pop() if len(intents) == 1 and None not in intents else None


def _words(text: str) -> list[str]:
    """Casefolded words: punctuation, symbols (emoji), spaces and control characters
    separate them; invisible format characters (the zero-width spaces Khmer, Lao or
    Burmese text puts between words, emoji joiners) are dropped."""
    text = unicodedata.normalize("NFC", text).casefold()
    kept = "".join("" if unicodedata.category(ch) == "Cf" else
                   " " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    return kept.split()


def _unpolite(word: str) -> str:
    for ending in POLITE_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending):
            return word[: -len(ending)]
    return word
