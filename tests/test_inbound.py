"""Replies by email become comments: a real Dovecot mailbox (messages delivered by IMAP APPEND),
the app's real outgoing emails (aiosmtpd) to reply to, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import logging
import ssl

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.inbound import service, tokens
from app.inbound.mailbox import MailboxConfigError
from app.inbound.parse import REPLY_MARKER
from app.models import (
    ACCEPTED,
    DISCARDED,
    HELD,
    IGNORED,
    POSTED,
    QUARANTINED,
    STATUS_RESOLVED,
    AuditEvent,
    Comment,
    InboundMessage,
    Notification,
    QuarantinedMessage,
)
from app.notifications import sender
from tests.conftest import INTL, fresh

NOW = datetime(2026, 12, 3, 9, 30)
MAILBOX = "escalations@deyor.test"


@pytest.fixture
def inbound(mailbox, mail_to_smtp, monkeypatch, app):
    """Mailbox and SMTP both real; the outbox's sender address is the mailbox's own."""
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "Deyor Escalations <escalations-noreply@deyor.test>")
    return mailbox, mail_to_smtp


@pytest.fixture
def people(make_person):
    return {
        "asha": make_person("Asha Assigned", "Agent", (INTL,)),
        "carl": make_person("Carl Creator", "Agent", (INTL,)),
        "uma": make_person("Uma Unrelated", "Agent", (INTL,)),
        "ada": make_person("Ada Admin", "Admin"),
        "lena": make_person("Lena Lead", "Lead", (INTL,)),
    }


def sent_to(smtp, address: str):
    """The last email the app sent to `address` (after the outbox's flush)."""
    sender.flush()
    for mail in reversed(smtp.messages):
        if address in mail.rcpt_tos:
            return mail.message
    raise AssertionError(f"no email to {address}: {[m.rcpt_tos for m in smtp.messages]}")


def reply(original, person, text: str, *, to: str | None = None, subject: str | None = None,
          threaded: bool = True, **headers) -> bytes:
    """A plain reply as a mail client writes it: quoting the original under Gmail's header."""
    message = EmailMessage()
    message["From"] = f"{person.full_name} <{person.email}>"
    message["To"] = to or str(original["Reply-To"] or original["From"])
    message["Subject"] = subject or f"Re: {original['Subject']}"
    message["Date"] = format_datetime(NOW)
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    if threaded:
        message["In-Reply-To"] = original["Message-ID"]
        message["References"] = original["Message-ID"]
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    quoted = "\n".join("> " + line for line in original.get_body(("plain",)).get_content().splitlines())
    message.set_content(f"{text}\n\nOn Thu, 3 Dec 2026 at 14:02, Deyor Escalations <{MAILBOX}> wrote:\n{quoted}\n")
    return message.as_bytes()


def comments(ticket):
    return list(db.session.scalars(select(Comment).where(Comment.ticket_id == ticket.id).order_by(Comment.id)))


def records():
    db.session.expire_all()
    return list(db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def held():
    db.session.expire_all()
    return list(db.session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id)))


@pytest.fixture
def ticket(make_ticket, people):
    return make_ticket(people["carl"], INTL, assignees=[people["asha"]], subject="Hotel overbooked in Goa",
                       booking_id="GOA-7781")


# --- posted ----------------------------------------------------------------------------------------
def test_a_reply_to_the_apps_email_becomes_the_senders_comment(inbound, people, ticket):
    imap, smtp = inbound
    assert imap.folders() == ["INBOX"]
    original = sent_to(smtp, people["asha"].email)
    token = tokens.token_for(people["asha"].id, ticket.id)
    assert original["Reply-To"] == f"escalations+{token}@deyor.test"  # one person: their token
    assert REPLY_MARKER in original.get_body(("plain",)).get_content()
    imap.deliver(reply(original, people["asha"], "Called the airline, refund in 5 days."), seen=True)

    counts = service.run_pass(db.session, now=NOW)

    assert counts == {POSTED: 1}
    [comment] = comments(ticket)
    assert comment.author_id == people["asha"].id
    assert comment.body == "Called the airline, refund in 5 days."
    assert "wrote:" in comment.original_text and "Called the airline" in comment.original_text
    assert comment.created_at == NOW  # the injected clock
    [record] = records()
    assert (record.outcome, record.ticket_id, record.person_id, record.comment_id) == (
        POSTED, ticket.id, people["asha"].id, comment.id)
    assert record.detail == "thread, token" and record.received_at == NOW
    # Read although someone had opened it (\Seen), and moved once its comment was committed to
    # the folder Processed, created for it.
    assert imap.folders() == ["INBOX", "Processed"]
    assert imap.messages("INBOX") == []
    assert len(imap.messages("Processed")) == 1


