"""How a typed reply to the check question is read (issue 15): "ja", "nee", "weet_niet", or
None when it is unclear (the check is asked once more; the second time the crisis help).

Before this, `actions.safety.read_check_answer` reads the reply's crisis evidence: a reply the
detector finds worrying is "ja" whatever its words. What is left is read here, and on purpose
asymmetrically. A "nee" counts only when nothing in the reply takes it back; a reply that
does is "weet_niet", which shows the fixed crisis help:

- a hidden yes: "nee... toch wel", "nee eigenlijk ja", "nee, echt wel", "nee ja";
- someone else, or only me: "nee mezelf niet, wel iemand anders", "nee, alleen mijn ex";
- an intent or harm: "nee, ik ga hem pakken", "nee hoor ik doe het gewoon", "nee, maar ik
  wil het wel", "nee, mijn vriend doet mij pijn";
- already done, or the means at hand: "nee ik heb al pillen geslikt", "nee, m'n mes ligt
  klaar", "nee, ik heb het geprobeerd";
- thought about: "nee, vannacht dacht ik er wel aan";
- not yet, or a time on its own: "nee, nog niet", "nee, vannacht", "niet vandaag".

Everyday words after a clean no keep the no: "nee hoor, het gaat toch wel", "nee, ik heb mijn
medicijnen al genomen", "nee, ik heb geen mes", "nee, niet mezelf en ook niet een ander", "nee,
ik denk er geen moment aan". What is neither ("nee maar ik ben wel moe", "nee, nu niet", a
refusal to answer) is unclear. Every veto is read in the clause of what it vetoes, never in
the whole reply. Letters typed more than twice count twice ("neeee" is "nee"); the few words a
hesitant yes is typed with count however they are stretched or misspelled ("toch weeel",
"tog wel", "heeelp"). Every example here is a case in tests/unit/test_check_answer.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from bot.vocabulary import CHECK_DONT_KNOW, CHECK_NO, CHECK_YES

# Letters (not digits) typed more than twice count twice: "neeee" is "nee", "jaaaa" is "jaa".
_STRETCH = re.compile(r"([^\W\d_])\1{2,}")
# ... and these words count once, however they are stretched or misspelled.
_ONE_SPELLING = {
    "wel": "wel",
    "wl": "wel",
    "help": "help",
    "helup": "help",
    "hlp": "help",
    "hulp": "hulp",
    "ja": "ja",
    "jah": "ja",
    "jawel": "jawel",
    "jwl": "jawel",
    "toch": "toch",
    "tog": "toch",
    "tok": "toch",
    "echt": "echt",
    "egt": "echt",
    "niet": "niet",
    "nie": "nie",
    "nit": "niet",
    "stiekem": "stiekem",
    "stiekum": "stiekem",
    "eigenlijk": "eigenlijk",
    "eigelijk": "eigenlijk",
    "eigenlyk": "eigenlijk",
    "eigelyk": "eigenlijk",
    "eiglijk": "eigenlijk",
    "eignlijk": "eigenlijk",
    "egenlijk": "eigenlijk",
    "eigenluk": "eigenlijk",
    "eigluk": "eigenlijk",
    "eigl": "eigenlijk",
    "mss": "misschien",
    "misch": "misschien",
    "weetnie": "weet nie",
    "weetniet": "weet niet",
    "kweetnie": "kweet nie",
}
_WORD = re.compile(r"\w+")
# A means typed as an emoji: "nee 🔪".
_EMOJI_MEANS = {"🔪": "mes", "🗡": "mes", "💊": "pillen", "🪢": "touw", "🔫": "pistool"}
_N = r"(niet|nie)"  # "nie" is how many clients type "niet"


def plain_text(text: str) -> str:
    """Lower case without accents (the actions read their answers the same way)."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch)).strip()


def normalise(text: str) -> str:
    """Lower case without accents; stretched letters and a few misspellings undone; "t" and
    "'t" read as "het"."""
    plain = _STRETCH.sub(r"\1\1", plain_text(text)).replace("'t", " het").replace("’t", " het")

    def one(match: re.Match) -> str:
        word = match.group(0)
        if word == "t":
            return "het"
        if word in _ONE_SPELLING:
            return _ONE_SPELLING[word]
        return _ONE_SPELLING.get(re.sub(r"(\w)\1+", r"\1", word), word)

    for emoji, word in _EMOJI_MEANS.items():
        plain = plain.replace(emoji, f" {word} ")
    return _WORD.sub(one, plain)


# A "nee" as typed in a reply ("nee", "neej", "neeuh", "neenee", "neejoh"): not "neersteken",
# "neergestoken", "neem", "neef", nor a "no" glued to a yes ("neejawel", "neewel"; reviews,
# thirty-sixth pass: "nee\\w*" read all of them as a no).
_NO_WORD = r"(nee(?![rmfgkdtlpsbvz])(?!\w*(wel|ja))\w*)"
# ... and in a first message read as a denial (rules 1c and 2c), a closed list: one "nee".
_NO_TYPED = r"(ne|nee|neej|neeh|neeuh|neeu|neen|neejoh|neehoor)"
_YES = re.compile(r"^(ja|jaa|jawel|jazeker|jep|jup|yes|ja hoor|ja eigenlijk wel|klopt)\b")
_NO = re.compile(
    rf"^({_NO_WORD}|neen|nope|nop|nah|neu|no|noo|nooit|{_N}|echt {_N}|helemaal {_N}|zeker {_N}"
    rf"|tuurlijk {_N}|natuurlijk {_N})\b"
)
# "ja nee" is a Dutch no ("ja nee hoor", "ja nee ik denk er niet aan").
_YES_NO = re.compile(r"^ja\W+nee\b")
_DONT_KNOW = re.compile(
    rf"\b(weet (ik )?(het )?{_N}|kweet( {_N})?)\b(?!\W+(zeker|waarom|wat|wie|hoe|of je)\b)"
    r"|\bkweenie\b|\bgeen idee\b(?!\W+(waarom|wat|wie|hoe)\b)"
    rf"|(?<!geen )\btwijfel\b(?!(\W+\w+)?\W+({_N}|nooit)\b)"
    # "ik denk er wel vaak aan", "nee maar ik denk erover na"; not when a negation follows in
    # the clause in words that are not "wel", "soms" or "vaak" ("ik denk er geen moment
    # aan", "ik denk er echt al heel lang niet meer aan"), nor "om te" (a plan to move).
    r"|\bdenk (ik )?(er|erover|eraan)\b"
    rf"(?!(?:\W+(?!wel\b|soms\b|vaak\b|maar\b)\w+){{0,8}}\W+({_N}|nooit|geen)\b)"
    r"(?![^.,!?;]*\bom te\b)"
    # "nee, niet zeker", "weet het niet zeker"
    rf"|\b{_N} (zo |helemaal )?zeker\b"
    # "nee kan zijn", "zou kunnen", "nee ik denk het wel" (a fourth review, thirty-sixth pass)
    r"|\b(kan zijn|zou kunnen|denk (het|et) wel)\b"
)
# Asking for help is a "ja": "help", "nee, help me", "ik heb hulp nodig". Only these forms, so
# a reply that needs none stays what it says ("hulp hoef ik niet", "nee, ik heb al hulp"), and
# not help with something else ("help me even met mijn rooster").
_ASKS_HELP = re.compile(
    r"(\bhelp (me|mij|ons)\b"
    r"|\bik (wil|zoek|vraag) (echt |nu |om |wel |graag )?(hulp|help)\b"
    r"|\bwil (ik )?(wel |graag )?(hulp|help)\b"
    r"|\bik heb (echt |nu )?(hulp|help) nodig\b"
    rf"|^({_NO_WORD}\W+)?(help|hulp)(\W+(me|mij|nodig|alsjeblieft|alstublieft|aub|pls|plz|please"
    r"|graag|nu|snel))*\W*$)"
    r"(?!\W+(\w+\W+)?(met|bij|voor|om)\b)"
)

