"""The names Koers's parts share: the bot (actions, rules, domain), the database and the web app.

One module, so that a form name, a status or a category is spelled once. The database keeps
these strings (check constraints in bot/storage/models.py), the domain uses the form and slot
names, and the dashboard shows Dutch words for them (bot/storage/queries.py). Client-facing text
is not here: see domain.yml and bot/content/themes.yml.
"""

from __future__ import annotations

# --- language levels ----------------------------------------------------------------------------
STANDARD = "standaard"
SIMPLE = "eenvoudig"  # short sentences and easy words (clients with LVB)
LANGUAGE_LEVELS = (STANDARD, SIMPLE)
DEFAULT_LANGUAGE_LEVEL = STANDARD
LANGUAGE_SLOT = "taalniveau"

# --- reflections --------------------------------------------------------------------------------
STATUS_COMPLETE = "compleet"
STATUS_INTERRUPTED = "onderbroken"  # a private draft, resumable at the next check-in
REFLECTION_STATUSES = (STATUS_COMPLETE, STATUS_INTERRUPTED)
# The theme key of a free "even iets kwijt" (venting) reflection; the CHIME-S themes are in
# bot/content/themes.yml.
VENT_THEME = "kwijt"
VENT_QUESTION_KEY = "kwijt"  # question_key of a venting answer

# --- small steps --------------------------------------------------------------------------------
STEP_OPEN = "open"
STEP_DONE = "gelukt"
STEP_PARTLY = "beetje"  # the client said the step went "een beetje"
STEP_NOT_DONE = "niet_gelukt"
STEP_EXPIRED = "vervallen"
STEP_STATUSES = (STEP_OPEN, STEP_DONE, STEP_PARTLY, STEP_NOT_DONE, STEP_EXPIRED)
STEP_OUTCOMES = (STEP_DONE, STEP_PARTLY, STEP_NOT_DONE)  # what the client can answer

# --- safety -------------------------------------------------------------------------------------
SAFETY_CATEGORIES = (
    "suicide",
    "self_harm",
    "overdose",
    "danger_to_others",
    "threatened",
    "abuse",
    "unknown",
)
UNKNOWN_CATEGORY = "unknown"
# "client": the client said so themselves, e.g. by choosing red in their safety plan.
# "semantic": the meaning model (bot/safety/semantic.py); "context": the message together with
# the conversation (a low mood, a worrying previous message; bot/safety/decision.py).
DETECTED_BY = ("matcher", "classifier", "semantic", "both", "context", "client")
# What Koers did: the crisis help at once, or first a calm check question.
OUTCOME_HELP = "hulp"
OUTCOME_CHECK = "controle"
SAFETY_OUTCOMES = (OUTCOME_HELP, OUTCOME_CHECK)
CHECK_YES = "ja"
CHECK_NO = "nee"
CHECK_DONT_KNOW = "weet_niet"
# No clear answer: unclear twice, or "stop"/"doei" instead of an answer (the crisis help was
# shown, as after "weet ik niet"; the worker reads that the client did not answer).
CHECK_UNCLEAR = "onduidelijk"
CHECK_ANSWERS = (CHECK_YES, CHECK_NO, CHECK_DONT_KNOW, CHECK_UNCLEAR)
# The answers after which Koers showed the crisis help.
CHECK_HELP_ANSWERS = (CHECK_YES, CHECK_DONT_KNOW, CHECK_UNCLEAR)
# The worker's review of an alert.
REVIEW_SEEN = "gezien"
REVIEW_FALSE_ALARM = "vals_alarm"
SAFETY_REVIEWS = (REVIEW_SEEN, REVIEW_FALSE_ALARM)
# The signaleringsplan (safety plan): three phases, three kinds of lines.
PLAN_PHASES = ("groen", "oranje", "rood")
PLAN_KINDS = ("signaal", "helpt", "contact")

# --- people and agreements ----------------------------------------------------------------------
WORKER_ROLES = ("worker", "admin")
AGREEMENT_KINDS = ("client", "worker", "ander")