def test_matched_by_subject_with_the_token_and_no_thread_headers(inbound, people, ticket):
    imap, _ = inbound
    address = tokens.reply_address(people["asha"].id, ticket.id)
    message = EmailMessage()
    message["From"] = people["asha"].email
    message["To"] = address
    message["Subject"] = f"Update on [ESC-{ticket.id}] from my phone"
    message["Message-ID"] = make_msgid()
    message.set_content("Guest moved to the Taj, confirmed.\n\nSent from my iPhone\n")
    imap.deliver(message.as_bytes())

    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert comment.body == "Guest moved to the Taj, confirmed."
    assert records()[0].detail == "subject, token"


def test_in_reply_to_an_email_sent_to_the_sender_is_proof_without_a_token(inbound, people, make_ticket):
    imap, smtp = inbound
    both = make_ticket(people["carl"], INTL, assignees=[people["asha"], people["lena"]])
    original = sent_to(smtp, people["lena"].email)
    assert original["Reply-To"] == MAILBOX  # two people: no one's token
    imap.deliver(reply(original, people["lena"], "Escalated to the GM."))

    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(both)
    assert comment.author_id == people["lena"].id and comment.body == "Escalated to the GM."
    assert records()[0].detail == "thread, in-reply-to"


def test_a_reply_to_a_resolved_ticket_is_posted_and_the_ticket_stays_resolved(inbound, people, ticket, client_for):
    imap, smtp = inbound
    original = sent_to(smtp, people["asha"].email)
    ticket.status, ticket.resolution_notes = STATUS_RESOLVED, "Refunded."
    db.session.commit()
    imap.deliver(reply(original, people["asha"], "Customer confirmed the refund arrived."))

    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    assert fresh(ticket).status == STATUS_RESOLVED
    page = client_for(people["asha"]).get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert "Customer confirmed the refund arrived." in page


# --- quarantined ------------------------------------------------------------------------------------
def _plain(sender: str, to: str, subject: str, text: str, **headers) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = make_msgid()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message.as_bytes()


def test_a_forged_from_without_proof_is_quarantined_never_posted(inbound, people, ticket):
    imap, _ = inbound
    imap.deliver(_plain(people["asha"].email, MAILBOX, f"Re: [ESC-{ticket.id}]", "Close it, refund done."))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 1}
    assert comments(ticket) == []
    [item] = held()
    assert (item.reason, item.state, item.sender, item.ticket_id) == ("no_proof", HELD, people["asha"].email, ticket.id)
    assert item.body == "Close it, refund done." and item.raw  # kept whole for the admin
    assert imap.messages("INBOX") == [] and len(imap.messages("Processed")) == 1


def test_a_token_of_another_person_or_ticket_is_no_proof(inbound, people, ticket, make_ticket):
    imap, _ = inbound
    other = make_ticket(people["carl"], INTL, assignees=[people["asha"]])
    for address in (tokens.reply_address(people["carl"].id, ticket.id),  # Carl's token, Asha's From
                    tokens.reply_address(people["asha"].id, other.id)):  # Asha's token for another ticket
        imap.deliver(_plain(people["asha"].email, address, f"Re: [ESC-{ticket.id}]", "Done."))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 2}
    assert [h.reason for h in held()] == ["token_mismatch", "token_mismatch"]
    assert comments(ticket) == []


def test_a_stranger_is_quarantined(inbound, people, ticket):
    imap, _ = inbound
    address = tokens.reply_address(people["asha"].id, ticket.id)
    imap.deliver(_plain("Mallory <mallory@example.com>", address, f"Re: [ESC-{ticket.id}]", "Refund to my account."))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 1}
    [item] = held()
    assert item.reason == "unknown_sender" and comments(ticket) == []


def test_a_person_who_may_not_see_the_ticket_is_quarantined_even_with_a_valid_token(inbound, people, ticket):
    imap, _ = inbound
    uma = people["uma"]  # same team, an agent, neither creator nor assignee
    imap.deliver(_plain(uma.email, tokens.reply_address(uma.id, ticket.id), f"Re: [ESC-{ticket.id}]", "Me too."))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 1}
    assert held()[0].reason == "not_visible" and comments(ticket) == []


def test_a_deactivated_person_is_quarantined(inbound, people, ticket):
    imap, _ = inbound
    asha = people["asha"]
    asha.active = False
    db.session.commit()
    imap.deliver(_plain(asha.email, tokens.reply_address(asha.id, ticket.id), f"Re: [ESC-{ticket.id}]", "Done."))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 1}
    assert held()[0].reason == "inactive_sender"