# Clauses: a reply is read clause by clause, so that a veto stays in its own clause.
# "en" only before a new subject ("het is al gekocht en het ligt in mijn kast"), not in a
# list ("geen messen en pillen") or "af en toe".
_CLAUSE = re.compile(
    r"[.,!?;:]+|\bmaar\b|\ben\b(?=\W+(?:het|ik|hij|zij|die|dat)\b(?!(?:\W+\w+){0,3}\W+te\b))|\s-\s"
)
_NEGATION = re.compile(r"\b(geen|niet|nie|nooit|zonder|niks|niets|weg|weggehaald|nergens)\b")


# "Niemand" denies only the harm it belongs to: "niemand doet mij pijn", "ik doe niemand
# pijn", "ik wil niemand iets aandoen"; not "nee niemand helpt me ik wil dood".
def _nobody(slot: str) -> re.Pattern[str]:
    """The "niemand" denial with `slot` for the one word that may stand beside "niemand"."""
    return re.compile(
        rf"\b(niemand|niemant)\W+{slot}((slaat|schopt|bedreigt|misbruikt|dwingt)\b"
        # "doet" and "pakt" with "me": not "niemand doet (ook) niks", "niemand hier doet iets",
        # "niemand pakt (de telefoon) op", nobody helps (reviews, thirty-fifth pass)
        r"|(doet|pakt)\W+(me|mij|ons)\b(?!(\W+\w+){0,2}\W+op\b))"
        rf"|\b(doe|wil|ga|zal)\W+{slot}(niemand|niemant)\W+{slot}(pijn|iets|wat|kwaad|slaan|pakken)\b"
        # not "ik ga niemand iets zeggen"
        r"(?!\W+(zeggen|vertellen|vragen|laten|verteld|gezegd|horen|schelen|geven|lenen)\b)"
    )


