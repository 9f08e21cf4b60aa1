"""What intake says to a worker on a chat channel (gettext message ids of the ``chat``
domain: the English text, translated in services/intake/locale/*/LC_MESSAGES/chat.po).
``say(MESSAGE, language, **params)`` in services/intake/texts.py fills the placeholders.
Short sentences: these are read on a phone, often in a second language."""


def N_(message: str) -> str:       # marks a message id for extraction (pybabel extract -k N_)
    return message


OPENED = N_(
    "Thank you, we have received your report. Your case number is {case_ref} and your secret "
    "receipt is {receipt}. Keep them safe and do not share the receipt. A case worker will look "
    "at your case soon. Write here at any time to add something. Send STATUS to see where your "
    "case stands, or STOP to withdraw it.")
ADDED = N_("Thank you, your message is added to case {case_ref}.")
SAFETY_FIRST = N_(
    "Your safety comes first. Our safeguarding team has been told and will contact you. If you "
    "are in danger now, call 1300 or the police on 191.")
STATUS = N_("Case {case_ref}: {status}.")
CONFIRM_WITHDRAW = N_(
    "Do you want to withdraw case {case_ref}? Send STOP again to confirm. Any other message keeps "
    "your case open.")
WITHDRAWN = N_("Case {case_ref} is withdrawn. You can write to us again at any time.")
CANNOT_WITHDRAW = N_("Case {case_ref} cannot be withdrawn now: {status}.")
STILL_REGISTERING = N_("Your case {case_ref} is still being registered. Please try again in a minute.")
NOT_TEXT = N_("We can only read text messages. Please write your message in words.")
TOO_LONG = N_("Your message is too long. Please send it in shorter parts of at most {limit} characters.")
# A validation question (services/intake/chat_validation.py): the opening (or the
# reminder's), one line per remedy action of the plan, then how to answer.
VALIDATION_ASK = N_(
    "Case {case_ref}: the business says it has fixed the problem. We want to know if that is true for you.")
VALIDATION_REMINDER = N_(
    "Reminder, case {case_ref}: we are still waiting for your answer. The business says it has fixed the "
    "problem. We want to know if that is true for you.")
VALIDATION_HOW_TO_ANSWER = N_(
    "Reply with one word: YES if it is all fixed, PARTLY if only some of it is fixed, NO if it is not fixed, "
    "or UNSAFE if it is not safe for you to answer.")
REMEDY_QUESTIONS = {
    "recruitment_fee_repayment": N_("Did you get back the recruitment fees you paid?"),
    "back_pay": N_("Did you receive the wages you were owed?"),
    "return_of_documents": N_("Were your documents returned to you?"),
    "contract_correction": N_("Is your contract now correct?"),
    "accommodation_fix": N_("Is your housing fixed?"),
    "policy_change": N_("Has the workplace rule been changed?"),
    "supervisor_discipline": N_("Has the supervisor's behaviour been dealt with?"),
    "training": N_("Did the training take place?"),
    "other": N_("Was the promised fix done?"),
}
REMEDY_IN_GENERAL = N_("Is the problem fixed for you?")     # a plan that named no action
ANSWER_THANKS = N_("Thank you for your answer on case {case_ref}.")
TRY_LATER = N_("We could not take your message right now. Please send it again in a few minutes.")

# A case's state as the worker reads it (the {status} of STATUS and CANNOT_WITHDRAW).
STATUS_NAMES = {
    "received": N_("received, waiting for a case worker"),
    "triaged": N_("a case worker is looking at it"),
    "referred": N_("sent to the business responsible"),
    "acknowledged": N_("the business has answered"),
    "plan_submitted": N_("the business has proposed a plan to fix it"),
    "remediating": N_("the business is fixing the problem"),
    "remediation_reported": N_("the business says it is fixed; we will ask you"),
    "validating": N_("we are asking the workers whether it is fixed"),
    "closed": N_("closed: the workers confirmed it is fixed"),
    "withdrawn": N_("withdrawn"),
}

CHAT = (OPENED, ADDED, SAFETY_FIRST, STATUS, CONFIRM_WITHDRAW, WITHDRAWN, CANNOT_WITHDRAW, STILL_REGISTERING, NOT_TEXT,
        TOO_LONG, VALIDATION_ASK, VALIDATION_REMINDER, VALIDATION_HOW_TO_ANSWER, *REMEDY_QUESTIONS.values(),
        REMEDY_IN_GENERAL, ANSWER_THANKS, TRY_LATER, *STATUS_NAMES.values())