@pytest.mark.parametrize("subject, reason", [("Hello there", "no_ticket"), ("Re: [ESC-999999] x", "unknown_ticket")])
def test_no_ticket_or_an_unknown_ticket_is_quarantined(inbound, people, subject, reason):
    imap, _ = inbound
    imap.deliver(_plain(people["asha"].email, MAILBOX, subject, "Anything?"))

    assert service.run_pass(db.session, now=NOW) == {QUARANTINED: 1}
    assert held()[0].reason == reason


# --- ignored ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"X-Autoreply": "yes"},
    {"X-Auto-Response-Suppress": "All"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"List-Id": "<ops.deyor.test>"},
], ids=lambda h: next(iter(h)) + "=" + next(iter(h.values())))
def test_auto_replies_are_ignored_and_moved(inbound, people, ticket, headers):
    imap, _ = inbound
    address = tokens.reply_address(people["asha"].id, ticket.id)
    imap.deliver(_plain(people["asha"].email, address, f"Out of office: [ESC-{ticket.id}]", "I am away.", **headers))

    assert service.run_pass(db.session, now=NOW) == {IGNORED: 1}
    [record] = records()
    assert record.reason == "automatic" and comments(ticket) == [] and held() == []
    assert imap.messages("INBOX") == [] and len(imap.messages("Processed")) == 1


def test_auto_submitted_no_is_a_person_writing(inbound, people, ticket):
    imap, _ = inbound
    address = tokens.reply_address(people["asha"].id, ticket.id)
    imap.deliver(_plain(people["asha"].email, address, f"[ESC-{ticket.id}]", "Handled.", Auto_Submitted="no"))
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}


def test_bounces_are_ignored(inbound, people, ticket):
    imap, _ = inbound
    imap.deliver(_plain("Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>", MAILBOX,
                        f"Undelivered Mail Returned to Sender [ESC-{ticket.id}]", "Delivery failed."))
    imap.deliver(
        f"From: Mail System <mail-system@example.org>\r\nTo: {MAILBOX}\r\nSubject: Delivery report [ESC-{ticket.id}]\r\n"
        "Message-ID: <report-1@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n"
        "--b1--\r\n"
    )

    assert service.run_pass(db.session, now=NOW) == {IGNORED: 2}
    assert [r.reason for r in records()] == ["automatic", "automatic"]
    assert comments(ticket) == []


def test_a_reply_with_nothing_new_is_ignored(inbound, people, ticket, original):
    inbound[0].deliver(reply(original, people["asha"], ""))  # only the quote
    assert service.run_pass(db.session, now=NOW) == {IGNORED: 1}
    assert records()[0].reason == "empty" and comments(ticket) == []

def test_a_message_over_the_size_limit_is_ignored_and_kept_in_the_mailbox(inbound, people, ticket, app, monkeypatch):
    imap, _ = inbound
    monkeypatch.setitem(app.config, "INBOUND_MAX_BYTES", 2000)
    address = tokens.reply_address(people["asha"].id, ticket.id)
    imap.deliver(_plain(people["asha"].email, address, f"[ESC-{ticket.id}]", "x" * 5000))

    assert service.run_pass(db.session, now=NOW) == {IGNORED: 1}
    [record] = records()
    assert record.reason == "too_large" and record.size > 2000 and comments(ticket) == []
    assert len(imap.messages("Processed")) == 1  # not lost: there for whoever looks


def test_malformed_and_header_tricks_never_stop_the_pass(inbound, people, ticket):
    imap, _ = inbound
    address = tokens.reply_address(people["asha"].id, ticket.id)
    imap.deliver(b"This is not an email at all\x00\xff\xfe")
    imap.deliver(
        f"From: {people['asha'].email}\r\nTo: {address}\r\nSubject: =?utf-8?q?[ESC-{ticket.id}]_x=0D=0ABcc:_evil@x?=\r\n"
        f"Message-ID: <trick@example.com>\r\nContent-Type: text/plain; charset=unknown-8bit\r\n\r\nStill fine\xe9.\r\n"
        .encode("latin-1")
    )
    counts = service.run_pass(db.session, now=NOW)

    assert sum(counts.values()) == 2 and imap.messages("INBOX") == []
    posted = [r for r in records() if r.outcome == POSTED]
    assert len(posted) == 1 and "\n" not in posted[0].subject and "\r" not in posted[0].subject


