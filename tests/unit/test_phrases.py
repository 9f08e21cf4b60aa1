"""Retaliation and suppression of voice in workers' own words, in the six languages
(services/intake/phrases.py), and the ``voice_suppression.reported`` concern a
grievance raises from them: real sentences per language, and ordinary complaints
(wages, hours, phones used normally) that must raise nothing."""
import pytest

from services.intake import phrases
from services.intake.domain import Grievance
from services.intake.phrases import mentions_retaliation, mentions_voice_suppression
from services.intake.texts import LANGUAGES
from shared.contracts.events import RETALIATION_REPORTED, VOICE_SUPPRESSION_REPORTED, make_event
from tests.unit.test_intake_domain import CASE_REF, NOW, WORKER_KEY, report

RETALIATION = {
    "en": ["The broker said he will blacklist me because I complained."],
    "th": ["หัวหน้าขู่ว่าจะไล่ออกถ้าไปร้องเรียน", "นายจ้างบอกว่าจะส่งกลับประเทศ", "ถูกหักเงินเพราะไปแจ้งเรื่อง"],
    "my": ["ကျွန်တော် တိုင်ကြားလို့ အလုပ်ထုတ်ခံရတယ်", "ပွဲစားက ပြည်နှင်မယ်လို့ ခြိမ်းခြောက်တယ်"],
    "km": ["មេការគំរាមថានឹងបណ្តេញយើងចេញ", "ក្រុមហ៊ុនកាត់ប្រាក់ខែខ្ញុំព្រោះខ្ញុំប្តឹង"],
    "lo": ["ນາຍຈ້າງຂູ່ວ່າຈະໄລ່ອອກ", "ຖືກຫັກເງິນຍ້ອນໄປຮ້ອງຮຽນ"],
    "ne": ["मालिकले धम्की दियो", "उजुरी गरेकोले मलाई कामबाट निकाल्यो", "उजुरी गरेपछि तलब काटियो"],
}
VOICE_SUPPRESSION = {
    "en": ["The supervisor took our phones so we cannot call the hotline.",
           "We were told not to call the hotline or talk to the NGO.",
           "The interpreter refused to translate my complaint.",
           "Our phones are taken away every morning at the gate.",
           "The line leader stopped us from making a complaint to the manager.",
           "I was fined for calling the NGO last week."],
    "th": ["หัวหน้ายึดโทรศัพท์ของพวกเรา", "นายจ้างห้ามโทรหาสายด่วน", "ล่ามไม่ยอมแปลเรื่องที่เราร้องเรียน",
           "ติดต่อมูลนิธิแล้วถูกไล่ออก"],
    "my": ["သူဌေးက ကျွန်တော်တို့ ဖုန်းတွေကို သိမ်းယူသွားတယ်", "ဟော့လိုင်းကို မဆက်သွယ်ရဘူးလို့ ပြောတယ်",
           "စကားပြန်က ကျွန်တော်တို့ တိုင်ကြားတာကို တားဆီးတယ်"],
    "km": ["មេការដកហូតទូរស័ព្ទរបស់កម្មករ", "ក្រុមហ៊ុនហាមមិនឲ្យយើងប្តឹង", "អ្នកបកប្រែមិនព្រមបកប្រែពាក្យបណ្តឹងរបស់យើង"],
    "lo": ["ຫົວໜ້າຍຶດໂທລະສັບຂອງພວກເຮົາ", "ນາຍຈ້າງຫ້າມໂທຫາສາຍດ່ວນ", "ລ່າມບໍ່ຍອມແປຄຳຮ້ອງຮຽນຂອງພວກເຮົາ"],
    "ne": ["सुपरभाइजरले हाम्रो फोन खोस्यो", "हटलाइनमा फोन नगर्नू भन्यो", "दोभाषेले हाम्रो उजुरी अनुवाद गरेन"],
}
# Ordinary complaints, and phones used as phones: neither a reprisal nor suppression.
NEUTRAL = {
    "en": ["I work 12 hours a day and the employer pays 300 baht, less than the minimum wage.",
           "I call my family on my phone every Sunday.", "The interpreter helped me fill in the form."],
    "th": ["นายจ้างจ่ายค่าแรงวันละ 300 บาท น้อยกว่าค่าแรงขั้นต่ำ", "ฉันใช้โทรศัพท์โทรหาครอบครัวทุกวันอาทิตย์",
           "ฉันเก็บโทรศัพท์ไว้ในกระเป๋า"],
    "my": ["လစာ တစ်ရက် ၃၀၀ ဘတ်ပဲ ရတယ်၊ အနည်းဆုံးလုပ်ခထက် နည်းတယ်", "ဖုန်းနဲ့ မိသားစုကို ဆက်သွယ်တယ်"],
    "km": ["ខ្ញុំធ្វើការ១២ម៉ោងក្នុងមួយថ្ងៃ ហើយទទួលបានប្រាក់ឈ្នួល៣០០បាត", "ខ្ញុំប្រើទូរស័ព្ទហៅគ្រួសាររៀងរាល់ថ្ងៃអាទិត្យ"],
    "lo": ["ຂ້ອຍໄດ້ຄ່າແຮງມື້ລະ 300 ບາດ ໜ້ອຍກວ່າຄ່າແຮງຂັ້ນຕ່ຳ", "ນາຍຈ້າງບໍ່ໃຫ້ເງິນເດືອນຕາມກຳນົດ"],
    "ne": ["मलाई दिनको ३०० बाट मात्र तलब दिन्छ, न्यूनतम तलबभन्दा कम", "म हरेक आइतबार फोनबाट परिवारलाई कल गर्छु"],
}