_NOBODY_HARMED = _nobody(r"(\w+\W+)?")
# In a first message read as a denial (rules 1c and 2c) only a closed word may stand beside
# "niemand": not "ik ga hopelijk niemand iets doen", "ik ga vanavnd niemand pijn doen" (a
# review, thirty-sixth pass).
_NOBODY_DENIAL = _nobody(r"((echt|helemaal|ook|zeker|gewoon|gwn|hier|meer|ooit|ik|me|mij)\W+)?")
# Words that keep an everyday "wel" calm in their clause: "het gaat toch wel", "ik red me
# vaak wel", "het komt straks wel goed", "ik bel straks wel".
_CALM_WEL = re.compile(
    r"\b(gaat|ging|gaan|red|redden|lukt|lukte|komt|kom|valt|viel|loopt|goed|ok|oke|prima"
    r"|fijn|best|beter|leuk|aardig|meevalt|bel|bellen|eet|eten|slaap|slapen|zie|zien|werk"
    r"|werken|kijk|kijken|moe|honger|lief)\b"
    # an ailment or an everyday wish: "nee, maar ik heb wel pijn in mijn rug", "nee, maar ik
    # heb wel hoofdpijn", "nee maar ik wil wel een sigaret", "ik doe het wel rustig aan"
    r"|\bpijn (in|aan) (mijn|mn|m|de|me) (rug|hoofd|buik|knie|been|benen|nek|schouder|voet"
    r"|tand|kies|keel|arm|maag)\b|\b(hoofd|buik|rug|kies|tand|keel|spier)pijn\b"
    r"|\b(sigaret|sigaretje|peuk|koffie|rustig aan)\b(?!.*\b(doe|doen|ga|gaan|het|hem|haar)\b)"
)
# Filler words at the end of a clause: "nee eigenlijk wel hoor", "nee, toch wel eigenlijk".
# One filler word at the end, taken off one at a time (`_strip_tail`): a repeated group
# anchored at the end took 50 ms on 2,000 characters of "x x x ... praten" (a review).
_TAIL = re.compile(r"(?<!\w)(hoor|ja|eigenlijk|echt|toch|x{1,6}|he|ofzo|zo|denk ik)$")
_HIDDEN_YES = re.compile(
    rf"\b(jawel|(eigenlijk|toch|of|ok|oke) ja)\b|^({_NO_WORD}|nope|nah)\W+ja\b"
    # "neeee ok wel", "eerst wou ik nee zeggen maar het is ja", "ik zeg altijd nee maar ...",
    # "nee. ik lieg. ja"
    rf"|^({_NO_WORD}|nope|nah)\W+(ok|oke|okay)\W+wel(\W+(hoor|ja|eigenlijk|echt))*\W*$"
    r"|\bwacht\W+(even\W+|eens\W+)?ja\b(?!\W+nee\b)|\bhet is (toch |wel |eigenlijk )?ja\b"
    r"|\bik (zeg|zei)\w*\W+(\w+\W+)?nee\W+maar\b|\bwou ik nee zeggen\b"
    rf"|^({_NO_WORD}\W+)?(dat|het) was (gelogen|een grap\w*|niet waar)\b|\bgrap(je)?\W+ja\b"
    r"|(?<!zou )(?<!zou ik )(?<!waarom )\b(ik )?(lieg|jok)\b(?!(\W+\w+){0,2}\W+(niet|nie|nooit)\b)"
    r"|\bik (heb|had)\W+((echt|wel|toch|eigenlijk|net)\W+)?(gelogen|gejokt)\b"
    r"|\bwel (aan |over )?(geprobeerd|gedacht|nagedacht|gedaan)\b"
    # right after the no: "nee, toch wel na de koffie", "nee stiekem wel"
    rf"|^({_NO_WORD}|nope|nah)\W+(toch|stiekem|eigenlijk)\W+wel\b(?!\W+(goed|ok|oke|prima|fijn|beter)\b)"
)
_EMPHATIC_WEL = re.compile(r"\b(echt|best|wel degelijk|zeker) wel\b|\bwel degelijk\b")
_TIME = (
    r"(vandaag|vanavond|vannacht|morgen|straks|later|binnenkort|volgende week|na het weekend"
    r"|weekend|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag)"
)
_WEL_AT_END = re.compile(
    r"\b(eigenlijk|toch|stiekem|vaak|af en toe|paar keer|een keer|regelmatig|nu|of|soms"
    rf"|wel eens|weleens|{_TIME}) wel$|\bwel (eens|weleens)$|^wel$"
)
# Someone else, or only me: "nee mezelf niet, wel iemand anders", "nee, ik niet, hij wel",
# "nee, alleen mezelf", "nee, niet mezelf".
_SOMEONE_ELSE = re.compile(
    rf"\b(mezelf|mijzelf|mij|me|ik) {_N}\b.*\b(wel|hem|haar|hen|die gast)\b"
    r"|\b(ander|anderen|iemand anders|\w+ anders) wel\b"
    r"|\bwel (iemand anders|een ander|anderen|\w+ anders)\b"
    rf"|\b{_N} (mezelf|mijzelf|mij|mn eigen|mijn eigen)\b|\b(mezelf|mijzelf) {_N}\b(?!\W+meer\b)"
)
_PERSON = (
    r"(ex|vriend\w*|buur\w*|vader|moeder|pa|ma|pap|mam|papa|mama|ouders|stief\w+|broer\w*"
    r"|zus\w*|zoon|dochter|kind\w*|baby|begeleider\w*|gast|gozer|kerel|man|vrouw|oom|tante|opa"
    r"|oma|neef|nicht|schoon\w+|collega\w*|baas|dealer\w*|huisgeno\w+|groeps\w+|agent\w*"
    r"|partner|meisje|jongen|leraar|juf|meester|hulpverlener\w*|klootzak|eikel|lul|hoer|teef)"
)
# "nee, alleen mezelf", "nee, alleen mijn ex"; not "ik zoek alleen een woning".
# "niemand behalve mezelf", "niemand op mezelf na": only me.
_EXCEPT_ME = re.compile(
    r"\b(behalve|buiten) (mezelf|mijzelf|mij|me|m n eigen|mijn eigen)\b"
    r"|\bop (mezelf|mijzelf|mij|me) na\b"
)
_PERSON_WEL = re.compile(rf"\b(mijn|mn|m n|die|de|m'n) {_PERSON} wel\b")
_ONLY = re.compile(
    rf"(^|[,.!?;:]\W{{0,4}}|^({_NO_WORD}|nope|nah|neu)\W+|\bmaar\W+)alleen (mezelf|mijzelf|mij|hem|haar|hen|m(?!\W*n\b)|iemand|jou|jullie"
    rf"|(mijn|mn|m n|die|de|een|dat|m'n) {_PERSON})\b"
)
# "alleen" with something else: calm when it is an everyday thing ("ik wil alleen mijn rust",
# "ik had alleen een rotdag"); otherwise unclear (it may be someone: "alleen die gozer").
_ONLY_SOMETHING = re.compile(r"\balleen\W+(mijn|mn|m n|die|de|een|dat|het|m'n)\W+(\w+)(\W+(\w+))?")
_EVERYDAY_THING = re.compile(
    r"^(rust|woning|huis|kamer|baan|werk|dag|rotdag|geld|pijn|tijd|eten|slaap|vraag|beetje|keer"
    r"|moment|afspraak|school|uitkering|hulp|slechte|rot|kut|zware|moeilijke|lange|vrije|eigen"
    r"|zin|humeur|bui|gedachten|gevoel|mening|telefoon|fiets|auto|hond|kat|muziek|boodschappen"
    r"|huiswerk|opleiding|stage|sigaret|koffie|drankje|biertje|ruzie|stress|zorgen|hoofd)$"
)
_NOBODY_ELSE = re.compile(
    rf"\b(niemand|geen ander\w*|ook {_N}|ook geen|noch|{_N} (een |iemand )?ander\w*)\b"
)
# Harm to someone or to oneself, or being harmed, in a clause without a negation.
_HARM = re.compile(
    r"\b(sla|slaat|slaan|steek|steekt|schop|schopt|pak|pakken)\b\W+(hem|haar|ze|hen|die)\b"
    r"|\b(hem|haar|ze|hen|die gast|die|iemand)\b(\W+\w+)?\W+(pakken|afmaken|af|kapot|in elkaar"
    r"|neersteken|neer|pijn doen|pijn te doen|vermoorden|slaan|steken)\b"
    r"|\b(vermoord\w*|klappen|boeten|wraak|eraan gaan|gaat eraan|neersteken)\b"
    r"|\b(mezelf|mijzelf|me)\b(\W+\w+)?\W+(snij|snijd|snijden|kras|krassen|pijn doen|iets aan"
    r"|aandoen|ophangen)\b"
    r"|\b(snij|snijd|kras|sla)\w*\W+(mezelf|mijzelf|me)\b"
    r"|\b(ophangen|opgehangen|zelfmoord|springen|spring|eind aan|einde aan|er een eind)\b"
    r"|\b(wil|ga|wou)\b(\W+\w+)?\W+dood\b|\bdood (gaan|zijn|willen)\b"
    r"|\b(sta|zit|ben)\b(\W+\w+)?\W+(op de brug|op het dak|bij het spoor|op het spoor)\b"
    r"|\b(doet|doen)\W+(me|mij)\W+pijn\b|\bpijn\W+(doet|doen)\W+(me|mij)\b"
    r"|\b(slaat|schopt|bedreigt|misbruikt|dwingt|slaan|schoppen|bedreigen)\W+(me|mij)\b"
    r"|\bbang voor\b|\bword\b(\W+\w+)?\W+(geslagen|bedreigd|misbruikt|gedwongen)\b"
    r"|\b(zich|zichzelf)\W+(iets|wat)\W+aan(doen|\W+doen|gedaan)?\b"
    r"|\b(hem|haar|ze|hen|iemand|die)\W+(iets|wat)\W+aan(doen|\W+doen|te\W+doen)\b"
    r"|\b(snijdt|krast|slaat|snij|kras|verwondt)\W+zichzelf\b|\bzichzelf\W+(\w+\W+)?pijn\b"
    r"|\b(slaat|schopt|bedreigt|misbruikt)\W+(mijn|mn|m|de|het|ons|onze)\b|\bnaar de hemel\b"
)
# Hurt now, whatever the "nee" said: "nee maar ik bloed heel erg", "ik krijg geen lucht",
# "ik heb te veel genomen".
_HURT_NOW = re.compile(
    r"\b(ik bloed|bloedt|(blijf|blijft|begint|begon) (te )?bloeden|aan het bloeden|bloedde"
    r"|veel bloed|overal bloed"
    r"|gewond|bewusteloos|overdosis)\b(?!.*\b(gestopt|over|voorbij)\b)"
    r"|\bte ?veel\b(\W+\w+){0,2}\W+(genomen|geslikt|gebruikt|gespoten|ingenomen)\b"
    r"|\bte ?veel (pillen|medicijnen|tabletten|drugs|coke|xtc|alcohol|drank|gebruikt)\b"
)
# ... vetoed by a negation in its clause, except these (a negation of their own).
_NO_AIR = re.compile(
    r"\b(krijg|kan)\b(\W+\w+)?\W+(geen lucht|niet ademen|moeilijk ademen|slecht ademen)\b"
    r"|\b(ik )?stik\b(?!\W+(van|de|het)\b)"
)
# Not wanting to live, said with a negation of its own, so no negation vetoes it: "niet meer
# leven", "nee, ik wil niet meer", "ik kan niet meer", "geen zin meer in het leven"; not "ik
# wil niet meer blowen" (something named after it).
_STRESS = r"((echt|gewoon|gwn|egt)\W+)?"  # "ik kan echt niet meer", "ik zie het gewoon niet ..."
_NO_MORE_LIFE = re.compile(
    rf"\b{_N} meer (willen |te )?(leven|wakker (worden|te worden)|hier zijn|bestaan)\b"
    rf"|\b{_N} meer (willen |te )?verder\W*$|\bnooit meer wakker\b|\bliever dood\b"
    rf"|(?<!dat )(?<!dit )(?<!het )\b(wil|kan)\W+((echt|gewoon|gwn|egt|zo|bijna)\W+)?{_N}\W+meer\W*$"
    rf"|\bkan\W+(het|dit|dat)\W+{_STRESS}{_N}\W+meer\W+aan\b"
    rf"|\bzie\W+het\W+{_STRESS}{_N}\W+meer\W+zitten\b"
    rf"|\ber\W+{_STRESS}{_N}\W+meer\W+(willen\W+)?zijn\b"
    rf"|\b(hou|houd)\W+het\W+{_STRESS}{_N}\W+meer\W+vol\b"
    rf"|\btrek\W+het\W+{_STRESS}{_N}\W+meer\b|\bklaar met (het )?leven\b"
    r"|\bgeen (zin|puf|kracht|hoop) meer\b(\W+(in|om)\W+(het\W+|te\W+)?(leven|verder))?\W*$"
    r"|\bgeen zin meer (in|om) (het |te )?(leven|verder)\b"
)
# Everything arranged: farewell, when nothing says what ("nee, alles is al geregeld").
_ALL_ARRANGED = re.compile(
    r"\b(alles|mijn zaken|mn zaken|m n zaken)\b(\W+(is|zijn|al|wel))*\W+geregeld\W*$"
    r"|\b(brief|briefje|afscheidsbrief)\b(\W+\w+)?\W+(klaar|geschreven)\b"
    r"|\b(spullen|alles|mijn \w+|mn \w+)\W+(al\W+)?(weggegeven|weg gegeven|weggedaan)\b"
)
_NOT_HARM = re.compile(r"\bdood ?moe\b|\blach\w* (me|mij) dood\b|\bdoodsbang\b")
# An intent with the harm as its object: "ik ga het doen", "ik doe het gewoon", "ik wil het
# wel". With more words after it, it may be about something else ("ik wil het wel even over
# mijn moeder hebben"): unclear.
_INTENT = re.compile(r"\b(ga|gaat|doe|wil|zal|wou)\W+(het|hem|haar|mezelf|mijzelf)\b(.*)$")
_INTENT_TAIL = {"wel", "gewoon", "toch", "echt", "nu", "doen", "hoor", "eigenlijk", "ook", "ja"} | {
    "vandaag",
    "vanavond",
    "vannacht",
    "morgen",
    "straks",
    "later",
    "binnenkort",
}
# Already done or tried: "nee ik heb al pillen geslikt", "ik heb het geprobeerd", "al mijn
# pillen geslikt" ("all my pills"); not a chore done ("ik heb mijn medicijnen al genomen",
# "net koffie genomen").
_DONE_HARM = re.compile(r"\b(geslikt|gesneden|gekrast|gespaard|opgespaard|verzameld|gebeurd)\b")
_OWN_MEDICINE_TAKEN = re.compile(
    r"\b(mijn|mn|m|zijn|haar|de) (pillen|medicijnen|medicatie|tabletten)\b(\W+\w+)?\W+(al|net)"
    r"\W+(geslikt|genomen|ingenomen)\b"
)
_TRIED = re.compile(r"\bgeprobeerd\b|\bheb\W+het\W+(\w+\W+)?gedaan\b")
_ALREADY = re.compile(r"\b(al|net)\b((?:\W+\w+){0,2}?)\W+(gedaan|genomen|gekocht|gehaald)\b")
_OWN_OR_CHORE = re.compile(
    r"\b(mijn|mn|m|zijn|je|onze)\W+\w+|\b(huiswerk|boodschappen|medicijnen|medicatie|afwas"
    r"|was|eten|ontbijt|koffie|werk|afspraak)\b"
)
_ALREADY_OBJECT = {"het", "dat", "ze", "die", "alles", "er", "wel", "ook", "nu", "vandaag"}
# The means: "heb al een touw", "m'n mes ligt klaar", "een stanleymes in mn tas".
_MEANS = re.compile(
    r"\b((scheer|stanley|keuken|zak|vlinder|slagers)?(mes|mesje|messen|mesjes)|touw|strop|riem"
    r"|koord|blade|scherf|wapen|pistool|pillen|tabletten|paracetamol|oxazepam|strip|doos"
    r"|medicijnen|medicatie)\b"
)
_READY = re.compile(r"\b(klaar|gelegd|spaar|sparen|opgespaard|gespaard|verzamel\w*|alle|hele)\b")
_EVERYDAY_MEANS = re.compile(
    r"\b(brood|keuken|la|lade|dokter|arts|huisarts|psychiater|apotheek|voorgeschreven"
    r"|voor(?!\W+(de|het|mijn|mn|zijn|haar|je)\W+(deur|raam|huis))"
    r"|slaap|hoofdpijn|rug|hond)\b"
    r"|\b(mijn|mn|m|zijn|je|onze)\W+(pillen|tabletten|medicijnen|medicatie)\b"
)
_PLAN = re.compile(r"\bplan\b")
_EVERYDAY_PLAN = re.compile(
    r"\b(begeleider|veilig\w*|signalering\w*|morgen|werk|school|dag|week|hou|houd|houden|voor"
    r"|met|aan|maken|gemaakt|samen)\b"
)
_THOUGHT = re.compile(r"\b(dacht|gedacht|nagedacht)\b")
# Not yet, or a time on its own after a "nee": "nee, nog niet", "nee, vannacht", "niet
# vandaag", "vandaag niet", "nee, behalve vannacht", "nee, volgende week".
_ONLY_NOT_YET = re.compile(
    rf"^(({_NO_WORD}|niet|nie|nope|nah)\W+)?((hoor|joh|nou|nu|echt|pas)\W+)*"
    rf"(nog\W+((even|eventjes|effe|ff)\W+)?{_N}|({_N}\W+)?{_TIME}(\W+{_N})?"
    rf"|behalve\W+{_TIME}|pas\W+{_TIME}|{_TIME}\W+pas)((\W+(hoor|joh|nog|pas))*)\W*$"
)
# A time with a condition: "nee, vanavond als iedereen slaapt", "morgen als ik alleen ben".
_TIME_WHEN = re.compile(rf"\b{_TIME}\W+als\b")
# Unclear, so the check once more: not yet with more words, a refusal to answer, "not now",
# "when ..." ("nee, als hij vrijkomt"), a decision without its content.
_UNCLEAR = re.compile(
    rf"\bnog ((even|eventjes|effe|ff) )?{_N}\b"
    rf"|\b(wil|ga|hoef) (ik )?(\w+ ){{0,3}}({_N}|niks|niets|geen)( \w+){{0,2}} (te )?"
    r"(praten|zeggen|vertellen|antwoorden|hebben)\b"
    r"|\bgaat (je|jou|jullie) (niks|niets|geen \w+) aan\b"
    rf"|\b(zeg|vertel) (ik )?(je |jou )?(lekker |mooi )?({_N}|niks|niets)\b"
    r"|\bbemoei (je|jij)\b"
    r"|\bgeen zin om (te )?(antwoorden|zeggen|praten)\b"
    rf"|\b{_N} (nu|vandaag|vanavond|vannacht|op dit moment|momenteel|meteen)\b"
    rf"|\b(nu|nou|vandaag|op dit moment|momenteel|voorlopig) ((even|eventjes|effe|ff) )?{_N}\b"
    rf"|^\W*({_NO_WORD}\W+)?(maar\W+)?als\b|\bbesloten\b|\binhouden\b|\bmoeilijk om\b"
    r"|\bwil\b(\W+\w+){0,3}\W+praten\b|\bafscheid\b"
    # someone who comes back: "nee, mn stiefvader komt vanavond weer"; not "het komt wel
    # weer goed", "mijn moeder komt morgen weer op bezoek"
    rf"|\b({_PERSON}|hij|ze|zij|die)\W+(komt|komen)\b(\W+\w+){{0,2}}\W+(weer|terug)\b"
    r"(?!.*\b(goed|bezoek|langs|eten|koffie)\b)"
    r"|\bkomt\W+(me|mij)\W+(halen|zoeken|ophalen)\b"
    # "ik wil het niet meer": what is "het"?
    rf"|\bwil\W+het\W+((echt|gewoon)\W+)?{_N}\W+meer\W*$"
)
# A time word in a short reply: "nee morgen werken" (unclear, asked once more).
_SHORT_TIME = re.compile(rf"\b{_TIME}\b")
NOT_NOW_WORDS = 5
# "Misschien", "soms" and "een beetje" are a half yes as an answer ("misschien wel", "een
# beetje", "nee... soms wel"), also after a "nee". But when more words follow them after a
# clear "nee", they are about something else: "nee joh, ik was gewoon een beetje moe". Such a
# reply is unclear (the check question once more), never "nee" and never the crisis help at
# once. Without a "nee" they count as "weet ik niet" anywhere.
_MAYBE = re.compile(r"\b(misschien|beetje|soms|af en toe)\b")
_MAYBE_TAIL = {"wel", "ja", "hoor", "eigenlijk", "denk", "ik", "nog", "toch", "eens"}