# --- content ----------------------------------------------------------------------------------------
GMAIL = """\
MIME-Version: 1.0
From: Asha Assigned <{sender}>
Date: Thu, 3 Dec 2026 15:10:22 +0530
Message-ID: <CAJx9Lp2nq=Vb3@mail.gmail.com>
Subject: Re: [ESC-{id}][High] Hotel overbooked in Goa
To: Deyor Escalations <{to}>
In-Reply-To: {msgid}
References: {msgid}
Content-Type: multipart/alternative; boundary="000000000000b1b2c3"

--000000000000b1b2c3
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Spoke to the hotel manager, they will upgrade the guest tonight.

--=20
Asha Assigned
Operations, Deyor Holidays

On Thu, 3 Dec 2026 at 14:02, Deyor Escalations <escalations@deyor.test> wrote=
:

> {marker}
>
> A new escalation was raised: ESC-{id}
> Booking GOA-7781
>

--000000000000b1b2c3
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Spoke to the hotel manager, they will upgrade the guest toni=
ght.<br clear=3D"all"><div><br></div>-- <br><div dir=3D"ltr" class=3D"gmail_si=
gnature">Asha Assigned<br>Operations, Deyor Holidays</div></div><br><div class=
=3D"gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">On Thu, 3 Dec 2026 at 14=
:02, Deyor Escalations &lt;escalations@deyor.test&gt; wrote:<br></div><blockquo=
te class=3D"gmail_quote">A new escalation was raised</blockquote></div>

--000000000000b1b2c3--
"""

OUTLOOK = """\
From: Asha Assigned <{sender}>
To: "escalations" <{to}>
Subject: RE: [ESC-{id}][High] Hotel overbooked in Goa
Thread-Topic: [ESC-{id}][High] Hotel overbooked in Goa
Thread-Index: AQHZ1xYz
Date: Thu, 3 Dec 2026 09:40:11 +0000
Message-ID: <PN2PR01MB4567ABCD@PN2PR01MB4567.INDPRD01.PROD.OUTLOOK.COM>
In-Reply-To: {msgid}
References: {msgid}
Content-Language: en-IN
X-MS-Has-Attach: yes
Content-Type: multipart/mixed; boundary="_004_outlook_"
MIME-Version: 1.0

--_004_outlook_
Content-Type: multipart/alternative; boundary="_000_outlook_"

--_000_outlook_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Airline confirmed the refund, ref AI-55821. Voucher attached.

Regards,
Asha

________________________________
From: Deyor Escalations <escalations@deyor.test>
Sent: Thursday, December 3, 2026 2:02 PM
To: Asha Assigned <{sender}>
Subject: [ESC-{id}][High] Hotel overbooked in Goa

{marker}

A new escalation was raised: ESC-{id}

--_000_outlook_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Airline confirmed the refund, ref AI-55821. Voucher attached.</p></body></html>

--_000_outlook_--

--_004_outlook_
Content-Type: application/pdf; name="voucher.pdf"
Content-Disposition: attachment; filename="voucher.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK

--_004_outlook_--
"""

APPLE_HTML_ONLY = """\
From: Asha Assigned <{sender}>
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Subject: Re: [ESC-{id}][High] Hotel overbooked in Goa
Message-Id: <A1B2C3D4-E5F6@deyor.test>
Date: Thu, 3 Dec 2026 15:20:01 +0530
To: Deyor Escalations <{to}>
In-Reply-To: {msgid}
References: {msgid}

<html><head><style>p {{ color: red }}</style><script>alert('x')</script></head><body>=
<p>Guest is <b>happy</b> now: <a href=3D"https://hotel.example.com/r/1">booking</a>.</p>=
<img src=3D"cid:logo" onerror=3D"alert(1)"><div><br><blockquote type=3D"cite">On 3 Dec 2026, =
at 14:02, Deyor Escalations &lt;escalations@deyor.test&gt; wrote:<br><br>{marker}<br>A new escalation was raised</blockquote></div></body></html>
"""