def _cases(table):
    return [(lang, text) for lang, texts in table.items() for text in texts]


def test_every_language_has_patterns_and_sentences():
    for table in (phrases.RETALIATION, phrases.VOICE_SUPPRESSION, RETALIATION, VOICE_SUPPRESSION, NEUTRAL):
        assert set(table) == set(LANGUAGES)


@pytest.mark.parametrize("lang, text", _cases(RETALIATION))
def test_reprisal_in_each_language_is_retaliation(lang, text):
    assert mentions_retaliation(text)


@pytest.mark.parametrize("lang, text", _cases(VOICE_SUPPRESSION))
def test_suppressed_voice_in_each_language_is_recognised(lang, text):
    assert mentions_voice_suppression(text)


@pytest.mark.parametrize("lang, text", _cases(NEUTRAL))
def test_an_ordinary_complaint_raises_nothing(lang, text):
    assert not mentions_retaliation(text)
    assert not mentions_voice_suppression(text)


@pytest.mark.parametrize("text", [None, ""])
def test_no_text_mentions_nothing(text):
    assert not mentions_voice_suppression(text) and not mentions_retaliation(text)


def test_a_worker_mixing_languages_is_understood():
    assert mentions_voice_suppression("Boss ยึดโทรศัพท์ of everyone in the dormitory")


# --- the concern a grievance raises ---------------------------------------------------

def _concerns(g, contract=VOICE_SUPPRESSION_REPORTED):
    return [make_event(c, g.case_ref, data, "corr-1")["data"] for c, data in g.raised if c is contract]


def test_a_report_telling_of_confiscated_phones_raises_a_concern_not_a_critical_case():
    g = Grievance.receive(report(text="The supervisor took our phones.", work_area="working_conditions"),
                          CASE_REF, WORKER_KEY, "v1:sealed", None, NOW)
    [concern] = _concerns(g)
    assert concern["raised_from"] == "grievance" and concern["supplier_ref"] == "SUP-1"
    assert set(concern) == {"alert_id", "raised_from", "work_area", "supplier_ref", "site_ref", "reported_at"}
    assert g.voice_suppression and g.severity == "normal" and not g.retaliation
    assert _concerns(g, RETALIATION_REPORTED) == []


def test_the_form_flag_raises_it_without_words():
    g = Grievance.receive(report(voice_suppression=True), CASE_REF, WORKER_KEY, "v1:sealed", None, NOW)
    assert len(_concerns(g)) == 1


def test_a_quiet_report_raises_none():
    g = Grievance.receive(report(), CASE_REF, WORKER_KEY, "v1:sealed", None, NOW)
    assert _concerns(g) == [] and not g.voice_suppression


def test_a_follow_up_or_an_answer_raises_it_beside_any_retaliation_alert():
    g = Grievance.receive(report(), CASE_REF, WORKER_KEY, "v1:sealed", None, NOW)
    g.raised.clear()
    assert g.add_follow_up("v1:s", False, "หัวหน้ายึดโทรศัพท์และขู่ว่าจะไล่ออก", NOW) is True
    assert [c["raised_from"] for c in _concerns(g)] == ["follow_up"]
    assert len(_concerns(g, RETALIATION_REPORTED)) == 1
    g.raised.clear()
    g.add_follow_up("v1:s", False, "Thank you", NOW, voice_flagged=True)
    g.submit_validation_answer("not_resolved", "v1:s", False, "ຫົວໜ້າຍຶດໂທລະສັບຂອງພວກເຮົາ", NOW)
    assert [c["raised_from"] for c in _concerns(g)] == ["follow_up", "validation_answer"]
    g.raised.clear()
    g.submit_validation_answer("confirmed", None, False, None, NOW)
    assert _concerns(g) == []