def _half_yes(plain: str, says_no: bool) -> bool | None:
    """True: a half yes; None: unclear (after a "nee" something else follows); False: none."""
    matches = list(_MAYBE.finditer(plain))
    if not matches:
        return False
    if not says_no:
        return True
    tail = re.sub(r"[^\w\s]", " ", plain[matches[-1].end() :]).split()
    return True if all(word in _MAYBE_TAIL for word in tail) else None


def _rstrip_non_word(text: str) -> str:
    end = len(text)
    while end and not (text[end - 1].isalnum() or text[end - 1] == "_"):
        end -= 1
    return text[:end]


def _strip_tail(clause: str) -> str:
    clause = _rstrip_non_word(clause)
    while (
        found := _TAIL.search(clause, max(0, len(clause) - 12))
    ) is not None and found.start() > 0:
        clause = _rstrip_non_word(clause[: found.start()])
    return clause


def _typed_clauses(plain: str) -> tuple[str, list[tuple[str, str]]]:
    """The clauses as typed (with their tails: "ik doe mezelf niks aan toch"), each with the
    separators after it ("maar", a comma, ...), and the separators before the first one."""
    lead = ""
    typed: list[tuple[str, str]] = []
    at = 0
    for sep in [*_CLAUSE.finditer(plain), None]:
        raw = plain[at : sep.start() if sep else len(plain)]
        after = sep.group(0).strip() if sep else ""
        if _strip_tail(raw.strip()).strip():
            typed.append((raw.strip(), after))
        elif typed:  # an empty piece: its separator belongs to the clause before
            typed[-1] = (typed[-1][0], f"{typed[-1][1]} {after}")
        else:
            lead = f"{lead} {after}"
        at = sep.end() if sep else len(plain)
    return lead, typed