# --- the conversation's forms -------------------------------------------------------------------
CHECKIN_FORM = "checkin_form"  # mood 1-5
MENU_FORM = "keuze_form"  # which theme (two steps: a group, then its themes)
THEME_FORM = "thema_form"  # every theme of themes.yml: two prompts and the 1-5 scale
VENT_FORM = "kwijt_form"  # "even iets kwijt": one open question
STEP_FORM = "stapje_form"  # an optional small step
STEP_CHECK_FORM = "stapcheck_form"  # how last time's step went
PLAN_FORM = "plan_form"  # the colour of the client's safety plan
CORRECTION_FORM = "correctie_form"  # which line of the read-back, and the new answer
CONSENT_FORM = "toestemming_form"  # may the worker read it
# Between sessions (issue 14): the worker's question for this check-in, the client's tasks of
# the agreements ledger, and a new time for the reminders.
QUESTION_FORM = "vraag_form"  # "Je begeleider vraagt: ...", the answer and may the worker read it
AGREEMENT_FORM = "afspraak_form"  # one due task of the ledger: gedaan / deels / nog niet
REMINDER_TIME_FORM = "herinnering_tijd_form"  # the new time for the reminders
FORMS = (
    CHECKIN_FORM,
    MENU_FORM,
    THEME_FORM,
    VENT_FORM,
    STEP_FORM,
    STEP_CHECK_FORM,
    PLAN_FORM,
    CORRECTION_FORM,
    CONSENT_FORM,
    QUESTION_FORM,
    AGREEMENT_FORM,
    REMINDER_TIME_FORM,
)
# Forms whose answers belong to the reflection in progress (saved as a draft on a pause).
REFLECTION_FORMS = frozenset({THEME_FORM, VENT_FORM, STEP_FORM, CORRECTION_FORM, CONSENT_FORM})
# Open answers in the client's own words that a calm check question interrupted: after a "nee"
# to the check, the message that raised it is kept as the answer (the read-back at the end of
# the reflection lets the client change it), instead of asking the same question again. Never
# the small step: Koers asks about it at the next check-in ("Vorige keer koos je ...").
KEPT_AFTER_CHECK = {
    THEME_FORM: frozenset({"antwoord_1", "antwoord_2"}),
    VENT_FORM: frozenset({"kwijt_tekst"}),
    CORRECTION_FORM: frozenset({"nieuw_antwoord"}),
}
# Read-back lines whose correction is not kept after a check: a scale, and the small step.
NOT_KEPT_CORRECTIONS = frozenset({"thema_schaal", "stapje"})
# Forms with closed questions only: an off-topic question or a complaint is answered by a rule.
CLOSED_FORMS = frozenset(
    {
        CHECKIN_FORM,
        MENU_FORM,
        STEP_CHECK_FORM,
        PLAN_FORM,
        CONSENT_FORM,
        AGREEMENT_FORM,
        REMINDER_TIME_FORM,
    }
)
# Before issue 10 every theme had its own form. Conversations saved then still name them
# (active loop, `onderbroken_form`, the check question's paused form); they resume as
# `thema_form` (bot/tracker_store.py). A fixed list: new themes never get a form of their own.
LEGACY_THEME_FORMS = {
    "hoop_form": "hoop",
    "verbinding_form": "verbinding",
    "identiteit_form": "identiteit",
    "zingeving_form": "zingeving",
    "eigen_regie_form": "eigen_regie",
    "veiligheid_form": "veiligheid",
}


def current_form_name(name: str | None) -> str | None:
    """A form name as it is called now: a theme form of before issue 10 is `thema_form`."""
    if name in LEGACY_THEME_FORMS:
        return THEME_FORM
    if name is not None and name.startswith("validate_") and name[9:] in LEGACY_THEME_FORMS:
        return f"validate_{THEME_FORM}"
    return name


# --- the menu's first step ----------------------------------------------------------------------
GROUP_SELF = "mezelf"
GROUP_OTHERS = "anderen"
THEME_GROUPS = (GROUP_SELF, GROUP_OTHERS)
CHOOSE_FOR_ME = "kies"  # "kies jij maar": Koers picks the theme visited least recently
