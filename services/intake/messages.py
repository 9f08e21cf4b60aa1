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
VALIDATION_QUESTION = N_(
    "Case {case_ref}: the business says the problem has been fixed. Is that true for you? "
    "Reply YES if it is fixed or NO if it is not.")
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
        TOO_LONG, VALIDATION_QUESTION, ANSWER_THANKS, TRY_LATER, *STATUS_NAMES.values())