def _clauses(plain: str) -> list[str]:
    return [_strip_tail(raw).strip() for raw, _ in _typed_clauses(plain)[1]]


def _names_means(clause: str) -> bool:
    """A means named in this clause: not denied, and not everyday unless kept ready."""
    if not _MEANS.search(clause) or _NEGATION.search(clause):
        return False
    if _READY.search(clause):
        return True  # kept, saved up or all of them: also one's own or prescribed
    return not _EVERYDAY_MEANS.search(clause)


# Kept ready without naming it: "ik heb het al klaar liggen", "alles ligt klaar".
_KEPT_READY = re.compile(
    r"(\b(het|alles)\W+((al|wel|nog|allang|gewoon)\W+)?klaar\W+(liggen|ligt|staan|staat|gelegd|gezet)\b"
    r"|\b(het|alles)\W+(ligt|liggen|staat|staan)\W+((al|lang|al lang|allang)\W+)?klaar\b"
    r"|\b(ligt|liggen|staat|staan)\W+(het|alles)\W+((al|lang|al lang|allang)\W+)?klaar\b)"
    r"(?!.*\b(voor|om)\b)"
)


def _done(clause: str) -> bool:
    if _KEPT_READY.search(clause) and not _NEGATION.search(clause):
        return True
    if _DONE_HARM.search(clause) and not _OWN_MEDICINE_TAKEN.search(clause):
        return not _NEGATION.search(clause)
    if _TRIED.search(clause) and not _NEGATION.search(clause):
        return True
    if _EVERYDAY_MEANS.search(clause) or _OWN_OR_CHORE.search(clause):
        return False
    for match in _ALREADY.finditer(clause):
        between = set(_WORD.findall(match.group(2)))
        if _MEANS.search(match.group(2)) or between <= _ALREADY_OBJECT:
            return True
    return False


def _harm_beside_nobody(clause: str) -> bool:
    """A harm in the clause outside a "niemand" that denies one: "niemand doet me iets" is no
    harm, "niemand doet me iets hij slaat haar" is (a review, thirty-fifth pass)."""
    nobody = _NOBODY_HARMED.search(clause)
    return any(
        nobody is None or harm.end() <= nobody.start() or harm.start() >= nobody.end()
        for harm in _HARM.finditer(clause)
    )


# Voices, or being forced or locked up, take a "nee" back: "nee ik hoor stemmen", "nee ik moet
# van hem" (a fourth review, thirty-sixth pass); not "nee ik hoor geen stemmen".
_VOICES_OR_FORCED = re.compile(r"\b(stem|stemmen|moet\W+van\W+(hem|haar|hun|ze|die)|opgesloten)\b")


def _clause_takes_it_back(clause: str) -> bool | None:
    """One clause: True a hidden yes, None unclear, False nothing."""
    if _WEL_AT_END.search(clause) and not _CALM_WEL.search(clause):
        return True
    if _EMPHATIC_WEL.search(clause) and not _CALM_WEL.search(clause):
        return True
    if (
        _harm_beside_nobody(clause)
        and not _NOT_HARM.search(clause)
        and not _NEGATION.search(clause)
    ):
        return True
    if _names_means(clause) or _done(clause):
        return True
    if _VOICES_OR_FORCED.search(clause) and not _NEGATION.search(clause):
        return True
    if _HURT_NOW.search(clause) and not _NEGATION.search(clause) and "niemand" not in clause:
        return True
    if _NO_AIR.search(clause) or _ALL_ARRANGED.search(clause) or _NO_MORE_LIFE.search(clause):
        return True
    if _PLAN.search(clause) and not _EVERYDAY_PLAN.search(clause) and not _NEGATION.search(clause):
        return True
    if _THOUGHT.search(clause) and not _NEGATION.search(clause) and "om te" not in clause:
        return True
    intent = _INTENT.search(clause)
    if intent and not _NEGATION.search(clause):
        rest = set(_WORD.findall(intent.group(3)))
        return True if rest <= _INTENT_TAIL else None
    return False