OUTLOOK_WEB_HTML_ONLY = """\
From: Asha Assigned <{sender}>
To: escalations <{to}>
Subject: Re: [ESC-{id}][High] Hotel overbooked in Goa
Date: Thu, 3 Dec 2026 10:05:44 +0000
Message-ID: <SEZPR06MB5269F1@SEZPR06MB5269.apcprd06.prod.outlook.com>
In-Reply-To: {msgid}
References: {msgid}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Dutf-8"><style type=3D"text/css" =
style=3D"display:none;"> P {{margin-top:0;margin-bottom:0;}} </style></head><body dir=3D"ltr">=
<div class=3D"elementToProof" style=3D"font-family: Aptos, sans-serif; font-size: 12pt;">Hotel agreed to refun=
d the extra night.</div><div class=3D"elementToProof"><br></div><hr style=3D"display:inline-block;width:98%" =
tabindex=3D"-1"><div id=3D"divRplyFwdMsg" dir=3D"ltr"><font face=3D"Calibri, sans-serif" style=3D"font-size:11p=
t" color=3D"#000000"><b>From:</b> Deyor Escalations &lt;escalations@deyor.test&gt;<br><b>Sent:</b> Thursday, De=
cember 3, 2026 14:02<br><b>To:</b> Asha Assigned &lt;{sender}&gt;<br><b>Subject:</b> [ESC-{id}][High] Hotel ov=
erbooked in Goa</font><div>&nbsp;</div></div><div><p>{marker}</p><p>A new escalation was raised</p></div></body></html>
"""



@pytest.fixture
def original(inbound, people, ticket):
    return sent_to(inbound[1], people["asha"].email)


def _fill(template: str, people, ticket, original) -> bytes:
    return template.format(sender=people["asha"].email, to=original["Reply-To"], id=ticket.id,
                           msgid=original["Message-ID"], marker=REPLY_MARKER).replace("\n", "\r\n").encode()


def test_gmail_quote_and_signature_are_stripped(inbound, people, ticket, original):
    inbound[0].deliver(_fill(GMAIL, people, ticket, original))
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert comment.body == "Spoke to the hotel manager, they will upgrade the guest tonight."
    assert "Operations, Deyor Holidays" in comment.original_text and "wrote:" in comment.original_text


def test_outlook_quote_is_stripped_and_its_file_listed(inbound, people, ticket, original):
    inbound[0].deliver(_fill(OUTLOOK, people, ticket, original))
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert comment.body.startswith("Airline confirmed the refund, ref AI-55821. Voucher attached.")
    assert "Sent: Thursday" not in comment.body and "A new escalation" not in comment.body
    assert "voucher.pdf" in comment.body  # the attachments service is not there: listed by name
    assert "Sent: Thursday" in comment.original_text


def test_html_only_mail_is_sanitised_and_rendered_as_text(inbound, people, ticket, original):
    inbound[0].deliver(_fill(APPLE_HTML_ONLY, people, ticket, original))
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert "Guest is happy now" in comment.body and "booking" in comment.body
    for gone in ("alert", "script", "color: red", "<", "A new escalation", "wrote:"):
        assert gone not in comment.body, gone


def test_the_original_is_behind_a_show_original_toggle(inbound, people, ticket, original, client_for):
    inbound[0].deliver(_fill(GMAIL, people, ticket, original))
    service.run_pass(db.session, now=NOW)
    page = client_for(people["asha"]).get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert "Show original" in page and "Operations, Deyor Holidays" in page
    assert page.index("Show original") < page.index("Operations, Deyor Holidays")


# --- once, and never lost ---------------------------------------------------------------------------
def test_the_same_message_delivered_twice_is_one_comment(inbound, people, ticket, original):
    raw = reply(original, people["asha"], "Refund approved.")
    inbound[0].deliver(raw)
    inbound[0].deliver(raw)
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1, "seen": 1}
    assert len(comments(ticket)) == 1 and len(records()) == 1
    assert inbound[0].messages("INBOX") == [] and len(inbound[0].messages("Processed")) == 2


def test_a_crash_between_commit_and_move_posts_no_duplicate(inbound, people, ticket, original):
    imap = inbound[0]
    imap.deliver(reply(original, people["asha"], "Refund approved."))

    def crash(uid):
        raise ConnectionError("worker killed before the move")

    with pytest.raises(ConnectionError):
        service.run_pass(db.session, now=NOW, after_commit=crash)
    assert len(comments(ticket)) == 1 and len(imap.messages("INBOX")) == 1  # committed, not moved

    assert service.run_pass(db.session, now=NOW) == {"seen": 1}
    assert len(comments(ticket)) == 1
    assert imap.messages("INBOX") == [] and len(imap.messages("Processed")) == 1


def test_a_database_failure_leaves_the_message_for_the_next_pass(inbound, people, ticket, original, monkeypatch):
    imap = inbound[0]
    imap.deliver(reply(original, people["asha"], "Refund approved."))

    def database_down(session, message):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    with monkeypatch.context() as patch:
        patch.setattr(service, "decide", database_down)
        with pytest.raises(OperationalError):
            service.run_pass(db.session, now=NOW)
    db.session.rollback()
    assert records() == [] and len(imap.messages("INBOX")) == 1

    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    assert len(comments(ticket)) == 1


