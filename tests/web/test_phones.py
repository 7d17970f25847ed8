"""Phone numbers as links that call: the server-side filter and the chat script use the same
rules; text stays escaped; dates and scores are not numbers."""

from __future__ import annotations

import re

import pytest

from bot.settings import PROJECT_ROOT
from bot.storage import repository as repo
from bot.storage.db import session_scope
from bot.web.phones import NUMBER, tel_links

CHAT_JS = PROJECT_ROOT / "bot" / "web" / "static" / "js" / "chat.js"


@pytest.mark.parametrize(
    ("text", "hrefs"),
    [
        ("Bel 113 of gratis 0800-0113.", ["tel:113", "tel:08000113"]),
        ("Chatten kan op 113.nl. Direct gevaar? Bel 112.", ["https://www.113.nl", "tel:112"]),
        ("Veilig Thuis: 0800-2000", ["tel:08002000"]),
        ("Zus 06-12345678, broer 06 1234 5678", ["tel:0612345678", "tel:0612345678"]),
        ("Werk 020-123 4567 of +31 6 12345678", ["tel:0201234567", "tel:+31612345678"]),
        ("Op 03-11-2026 10:00 gaf je een 4 van de 5.", []),
        ("Kamer 1130, code 1234567, jaar 2026", []),
    ],
)
def test_numbers_become_links(text, hrefs):
    assert re.findall(r'href="([^"]+)"', str(tel_links(text))) == hrefs
    assert re.sub(r"<a [^>]*>|</a>", "", str(tel_links(text))) == text


def test_text_stays_escaped():
    html = str(tel_links('<script>alert("x")</script> bel 112'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.endswith('bel <a href="tel:112" class="tel-link">112</a>')


def test_the_chat_script_uses_the_same_rules():
    script = CHAT_JS.read_text(encoding="utf-8")
    source = re.search(r"var NUMBER = /(.*)/g;", script).group(1)  # type: ignore[union-attr]
    assert source == NUMBER.pattern


def test_the_organisations_contact_under_hulp_is_tappable(client, data, engine):
    with session_scope(engine) as session:
        repo.set_org_setting(session, "crisis_contact", "Crisisdienst <b>Zuid</b>: 088-123 4567")
    html = client.get("/chat/").get_data(as_text=True)
    assert (
        'Crisisdienst &lt;b&gt;Zuid&lt;/b&gt;: <a href="tel:0881234567" class="tel-link">'
        "088-123 4567</a>" in html
    )
