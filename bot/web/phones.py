"""Phone numbers in plain text as links that call (`tel:`), for the server-side pages: the
organisation's crisis contact under the Hulp button, the safety plan, and the crisis help as
Koers showed it. The chat does the same in the browser (bot/web/static/js/chat.js, same rules).

The text is escaped piece by piece; only the <a> elements around the numbers are markup.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# 112 and 113, 0800/0900 numbers, Dutch numbers of ten digits (06, 020, 088 ...) or with +31,
# with a space or dash after the area code and spaces in between (so that a date such as
# 03-11-2026 is not a number), and the site 113.nl.
NUMBER = re.compile(
    r"(\+31[\s-]?(?:\(0\)[\s-]?)?\d(?:[\s-]?\d){8}"
    r"|\b0[89]00[\s-]?\d{4}(?:\d{3})?\b"
    r"|\b0\d{1,3}[\s-]?\d(?:\s?\d){5,7}\b"
    r"|\b11[23]\b(?![.,]?\w)"
    r"|\b113\.nl\b)"
)
LINK = Markup('<a href="{href}" class="tel-link">{text}</a>')
WEB_LINK = Markup('<a href="{href}" class="web-link" rel="noopener noreferrer">{text}</a>')


def link_target(found: str) -> str | None:
    """The href for a number found by NUMBER, or None when it is not a phone number."""
    if found == "113.nl":
        return "https://www.113.nl"
    digits = re.sub(r"[^\d+]", "", found.replace("(0)", ""))
    if re.match(r"0[1-79]", digits) and len(digits) != 10:
        return None
    return "tel:" + digits


def tel_links(text: str | None) -> Markup:
    """`text`, escaped, with every phone number in it as a link that calls."""
    text = text or ""
    parts: list[Markup] = []
    last = 0
    for match in NUMBER.finditer(text):
        href = link_target(match.group(0))
        if href is None:
            continue
        template = WEB_LINK if href.startswith("https:") else LINK
        parts.append(escape(text[last : match.start()]))
        parts.append(template.format(href=href, text=match.group(0)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