def takes_it_back(plain: str) -> bool | None:
    """Whether a reply takes a "nee" back (True), may do so (None), or does not (False)."""
    if _HIDDEN_YES.search(plain) or _TIME_WHEN.search(plain) or _ONLY_NOT_YET.match(plain):
        return True
    if _ONLY.search(plain) or (_SOMEONE_ELSE.search(plain) and not _NOBODY_ELSE.search(plain)):
        return True
    if _PERSON_WEL.search(plain) and not _NOBODY_ELSE.search(plain):
        return True  # "nee maar mijn stiefvader wel"
    if _EXCEPT_ME.search(plain):
        return True  # "nee ik doe niemand pijn behalve mezelf"
    clauses = _clauses(plain)
    # "nee, niet vandaag, morgen": every clause a no or a time.
    if any(_ONLY_NOT_YET.match(c) for c in clauses) and all(
        _ONLY_NOT_YET.match(c) or (_NO.match(c) and len(c.split()) <= 2) for c in clauses
    ):
        return True
    # "alleen" with something that is not an everyday thing: it may be someone.
    unclear = any(
        not any(_EVERYDAY_THING.match(w or "") for w in (m.group(2), m.group(4)))
        for m in _ONLY_SOMETHING.finditer(plain)
    )
    for clause in clauses:
        found = _clause_takes_it_back(clause)
        if found:
            return True
        unclear = unclear or found is None
    after_but = re.search(r"\bmaar\b(.*)$", plain)
    if after_but and re.search(r"\bwel\b", after_but.group(1)):
        rest = after_but.group(1)
        words = _WORD.findall(rest)
        if len(words) <= 3 and words[-1] == "wel" and not _CALM_WEL.search(rest):
            return True  # "maar mn buurman wel", "maar hem wel"
        if not _CALM_WEL.search(rest):
            unclear = True  # "nee maar ik ben wel ..." about something else, or not
    return None if unclear else False


def _unclear(plain: str) -> bool:
    """Not yet, not now, a refusal to answer, or a time in a short reply."""
    if _UNCLEAR.search(plain):
        return True
    short = len(plain.split()) <= NOT_NOW_WORDS
    return short and bool(_SHORT_TIME.search(plain)) and not _CALM_WEL.search(plain)


def denies_harm(text: str) -> bool:
    """Whether a reply denies harm in so many words: "nee ik doe niemand pijn", "niemand doet
    mij iets", "ik wil niemand pijn doen"."""
    return bool(_NOBODY_HARMED.search(normalise(text)))


# Whom a harm is about, between a negation and the harm in a denial.
_WHOM = (
    rf"(hem|haar|ze|hen|iemand|mezelf|mijzelf|jou|je|anderen|((mijn|mn|m|de|die|zijn|een)\W+)?"
    rf"{_PERSON})"
)
# A message that denies harm in so many words (twenty-sixth pass; bot.safety.decision, rule
# 1c): "ik zou nooit iemand iets aandoen", "ik heb nooit aan zelfmoord gedacht", "ik ben niet
# van plan mezelf iets aan te doen", "ik ga niemand slaan", "hij slaat me niet". The word list
# and the models read the harm words more than the negation before them, and such a message
# got the full crisis help. A denial clause holds the negation before the harm, in one clause.
_DENIAL = re.compile(
    # (between the negation and the harm only whom it is about, "van plan", "om", "ooit" or
    # "meer": not "niks helpt ik wil mezelf pijn doen", "ik kan niet stoppen met aan
    # zelfmoord denken"; a review, thirty-fifth pass)
    rf"\b(nooit|niet|nie|geen|niks|niets)\b(\W+(van|plan|om|ooit|meer|{_WHOM})){{0,4}}?"
    r"\W+(iets|wat|pijn|kwaad)\W+(aan\W+te\W+doen|aandoen|aan\W+doen|te\W+doen|doen)\b"
    r"|\b(nooit|niet|nie|geen)\b(\W+(meer|ooit|eens|een|keer|serieus)){0,2}\W+(aan|over)\W+"
    r"(zelfmoord|zelfdoding|suicide|de dood|dood|doodgaan|dood gaan)\W+(gedacht|denken|denk|nagedacht)\b"
    r"|\b(geen|nooit)\W+(zelfmoordgedachten|doodsgedachten|gedachten\W+(aan|over|om))\b"
    r"|\bik\W+ben\W+(niet|geen|nie)\W+((een|meer)\W+)?(gevaarlijk|gevaar)\b"
    r"|\b(ga|wil|zal|zou|doe)\W+(niemand|niemant|nooit|niet|nie)\W+((meer|iemand|ooit)\W+){0,2}"
    r"(slaan|steken|snijden|krassen|bedreigen|aanvallen|vermoorden)\b"
    r"|\b(sla|steek|bedreig)\W+(niemand|niemant|nooit)\b"
    rf"|\b(niet|nie)\W+van\W+plan\W+(om\W+)?({_WHOM}\W+)?(te\W+)?(slaan|steken|snijden|krassen|bedreigen"
    r"|aanvallen|vermoorden)\b"
    r"|\b(doe|zou|ga)\W+(mezelf|mijzelf|iemand|hem|haar|(mijn|mn|de)\W+\w+)\W+(niks|niets|nooit)\b"
    r"|\b(slaat|schopt|bedreigt|misbruikt|doet)\W+(me|mij)\W+((echt|helemaal)\W+)?"
    r"(niet|niks|niets|nooit)\b"
    # Spellings of the thirty-fifth pass (the dev sets' calm denials the patterns did not
    # read): the verb before the negation, "ik denk niet (meer) aan zelfmoord", "denk nie meer
    # aan doodgaan";
    r"|\b(denk|dacht)\W+((er|ik|echt)\W+){0,2}(niet|nie|nooit)\W+(meer\W+)?(aan|over)"
    r"\W+(zelfmoord|zelfdoding|suicide|de dood|dood|doodgaan|dood gaan)$"
    # "niemand valt me lastig", "niemand heeft me geslagen", "niemand zit achter me aan";
    r"|\b(niemand|niemant)\W+(valt|viel)\W+(me|mij)\W+lastig$"
    r"|\b(niemand|niemant)\W+(zit|zat)\W+((meer|nu)\W+)?achter\W+(me|mij)\W+aan$"
    r"|\b(niemand|niemant)\W+(heeft|had)\W+(me|mij)\W+(echt\W+)?(geslagen|geschopt|bedreigd"
    r"|misbruikt|pijn\W+gedaan|iets\W+gedaan|aangeraakt)$"
    # "hij heeft me nooit geslagen";
    r"|\b(heeft|hebben)\W+(me|mij)\W+(nooit|niet|nie)\W+(geslagen|geschopt|bedreigd|misbruikt"
    r"|pijn\W+gedaan|aangeraakt)$"
    # "ik heb niet te veel pillen genomen", "geen pillen geslikt";
    r"|\b(niet|nie|geen)\W+(te\W+)?(veel|teveel)\W+(pillen|tabletten|medicijnen|medicatie)\W+"
    r"(genomen|geslikt|ingenomen)$"
    r"|\bgeen\W+(pillen|tabletten|overdosis)\W+(genomen|geslikt|ingenomen|gehad)$"
    # "ik wil niet dood", "ik ben niet suicidaal".
    r"|\bwil\W+((echt|helemaal)\W+)?(niet|nie)\W+dood(\W+gaan)?$"
    r"|\bik\W+ben\W+(niet|geen|nie)\W+(meer\W+)?(suicidaal|suicidal)$"
    # "ik ben nie high", "nee niks gebruikt" (thirty-sixth pass)
    r"|\bik\W+ben\W+(niet|nie)\W+(high|stoned|dronken|onder\W+invloed)$"
    r"|\b(niks|niets)\W+(gebruikt|genomen|geslikt)$"
)
# Anything that may turn, limit or put off the denial keeps the crisis help: a "but", an
# exception, a condition, a time, fear of oneself, an urge or a voice.
_DENIAL_VETO = re.compile(
    r"\b(maar|behalve|alleen|wel|tenzij|als|totdat|tot|nog|eerst|meer dan|bang|drang|stem|stemmen"
    r"|tegenhouden|moet|moeten|vanavond|vannacht|straks|morgen|vandaag|nu|klaar|zelf|toch"
    r"|anders|dan|want|omdat|eigenlijk|echt wel|ooit|verdient|verdiend|verdienen|gepland|plannen"
    r"|geregeld|besloten|schud|schudt|schudden|lieg|gelogen"
    # (a reviewer's, thirty-fourth pass, and the thirty-fifth's: a time, a "when", "again")
    r"|wanneer|zodra|nachts|soms|binnenkort|later|bijna|misschien|weer|zometeen|meteen|gelijk"
    r"|direct|dadelijk|net|al|vorige|gister\w*|strax|vanacht|vanavont|mar|as"
    # (a review, thirty-sixth pass: hedges, "denk ik" typed as a tail, misspelled times)
    r"|hopelijk|waarschijnlijk|proberen|probeer|hoop|geloof|denk ik|ofzo|he|vnv|vanavnd|vanvond"
    r"|vanvnd|mrgn|morge|vandag|vndg|strakjes|zometeen|zo meteen)\b"
    # (a second review, thirty-sixth pass) a hedge, "hij doet me niet echt pijn"; a wish not
    # to harm oneself, which tells an urge, "ik wil niet (meer) snijden", "ik wil mezelf niet
    # meer pijn doen" (two "!" are read by `_IRONY`: punctuation never reaches this veto)
    r"|\b(niet|nie|niks|niets)\W+echt\b"
    r"|\bwil\W+((mezelf|mijzelf)\W+)?(niet|nie|geen|nooit)\W+((meer|mezelf|mijzelf|ooit)\W+){0,2}"
    r"(snijden|krassen|branden|pijn|iets|wat|aan|over|zelfmoordgedachten|doodsgedachten"
    r"|gedachten)\b"
    # (a third review) two "nee"s, also glued ("neeneenee"); "zal" or "zou" with "meer", a
    # menace or a farewell ("mn ex zal niemand meer pijn doen"); "meer pijn"
    r"|\bnee\w*\W+(\w+\W+)?nee\w*\b|\bnee\w*nee\w*\b"
    r"|\b(zal|zou)\b(\W+\w+){0,2}\W+meer\b|\bmeer\W+pijn\b"
    # (a fourth review) a plan denied in the past: the harm is done ("ik had niet van plan ...")
    r"|\b(heb|had|was)\W+(niet|nie)\W+van\W+plan\b"
)


