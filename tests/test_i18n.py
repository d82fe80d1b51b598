"""Translations: the UI in Hindi after /lang/hi, and the committed catalogues complete and compiled.

After changing a translatable string, refresh the catalogues from the repository root:

    pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
    pybabel update -i translations/messages.pot -d translations
    (translate the new entries in translations/hi/LC_MESSAGES/messages.po)
    pybabel compile -d translations
"""
from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from app.models import PRIORITIES, STATUSES
from tests.conftest import INTL

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
HI_PO = TRANSLATIONS / "hi" / "LC_MESSAGES" / "messages.po"
HI_MO = TRANSLATIONS / "hi" / "LC_MESSAGES" / "messages.mo"
REFRESH_HINT = "refresh the catalogues with the pybabel commands in this module's docstring"


# --- helpers ----------------------------------------------------------------------
def texts(page: bytes) -> set[str]:
    """What a reader sees: every text node plus placeholder/aria-label/title attributes."""
    source = page.decode("utf-8")
    source = re.sub(r"<script\b.*?</script>", "", source, flags=re.S | re.I)
    nodes = re.findall(r">([^<]*)<", source)
    nodes += re.findall(r'(?:placeholder|aria-label|title)="([^"]*)"', source)
    return {html.unescape(node).strip() for node in nodes} - {""}