def test_the_worker_reads_the_mailbox_in_its_loop(inbound, people, ticket, original, app):
    from app import worker

    inbound[0].deliver(reply(original, people["asha"], "From the worker."))
    worker.turn(app, ladder_due=False, inbound_due=False)
    assert comments(ticket) == []
    worker.turn(app, ladder_due=False, inbound_due=True)
    assert [c.body for c in comments(ticket)] == ["From the worker."]


def test_the_worker_survives_an_unreachable_mailbox(app, mailbox, monkeypatch, caplog):
    from app import worker

    monkeypatch.setitem(app.config, "IMAP_PORT", 1)  # nothing listens there
    # (Alembic's logging set-up disables the loggers that existed when a migration ran.)
    monkeypatch.setattr(logging.getLogger("app.worker"), "disabled", False)
    worker.turn(app, ladder_due=False, inbound_due=True)
    assert "Inbound mailbox: pass failed" in caplog.text


# --- connection security ----------------------------------------------------------------------------
def test_without_imap_host_nothing_is_read(inbound, app, monkeypatch, people, ticket, original):
    inbound[0].deliver(reply(original, people["asha"], "Unread."))
    monkeypatch.setitem(app.config, "IMAP_HOST", "")
    assert service.run_pass(db.session, now=NOW) == {}
    assert len(inbound[0].messages("INBOX")) == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_modes_never_fall_back_to_plain_text(inbound, app, monkeypatch, people, ticket, original, security):
    """The test server offers no TLS: `starttls` and `ssl` fail instead of logging in in clear."""
    imap = inbound[0]
    imap.deliver(reply(original, people["asha"], "Secret."))
    monkeypatch.setitem(app.config, "IMAP_SECURITY", security)
    logins = []
    monkeypatch.setattr(IMAPClient, "login", lambda self, *a: logins.append(a))  # would send the password
    with pytest.raises((IMAPClientError, ssl.SSLError, OSError)) as raised:
        service.run_pass(db.session, now=NOW)
    if security == "starttls":
        assert "STARTTLS" in str(raised.value) or "TLS" in str(raised.value)
    else:
        assert isinstance(raised.value, (ssl.SSLError, OSError))
    assert logins == []  # the password never went over plain text
    monkeypatch.undo()
    assert len(imap.messages("INBOX")) == 1 and records() == []


def test_an_unknown_security_mode_is_refused_by_name(mailbox, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMAP_SECURITY", "tls")
    with pytest.raises(MailboxConfigError, match="IMAP_SECURITY"):
        service.run_pass(db.session)


# --- outgoing emails ---------------------------------------------------------------------------------
def test_without_a_mailbox_emails_carry_no_reply_to_and_no_marker(mail_to_smtp, app, monkeypatch, people, ticket):
    monkeypatch.setitem(app.config, "IMAP_HOST", "")
    message = sent_to(mail_to_smtp, people["asha"].email)
    assert message["Reply-To"] is None
    assert REPLY_MARKER not in message.get_body(("plain",)).get_content()


def test_tokens_are_per_person_and_ticket_and_need_the_secret(app):
    assert tokens.token_for(1, 2) != tokens.token_for(2, 1) != tokens.token_for(1, 3)
    assert tokens.token_for(1, 2) != tokens.token_for(1, 2, secret="another-secret-key-of-enough-length")
    assert len(tokens.token_for(1, 2)) == tokens.TOKEN_LENGTH and tokens.token_for(1, 2).isalnum()


# --- the quarantine screen ------------------------------------------------------------------------------
@pytest.fixture
def quarantined(inbound, people, ticket):
    imap = inbound[0]
    imap.deliver(_plain(people["asha"].email, MAILBOX, f"Re: [ESC-{ticket.id}] spoof?", "Refund approved."))
    imap.deliver(_plain(people["uma"].email, MAILBOX, f"Re: [ESC-{ticket.id}] outsider", "Let me in."))
    service.run_pass(db.session, now=NOW)
    return held()


def test_admins_see_quarantined_messages_with_sender_subject_and_why(quarantined, people, client_for):
    page = client_for(people["ada"]).get("/quarantine/list/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert people["asha"].email in text and "spoof?" in text
    assert "No proof it answers our email" in text and "may not see this ticket" in text


@pytest.mark.parametrize("who", ["asha", "lena", "uma"])
def test_others_may_not_see_or_decide_the_quarantine(quarantined, people, client_for, who):
    client = client_for(people[who])
    assert client.get("/quarantine/list/").status_code in (302, 403)
    assert client.get(f"/quarantine/show/{quarantined[0].id}").status_code in (302, 403)
    answer = client.post(f"/quarantine/accept/{quarantined[0].id}")
    assert answer.status_code in (302, 403) and "/quarantine" not in answer.headers.get("Location", "")
    assert client.post(f"/quarantine/discard/{quarantined[0].id}").status_code in (302, 403)
    assert [h.state for h in held()] == [HELD, HELD]


def test_accept_posts_as_the_sender_and_is_audited(quarantined, people, ticket, client_for):
    spoof = quarantined[0]
    answer = client_for(people["ada"]).post(f"/quarantine/accept/{spoof.id}")
    assert answer.status_code == 302
    [comment] = comments(ticket)
    assert comment.author_id == people["asha"].id and comment.body == "Refund approved."
    item = fresh(spoof)
    assert (item.state, item.decided_by_id, item.comment_id) == (ACCEPTED, people["ada"].id, comment.id)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "quarantine_accepted")).all()
    assert event.actor_id == people["ada"].id and event.object_id == str(spoof.id)
    assert event.details["sender"] == people["asha"].email
    # Decided once: a second accept changes nothing.
    client_for(people["ada"]).post(f"/quarantine/accept/{spoof.id}")
    assert len(comments(ticket)) == 1


