"""What a worker's own words report, in the six languages (DOMAIN.md "Retaliation and
suppression of voice"): reprisal for speaking up, and suppression of voice.

The flags forms and staff set are the primary signal; these scans are a safety net
for what workers write themselves, so they err towards raising a concern (a case
worker reads every one) but stay narrow enough that an ordinary complaint about
wages raises none. Every pattern is linear in the text's length
(shared/text_patterns.py: ``bounded`` refuses one that is not; "A, later on the same
line, B" is ``FollowedBy``). Thai, Lao, Khmer and Burmese put no spaces between
words, so their patterns are fragments without ``\\b``.
"""
from __future__ import annotations

from shared.text_patterns import FollowedBy, bounded

# Reprisal (threats, dismissal, fines or pay deductions, violence, deportation
# threats, blacklisting) against a worker who spoke up.
RETALIATION = {
    "en": (r"\bthreat(en|ened|ening|s)?\b", r"\bretaliat", r"\breprisal", r"\bpunish",
           r"\b(fired|dismissed|sacked|terminated)\b", r"\bfine[ds]?\b", r"\bdeduct",
           r"\bdeport", r"\bblacklist", r"\bbeat(en)?\b", r"\bhit me\b",
           r"\bfor (complaining|reporting|speaking)"),
    "th": (r"ขู่", r"ไล่ออก", r"เลิกจ้าง", r"หักเงิน", r"หักค่าจ้าง", r"ปรับเงิน", r"ทำร้าย", r"ทุบตี",
           r"ส่งกลับประเทศ", r"ส่งตัวกลับ", r"เนรเทศ", r"บัญชีดำ", r"แบล็[คก]ลิสต์"),
    "my": (r"ခြိမ်းခြောက်", r"အလုပ်ထုတ်", r"အလုပ်ဖြုတ်", r"လစာဖြတ်", r"ငွေဖြတ်", r"ဒဏ်ငွေ",
           r"ရိုက်နှက်", r"ထိုးကြိတ်", r"အကြမ်းဖက်", r"ပြည်နှင်", r"နိုင်ငံပြန်ပို့", r"အမည်ပျက်စာရင်း"),
    "km": (r"គំរាម", r"បណ្[តដ]េញ", r"កាត់ប្រាក់", r"ពិន័យ", r"វាយដំ", r"ធ្វើបាប", r"អំពើហិង្សា",
           r"និរទេស", r"បញ្ជូន\S{0,6}ត្រឡប់", r"បញ្ជីខ្មៅ"),
    "lo": (r"ຂູ່", r"ໄລ່ອອກ", r"ຫັກເງິນ", r"ຫັກຄ່າແຮງ", r"ປັບໃໝ", r"ທຳຮ້າຍ", r"ທຸບຕີ",
           r"ສົ່ງກັບປະເທດ", r"ເນລະເທດ", r"ບັນຊີດຳ"),
    "ne": (r"धम्की", r"(कामबाट|जागिरबाट) निकाल", r"बर्खास्त", r"(तलब|पैसा) काट", r"जरिवाना",
           r"कुटपिट", r"कुट्यो", r"कुट्छ", r"पिट्यो", r"हिंसा", r"डिपोर्ट", r"निर्वासन",
           r"देश फिर्ता पठा", r"कालो ?सूची", r"ब्ल्याकलिस्ट"),
}

# Suppression of voice: told not to use a channel or hotline, phones confiscated,
# interpreters or supervisors blocking complaints, punished for contacting an NGO
# (a pair: both orders, "fined for calling the hotline", "called the NGO, then fired").
_EN_PHONES = r"\b(phones?|mobiles?)\b"


def _either(a: str, b: str) -> tuple:
    return (a, b), (b, a)