def load_po(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def translations_of(catalog) -> dict:
    """msgid -> msgstr of every real entry (not the header), as gettext would use it."""
    return {message.id: message.string for message in catalog if message.id}


@pytest.fixture
def lead_with_ticket(make_person, make_ticket, client_for):
    lead = make_person("Lena Lead", "Lead", (INTL,))
    ticket = make_ticket(lead, INTL, assignees=[lead], priority="High")
    return client_for(lead), ticket


def switch_to(client, locale: str) -> None:
    response = client.get(f"/lang/{locale}")
    assert response.status_code == 302, response.data[:300]


# --- the UI in Hindi ----------------------------------------------------------------
LIST_LABELS = {
    # English: Hindi. Menu, list title, search box and column labels of our own views.
    "Tickets": "टिकट",
    "All tickets": "सभी टिकट",
    "My open tickets": "मेरे खुले टिकट",
    "New ticket": "नया टिकट",
    "Comments": "टिप्पणियाँ",
    "Search": "खोजें",
    "Search ESC number, subject, description, customer, contact or booking ID":
        "ESC नंबर, विषय, विवरण, ग्राहक, संपर्क या बुकिंग आईडी खोजें",
    "Booking ID": "बुकिंग आईडी",
    "Subject": "विषय",
    "Priority": "प्राथमिकता",
    "Status": "स्थिति",
}

SHOW_LABELS = {
    "Start": "शुरू करें",
    "Resolve": "हल करें",
    "Resolution notes": "समाधान नोट्स",
    "Add comment": "टिप्पणी जोड़ें",
    "Add a comment": "टिप्पणी लिखें",
    "No comments yet.": "अभी तक कोई टिप्पणी नहीं।",
    "Comments": "टिप्पणियाँ",
    "History": "इतिहास",
    "When": "कब",
    "Conversation": "बातचीत",
    "Details": "विवरण",
    "Edit": "संपादित करें",
    "Who": "किसने",
    "Customer": "ग्राहक",
    "Created": "बनाया गया",  # the "What" of a history row (and the Created column)
}
# Stored values translated in the badges above the ticket (the same English words may
# still show as field values in the detail table and the history's from/to columns).
SHOW_BADGES = {"Open": "खुला", "High": "उच्च"}


def test_english_is_the_default(lead_with_ticket):
    """The baseline the Hindi tests compare against: without /lang/hi the labels are English."""
    client, ticket = lead_with_ticket
    seen = texts(client.get("/tickets/list/").data)
    for english, hindi in LIST_LABELS.items():
        assert english in seen, english
        assert hindi not in seen, hindi
    seen = texts(client.get(f"/tickets/show/{ticket.id}").data)
    for english in {**SHOW_LABELS, **SHOW_BADGES}:
        assert english in seen, english


def test_ticket_list_in_hindi(lead_with_ticket):
    client, _ = lead_with_ticket
    switch_to(client, "hi")
    response = client.get("/tickets/list/")
    assert response.status_code == 200
    seen = texts(response.data)
    for english, hindi in LIST_LABELS.items():
        assert hindi in seen, f"{hindi!r} ({english}) missing"
        assert english not in seen, f"{english!r} still in English"
    assert "टिकट खोजें" in seen  # the search box's aria-label


def test_ticket_page_in_hindi(lead_with_ticket):
    client, ticket = lead_with_ticket
    switch_to(client, "hi")
    response = client.get(f"/tickets/show/{ticket.id}")
    assert response.status_code == 200
    seen = texts(response.data)
    for english, hindi in SHOW_LABELS.items():
        assert hindi in seen, f"{hindi!r} ({english}) missing"
        assert english not in seen, f"{english!r} still in English"
    for english, hindi in SHOW_BADGES.items():
        assert hindi in seen, f"{hindi!r} ({english}) missing"
    assert "Refund not received" in "".join(seen)  # data stays as typed


def test_reopen_buttons_in_hindi(make_person, make_ticket, client_for):
    lead = make_person("Lena Lead", "Lead", (INTL,))
    ticket = make_ticket(lead, INTL, status="Resolved", resolution_notes="Refunded.")
    client = client_for(lead)
    switch_to(client, "hi")
    seen = texts(client.get(f"/tickets/show/{ticket.id}").data)
    assert {"फिर से खोलें", "फिर से खोलें और शुरू करें", "हल हुआ"} <= seen
    assert not {"Reopen", "Reopen and start", "Resolved by"} & seen


def test_flash_messages_in_hindi(lead_with_ticket):
    client, ticket = lead_with_ticket
    switch_to(client, "hi")
    response = client.post(
        f"/tickets/comment/{ticket.id}", data={"body": "Called the hotel."}, follow_redirects=True
    )
    assert response.status_code == 200
    page = response.data.decode()
    assert "टिप्पणी जोड़ी गई।" in page
    assert "Comment added." not in page

    response = client.post(
        f"/tickets/status/{ticket.id}",
        data={"status": "In Progress", "version": str(ticket.version)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "स्थिति बदलकर" in response.data.decode()


def test_admin_menu_in_hindi(make_person, client_for):
    admin = make_person("Ada Admin", "Admin")
    client = client_for(admin)
    switch_to(client, "hi")
    seen = texts(client.get("/teams/list/").data)
    assert {"प्रशासन", "टीम सदस्य", "टीमें", "संस्थापक"} <= seen
    assert not {"Admin", "Team Members", "Teams", "Founders"} & seen


def test_switching_back_to_english(lead_with_ticket):
    client, _ = lead_with_ticket
    switch_to(client, "hi")
    assert "सभी टिकट" in texts(client.get("/tickets/list/").data)
    switch_to(client, "en")
    seen = texts(client.get("/tickets/list/").data)
    assert "All tickets" in seen and "सभी टिकट" not in seen


def test_unknown_language_is_refused(lead_with_ticket):
    client, _ = lead_with_ticket
    assert client.get("/lang/xx").status_code == 404


def test_app_reads_the_top_level_translations_folder(app):
    directories = app.extensions["babel"].translation_directories
    assert str(TRANSLATIONS) in directories


# --- the committed catalogues ---------------------------------------------------------
def test_every_hindi_msgid_is_translated():
    catalog = load_po(HI_PO)
    assert str(catalog.locale) == "hi"
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"msgids without a Hindi msgstr: {untranslated}"
    assert not fuzzy, f"fuzzy entries (not compiled until reviewed): {fuzzy}"


def test_hindi_placeholders_match():
    for message in load_po(HI_PO):
        if message.id and isinstance(message.id, str):
            names = sorted(re.findall(r"%\((\w+)\)s", message.id))
            assert sorted(re.findall(r"%\((\w+)\)s", message.string)) == names, message.id


def test_hindi_mo_is_compiled_from_the_po():
    compiled = io.BytesIO()
    write_mo(compiled, load_po(HI_PO))
    compiled.seek(0)
    with HI_MO.open("rb") as f:
        committed = read_mo(f)
    assert translations_of(committed) == translations_of(read_mo(compiled)), (
        "messages.mo is stale: pybabel compile -d translations"
    )


def test_hindi_po_has_every_template_msgid():
    template = set(translations_of(load_po(POT)))
    hindi = set(translations_of(load_po(HI_PO)))
    assert not template - hindi, f"not in the Hindi catalogue: {sorted(template - hindi)}; {REFRESH_HINT}"


def test_template_has_every_msgid_of_the_source():
    """Strings marked in app/ (and translations/stored_values.py) are all in messages.pot."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, "babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = {
        message[2]
        for message in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
    }
    found = {m if isinstance(m, str) else m[0] for m in found}
    template = set(translations_of(load_po(POT)))
    missing = found - template
    assert not missing, f"marked for translation but not in messages.pot: {sorted(missing)}; {REFRESH_HINT}"


def test_stored_values_are_translated():
    """Statuses and priorities are stored in English and translated in the templates."""
    hindi = translations_of(load_po(HI_PO))
    for value in (*STATUSES, *PRIORITIES):
        assert hindi.get(value), f"no Hindi for the stored value {value!r}"