def test_accept_is_refused_when_the_sender_may_not_see_the_ticket(quarantined, people, ticket, client_for):
    outsider = quarantined[1]
    answer = client_for(people["ada"]).post(f"/quarantine/accept/{outsider.id}", follow_redirects=True)
    assert "may not see" in answer.get_data(as_text=True)
    assert fresh(outsider).state == HELD and comments(ticket) == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "quarantine_accepted")).all() == []


def test_discard_is_recorded_and_posts_nothing(quarantined, people, ticket, client_for):
    outsider = quarantined[1]
    assert client_for(people["ada"]).post(f"/quarantine/discard/{outsider.id}").status_code == 302
    item = fresh(outsider)
    assert item.state == DISCARDED and item.decided_by_id == people["ada"].id and comments(ticket) == []
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "quarantine_discarded")).all()
    assert event.object_id == str(outsider.id)


def test_an_unknown_quarantine_id_is_404(quarantined, people, client_for):
    assert client_for(people["ada"]).post("/quarantine/accept/999999").status_code == 404


def test_notification_rows_keep_their_message_ids_for_matching(inbound, people, ticket):
    rows = db.session.scalars(select(Notification).where(Notification.ticket_id == ticket.id)).all()
    assert rows and all(r.message_id.startswith("<ticket-") for r in rows)


def test_the_quarantine_list_reads_a_fixed_number_of_statements(inbound, people, ticket, client_for):
    from tests.test_queries import count_statements

    admin = client_for(people["ada"])

    def statements_for(count: int) -> int:
        for n in range(count):
            inbound[0].deliver(_plain(f"stranger{n}@example.com", MAILBOX, f"[ESC-{ticket.id}] #{n}", "Hi."))
        service.run_pass(db.session, now=NOW)
        with count_statements() as statements:
            page = admin.get("/quarantine/list/")
        assert page.status_code == 200 and f"ESC-{ticket.id}" in page.get_data(as_text=True)
        return len(statements)

    assert statements_for(2) == statements_for(10)


def test_the_apps_own_emails_coming_back_are_ignored(inbound, people, ticket):
    inbound[0].deliver(_plain("escalations-noreply@deyor.test", MAILBOX, f"[ESC-{ticket.id}] looped", "Ours."))
    assert service.run_pass(db.session, now=NOW) == {IGNORED: 1}
    assert records()[0].reason == "own"


@pytest.mark.browser
def test_an_admin_accepts_a_held_reply_and_the_agent_opens_its_original(inbound, people, ticket, original, live_server):
    from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit

    inbound[0].deliver(_fill(GMAIL, people, ticket, original).replace(  # no proof: held
        f"In-Reply-To: {original['Message-ID']}".encode(), b"X-Note: forwarded").replace(
        original["Reply-To"].encode(), MAILBOX.encode()))
    service.run_pass(db.session, now=NOW)
    [item] = held()
    assert item.reason == "no_proof"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(live_server) as page:
        log_in(page, people["ada"].email)
        visit(page, "/quarantine/list/")
        assert "No proof it answers our email" in page.inner_text("body")
        page.screenshot(path=str(SCREENSHOTS / "quarantine-list.png"))
        visit(page, f"/quarantine/show/{item.id}")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SCREENSHOTS / "quarantine-show-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.click("text=Accept and post")
        page.wait_for_url("**/quarantine/list/**")
        assert "Posted on ESC-" in page.inner_text("body")
    assert fresh(item).state == ACCEPTED
    with chromium_page(live_server) as page:
        log_in(page, people["asha"].email)
        visit(page, f"/tickets/show/{ticket.id}")
        original_text = page.locator(".comment-original pre")
        assert not original_text.is_visible()
        page.click("text=Show original")
        assert "Operations, Deyor Holidays" in original_text.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "comment-by-email-original.png"), full_page=True)