VOICE_SUPPRESSION = {
    "en": (rf"\b(confiscat\w{{0,5}}|seiz\w{{0,3}})\b.{{0,25}}{_EN_PHONES}",
           rf"\btook (away )?(our|my|their|his|her|all( the)?|the workers'?) {_EN_PHONES}",
           rf"{_EN_PHONES}.{{0,25}}\b(taken( away)?|confiscated|seized|locked (up|away))\b",
           r"\b(told|warned|ordered|forb[ai]de?)\b.{0,30}\bnot to (call|use|contact|complain|report|talk)",
           r"\bnot (allowed|permitted) to (call|contact|complain|report|use)",
           r"\b(banned|forbidden) (from|to) (calling|contacting|complaining|reporting|using)",
           (r"\b(interpreters?|translators?|supervisors?|foreman|foremen|line leaders?)\b",
            r"\b(block|stop|prevent)\w{0,4}\b.{0,30}\b(complain|report|call|speak|contact)"),
           (r"\b(interpreters?|translators?)\b", r"\b(refus\w{0,3}|won'?t|did ?n[o']t)\b.{0,12}\btranslat"),
           *_either(r"\b(punish\w{0,4}|fined|fired|dismissed|beaten|warned)\b",
                    r"\b(call\w{0,3}|contact\w{0,3}|talk\w{0,3} to|complain\w{0,3} to)\b.{0,20}\b(ngos?|hotline|union)\b")),
    "th": (r"ยึด.{0,12}(โทรศัพท์|มือถือ)", r"(โทรศัพท์|มือถือ).{0,12}ถูกยึด",
           r"(ห้าม|ไม่ให้).{0,10}(ร้องเรียน|แจ้งความ|แจ้งเรื่อง|โทรหา|โทรไป|ติดต่อ|ใช้ไลน์|ใช้สายด่วน|ใช้โทรศัพท์|ใช้มือถือ)",
           (r"(ล่าม|หัวหน้า)", r"(ไม่ยอมแปล|ขัดขวาง|กีดกัน)"),
           *_either(r"(ลงโทษ|ไล่ออก|หักเงิน)", r"(มูลนิธิ|เอ็นจีโอ|NGO|สายด่วน)")),
    "my": (r"ဖုန်း.{0,16}(သိမ်းယူ|သိမ်းဆည်း|ယူသွား)", r"မတိုင်(နဲ့|ရ)", r"မဆက်သွယ်(နဲ့|ရ)", r"ဖုန်းမဆက်(နဲ့|ရ)",
           r"တိုင်ကြားခွင့်မ", (r"(စကားပြန်|ကြီးကြပ်ရေးမှူး|ဆူပါဗိုက်ဆာ)", r"(တားဆီး|တားမြစ်|ဘာသာမပြန်)"),
           *_either(r"(အန်ဂျီအို|NGO|ဟော့လိုင်း)", r"(အပြစ်ပေး|ဒဏ်ပေး|အလုပ်ထုတ်|ဒဏ်ငွေ)")),
    "km": (r"(ដកហូត|រឹបអូស).{0,12}ទូរស័ព្ទ", r"ទូរស័ព្ទ.{0,16}(ដកហូត|រឹបអូស)",
           r"(ហាម|មិន(ឲ្យ|អោយ|ឱ្យ)).{0,12}(ប្[តដ]ឹង|តវ៉ា|ហៅទូរស័ព្ទ|ប្រើទូរស័ព្ទ|ទាក់ទងអង្គការ|ទាក់ទងខាងក្រៅ)",
           (r"(អ្នកបកប្រែ|មេការ|ប្រធាន)", r"(រារាំង|មិនព្រមបកប្រែ)"),
           *_either(r"(អង្គការ|NGO|ខ្សែទូរស័ព្ទជំនួយ)", r"(ដាក់ទោស|បណ្[តដ]េញ|ពិន័យ)")),
    "lo": (r"ຍຶດ.{0,12}(ໂທລະສັບ|ມືຖື)", r"(ໂທລະສັບ|ມືຖື).{0,12}ຖືກຍຶດ",
           r"(ຫ້າມ|ບໍ່ໃຫ້).{0,10}(ຮ້ອງຮຽນ|ແຈ້ງຄວາມ|ໂທຫາ|ຕິດຕໍ່|ໃຊ້ສາຍດ່ວນ|ໃຊ້ໂທລະສັບ)",
           (r"(ລ່າມ|ນາຍແປ|ຫົວໜ້າ)", r"(ກີດຂວາງ|ບໍ່ຍອມແປ|ຂັດຂວາງ)"),
           *_either(r"(ລົງໂທດ|ໄລ່ອອກ|ຫັກເງິນ)", r"(ອົງການ|NGO|ມູນນິທິ|ສາຍດ່ວນ)")),
    "ne": (r"(फोन|मोबाइल)\S{0,6} ?(खोस|जफत|लुकाइ)",
           r"(उजुरी|गुनासो|फोन)\S{0,4} (नगर्नू|नगर्नु|गर्न (पाइँदैन|पाइदैन|दिएन|दिँदैन|दिदैन))",
           (r"(दोभाषे|सुपरभाइजर|मालिक|हाकिम)",
            r"((उजुरी|गुनासो)\S{0,6} (रोक|गर्न दिएन|गर्न दिँदैन)|अनुवाद (गरेन|गर्दैन|गरिदिएन))"),
           *_either(r"(संस्था|एनजीओ|NGO|हटलाइन)", r"(सजाय|निकाल|जरिवाना)")),
}


def _compile(table: dict) -> dict:
    return {lang: [FollowedBy(*p) if isinstance(p, tuple) else bounded(p) for p in patterns]
            for lang, patterns in table.items()}


RETALIATION_PATTERNS = _compile(RETALIATION)
VOICE_SUPPRESSION_PATTERNS = _compile(VOICE_SUPPRESSION)
ALL_PATTERNS = [p for table in (RETALIATION_PATTERNS, VOICE_SUPPRESSION_PATTERNS)
                for patterns in table.values() for p in patterns]


def _mentions(table: dict, text: str | None) -> bool:
    # Every language's patterns, whatever the message's language: workers mix them.
    return bool(text) and any(p.search(text) for patterns in table.values() for p in patterns)


def mentions_retaliation(text: str | None) -> bool:
    return _mentions(RETALIATION_PATTERNS, text)


def mentions_voice_suppression(text: str | None) -> bool:
    return _mentions(VOICE_SUPPRESSION_PATTERNS, text)