# A clause of nothing but a no, a filler or an oath: "nee hoor", "echt", "wallah".
_DENIAL_FILLER = re.compile(
    rf"^(({_NO_TYPED}|nope|nah|neu|hoor|joh|echt|zeker|nooit|wallah|kzweer|ik zweer( het)?|serieus)\b\W*)+$"
)
# Before the denial in its clause only a no, an oath, a subject and its verb: "nee hij slaat
# me niet", "mn vriend doet me niks", "ik heb nooit ...". A danger told before it in the same
# clause ("hij bedreigt me met een pistool hij doet me niks", a message without commas) keeps
# the help (a reviewer's attack, thirty-fifth pass: 21 of its 50 crises read as a denial before).
_DENIAL_BEFORE = re.compile(
    rf"(({_NO_TYPED}|nope|nah|neu|hoor|joh|echt|serieus|eerlijk|wallah|kzweer|zweer|ik|k|hij|ze|zij"
    rf"|heb|ben|zou|wil|ga|zal|doe|kan|((mijn|mn|m)\W+)?{_PERSON})\b\W*)*"
)
# After it only an oath, "meer", "aan" or the harm's own object: "ik doe mezelf niks aan
# hoor", "niemand doet mij pijn", "niemand slaat me meer"; not "ik ga nie slaan gwn
# neersteken", "geen zelfmoordgedachten gewoon een plan" (the same review).
_DENIAL_AFTER = re.compile(
    rf"\W*((aan|meer|hoor|joh|echt|zeker|serieus|eerlijk|wallah|kzweer|ik zweer( het)?|{_NO_TYPED}|me"
    r"|mij|pijn|iets|wat|kwaad|doen|aandoen|voor\W+(anderen|iemand|mensen))\b\W*)*"
)


# A calm reason beside a denial, in closed words (thirty-sixth pass): a tiredness, an everyday
# feeling or a bad day, "ik ben gwn moe", "ik ben alleen verdrietig vandaag", "ik had
# gewoon een rotdag", "ik was boos op mn buurman". Nothing else may stand in the clause, so a
# danger told beside a denial still keeps the help; and a reason never makes a message calm:
# it gets the check question instead of the help at once (rules 1c and 2c). Left out on a
# review's word: a strong feeling ("zo moe", "heel verdrietig": a struggle, not a reason),
# "down", "ik word moe" (it is getting worse), a pain or feeling ill (it may be the harm), and
# anger now ("ik ben kwaad", the risk of the harm denied); anger is a reason only when told
# as past ("ik was boos op hem"), and never at a child.
_CALM_REASON = re.compile(
    rf"(({_NO_TYPED}|want|omdat)\W+)?"
    r"(((ik|k)\W+)?((ben|voel\W+(me|mij))\W+)?((gewoon|gwn|alleen|wel|beetje|een\W+beetje|ff|even)\W+)?"
    r"(moe|verdrietig|chagrijnig|gestrest|teleurgesteld)"
    r"|((ik|k)\W+)?was\W+((gewoon|gwn|alleen|wel|beetje|een\W+beetje|ff|even)\W+)?"
    r"(moe|verdrietig|chagrijnig|gestrest|teleurgesteld|boos|kwaad|geirriteerd|gefrustreerd))"
    r"(\W+(vandaag|van\W+(het|de|mn|mijn|m)\W+(werk|dag|school|stage|week|training|dienst)"
    r"|op\W+((mijn|mn|m|de|die)\W+)?(?!(kind\w*|baby|zoon\w*|dochter\w*|kleine|kids)\b)"
    rf"{_PERSON}))?"
    rf"|(({_NO_TYPED}|want|omdat)\W+)?((ik|k)\W+)?((heb|had)\W+)?((gewoon|gwn|alleen|wel|ff|even)\W+)?"
    r"(slecht\W+geslapen|((een|n)\W+)?(slechte|rot|zware|drukke|lange)\W*dag"
    r"(\W+gehad)?|((een|n)\W+)?rotdag(\W+gehad)?)"
    # "gewoon mn normale dosis", "ik ben niet bang" (not "mn vriend is lief voor me": beside a
    # denial of abuse it may be grooming, a third review)
    r"|(gewoon|gwn)\W+(mijn|mn|m)\W+(normale|gewone)\W+(dosis|medicatie|medicijnen|pillen)"
    r"|((ik|k)\W+)?(ben|was)\W+(niet|nie|geen)\W+bang"
)
# Beside a denial of pills, drugs or death a tiredness is no reason: it may be the overdose
# itself ("ik heb geen pillen genomen, ik ben alleen moe"; the same review). Feeling ill is
# never one (a fourth review).
_DRUGS = re.compile(
    r"\b(pillen|pil|tabletten|medicijnen|medicatie|genomen|geslikt|gebruikt|high|stoned|dronken"
    r"|invloed|overdosis|drugs|coke|gespoten|dood|doodgaan|dood gaan)\b"
)
_SYMPTOM = re.compile(r"\bmoe\b")