def test_outlook_on_the_web_html_only_reply_keeps_only_the_new_text(inbound, people, ticket, original):
    inbound[0].deliver(_fill(OUTLOOK_WEB_HTML_ONLY, people, ticket, original))
    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert comment.body == "Hotel agreed to refund the extra night."
    assert "Sent: Thursday" in comment.original_text and "<" not in comment.body


def test_flask_inbound_read_reads_once_and_reports(inbound, people, ticket, original, app, monkeypatch):
    inbound[0].deliver(reply(original, people["asha"], "Read by hand."))
    result = app.test_cli_runner().invoke(args=["inbound", "read"])
    assert result.exit_code == 0 and "posted: 1" in result.output
    assert [c.body for c in comments(ticket)] == ["Read by hand."]
    monkeypatch.setitem(app.config, "IMAP_HOST", "")
    result = app.test_cli_runner().invoke(args=["inbound", "read"])
    assert result.exit_code != 0 and "IMAP_HOST is not set" in result.output


@pytest.mark.browser
def test_the_quarantine_and_the_original_read_in_hindi(inbound, people, ticket, original, live_server):
    from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit

    inbound[0].deliver(_plain(people["uma"].email, MAILBOX, f"Re: [ESC-{ticket.id}]", "Let me in."))
    inbound[0].deliver(_fill(GMAIL, people, ticket, original))
    service.run_pass(db.session, now=NOW)
    [item] = held()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(live_server) as page:
        log_in(page, people["ada"].email)
        page.click(".navbar-right .dropdown-toggle:has(.flag)")
        page.click("a:has-text('हिन्दी')")
        page.wait_for_load_state()
        visit(page, "/quarantine/list/")
        text = page.inner_text("body")
        assert "रोके गए ईमेल" in text and "भेजने वाला यह टिकट नहीं देख सकता" in text and "रोका गया" in text
        page.screenshot(path=str(SCREENSHOTS / "i18n-hi-quarantine-list.png"))
        visit(page, f"/quarantine/show/{item.id}")
        assert "स्वीकार करें और जोड़ें" in page.inner_text("body")
        visit(page, f"/tickets/show/{ticket.id}")
        page.click("text=मूल दिखाएँ")
        assert "ईमेल से" in page.inner_text(".ticket-comments")
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SCREENSHOTS / "i18n-hi-comment-original-phone.png"), full_page=True)


def test_files_go_through_the_attachments_service_when_it_exists(inbound, people, ticket, original, monkeypatch):
    """The seam for ticket attachments (app/attachments/service.py add_attachment, not in this
    tree yet): a stand-in with its signature stores one file and refuses the other."""
    stored = []

    def add_attachment(ticket_, uploader, filename, stream, comment=None):
        if filename.endswith(".exe"):
            raise ValueError("this type of file is not accepted")
        stored.append((ticket_.id, uploader.id, filename, stream.read(), comment.id))

    monkeypatch.setattr(service, "_attachment_service", lambda: add_attachment)
    message = EmailMessage()
    message["From"], message["To"] = people["asha"].email, original["Reply-To"]
    message["Subject"], message["Message-ID"] = f"Re: {original['Subject']}", make_msgid()
    message["In-Reply-To"] = original["Message-ID"]
    message.set_content("Voucher attached.")
    message.add_attachment(b"%PDF-1.4 voucher", maintype="application", subtype="pdf", filename="voucher.pdf")
    message.add_attachment(b"MZ", maintype="application", subtype="octet-stream", filename="tool.exe")
    inbound[0].deliver(message.as_bytes())

    assert service.run_pass(db.session, now=NOW) == {POSTED: 1}
    [comment] = comments(ticket)
    assert stored == [(ticket.id, people["asha"].id, "voucher.pdf", b"%PDF-1.4 voucher", comment.id)]
    assert comment.body == "Voucher attached.\n\nAttached by email: tool.exe (this type of file is not accepted)"