# "ik wil niet dood" is a denial only when said once, alone, calmly: as a plea it is a crisis
# ("mama ik wil niet dood", "ik wil niet dood! ik wil niet dood gaan", "gewoon mn normale
# dosis. ik wil niet dood"; a third review, thirty-sixth pass).
_PLEA = re.compile(r"\bwil\W+((echt|helemaal)\W+)?(niet|nie)\W+dood")
_PLEA_BEFORE = re.compile(rf"(({_NO_TYPED}|ik|k|hoor|echt)\b\W*)*")


_EXCLAIM = re.compile("[!\uff01\u203c\u2757\u2755]")
# Two "!" (a plea), an emoticon of irony or anger (">:)", ";)", ":@") or quotes ("hij doet me
# "niks"") keep the help (the third and fourth reviews, thirty-sixth pass).
_IRONY = re.compile('[!\uff01]{2}|[\u203c\u2757]|[;:]-?[)(@pPdD]|>:|["\u201c\u201d\u201e]')


def _plea(clauses: list[str], text: str) -> bool:
    """Whether a message with "ik wil niet dood" says more than that, once and calmly: another
    clause but a bare "nee", a "!", or anything before it but "nee" and "ik"."""
    said = [c for c in clauses if not _DENIAL_FILLER.match(c)]
    if len(said) != 1 or _EXCLAIM.search(text):
        return True
    found = _PLEA.search(said[0])
    return found is not None and not _PLEA_BEFORE.fullmatch(said[0][: found.start()])


def _calm_reason(clause: str, plain: str) -> bool:
    """Whether a clause, as typed (a tail such as "toch" or an emoji makes it none), is only a
    calm reason in closed words (`_CALM_REASON`); in a message (`plain`) about pills, drugs or
    death a tiredness is none. Its words stay out of the veto: "ik ben alleen verdrietig
    vandaag" holds "alleen" and "vandaag", which here tell the feeling, not the denial."""
    if not _CALM_REASON.fullmatch(clause):
        return False
    return not (_SYMPTOM.search(clause) and _DRUGS.search(plain))


def _only_denial(clause: str, denial: re.Match[str] | None) -> bool:
    """Whether a clause is the denial (`denial`, its match) with only a no, a subject and its
    verb before it and only an oath or the harm's object after it, or a bare "nee", "hoor",
    "echt"."""
    if not denial:
        return bool(_DENIAL_FILLER.match(clause))
    return bool(
        _DENIAL_BEFORE.fullmatch(clause[: denial.start()])
        and _DENIAL_AFTER.fullmatch(clause[denial.end() :])
    )


def words_deny_harm(text: str, hits: Callable[[str], int]) -> bool:
    """Whether a message, read by its words, denies harm and says nothing else worrying: it
    has a denial clause (`_DENIAL`, or "niemand" with the harm it denies); every other clause
    is a denial too, a bare "nee", or a calm reason in closed words (`_calm_reason`); every
    word-list hit (`hits` counts them in a text; given by the caller) lies in a denial clause,
    counted, so a hit across two clauses keeps the help; nothing takes it back as in a reply
    to the check question (`takes_it_back`); and no word of `_DENIAL_VETO` or symbol stands
    outside the reasons. Erring towards the help: a word missing here keeps it."""
    plain = normalise(text)
    # An emoji or symbol the words do not read (🪓, 🩸, 🔥) keeps the help (the same review).
    if any(unicodedata.category(ch) == "So" for ch in plain):
        return False
    lead, typed = _typed_clauses(plain)
    if re.search(r"\bmaar\b", lead):  # "maar" before the first clause
        return False
    clauses = [_strip_tail(raw).strip() for raw, _ in typed]
    denials = [_DENIAL.search(c) or _NOBODY_DENIAL.search(c) for c in clauses]
    # A calm reason in closed words may stand beside the denial (thirty-sixth pass): "ik doe
    # mezelf niks aan, ik ben alleen verdrietig vandaag". A "maar" only after a reason and
    # before a denial ("ik was boos op mn buurman maar ik ga hem niks doen"): a denial and
    # then "maar" keeps the help, whatever follows ("ik wil niet dood maar ik ben zo moe").
    reasons = [
        not d and _calm_reason(raw, plain) for (raw, _), d in zip(typed, denials, strict=True)
    ]
    for i, (_, after) in enumerate(typed):
        if re.search(r"\bmaar\b", after) and not (
            reasons[i] and i + 1 < len(typed) and denials[i + 1]
        ):
            return False
    rest = " , ".join(raw for (raw, _), reason in zip(typed, reasons, strict=True) if not reason)
    if not any(denials) or _DENIAL_VETO.search(rest) or _IRONY.search(text):
        return False
    if _PLEA.search(plain) and _plea(clauses, text):
        return False
    # The same denial twice is a plea, not a denial ("ik ga niemand slaan. ik ga niemand
    # slaan"); beside a reason a "meer" may tell a farewell or a menace ("ik ben moe. niemand
    # doet me meer pijn", "ik was kwaad op hem. hij zal niemand meer slaan"; the second review).
    said = [c for c, d in zip(clauses, denials, strict=True) if d]
    if len(set(said)) < len(said) or (any(reasons) and re.search(r"\bmeer\b", rest)):
        return False
    # Every other clause is the denial itself, with only a no, a subject and its verb before
    # it and an oath or the harm's object after it, a bare "nee", "hoor", "echt", or a calm
    # reason: a danger told in other words beside a denial ("ik heb nooit aan zelfmoord
    # gedacht. ik sta op de rand van het balkon"), or run on without punctuation after it ("ik
    # wil niemand pijn doen ik sta op het station", a review, twenty-sixth pass) or before it
    # ("sta boven op de flat ik denk niet aan zelfmoord hoor", a review, thirty-fifth pass),
    # keeps the help.
    if not all(
        reason or _only_denial(c, d) for c, d, reason in zip(clauses, denials, reasons, strict=True)
    ):
        return False
    counts = [hits(c) for c in clauses]
    if any(n for n, d in zip(counts, denials, strict=True) if not d):
        return False
    if sum(n for n, d in zip(counts, denials, strict=True) if d) < hits(text):
        return False
    return takes_it_back(plain) is False


def read_typed_answer(text: str, intent: str | None) -> str | None:
    """ "ja", "nee" or "weet_niet" from a typed reply and its NLU intent; None when unclear.
    The crisis evidence of the reply is read before this, by `read_check_answer`."""
    plain = normalise(text)
    yes_no = bool(_YES_NO.match(plain))
    # A denial of harm in so many words is a no too: "ik wil niemand pijn doen".
    says_no = (
        yes_no
        or intent == "ontkennen"
        or bool(_NO.match(plain))
        or bool(_NOBODY_HARMED.search(plain))
    )
    if intent == "weet_niet" or _DONT_KNOW.search(plain):
        return CHECK_DONT_KNOW
    if _ASKS_HELP.search(plain):
        return CHECK_YES
    taken_back = takes_it_back(plain)
    if taken_back:
        return CHECK_DONT_KNOW
    half_yes = _half_yes(plain, says_no)
    if half_yes:
        return CHECK_DONT_KNOW
    if half_yes is None or (says_no and taken_back is None):
        return None
    if not yes_no and (intent == "bevestigen" or _YES.match(plain)):
        return CHECK_YES
    if _unclear(plain):
        return None
    if says_no:
        return CHECK_NO
    return None
