"""Exports of the ticket list (screen and API) and of the outbox to CSV and Excel."""
from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import prison
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Comment, Notification, SavedView, Ticket
from app.reports import export as exports
from app.reports.export import NUMBER, TIME, Column, escape_cell, xlsx_stream
from tests.conftest import DOM, INTL
from tests.test_api import token_for  # noqa: F401 (fixture)

BOM = "\ufeff"
VIEWS = "/views"


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith(BOM.encode("utf-8"))
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8")[1:])))


def read_xlsx(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def ids_of(rows: list[dict]) -> list[int]:
    return [int(row["ID"]) for row in rows]


@pytest.fixture
def listed(cast, make_ticket):
    """The cast's ticket plus: a hidden one (Domestic, nobody of the agents), one with a formula
    subject and Hindi text, one resolved."""
    people, ticket = cast
    hidden = make_ticket(people["lead_other_team"], DOM, subject="Secret other team", booking_id="DOM-1")
    formula = make_ticket(
        people["agent_creator"], INTL, assignees=[people["agent_assigned"], people["agent_unrelated"]],
        subject="=HYPERLINK(\"http://evil\")", booking_id="GOA-2", priority="Urgent",
        customer_name="-1+2", description="यात्री का कमरा नहीं मिला", customer_contact="@attacker",
    )
    resolved = make_ticket(people["agent_creator"], INTL, subject="Refund done", booking_id="GOA-3",
                           priority="Low")
    resolved.status = "Resolved"
    resolved.resolved_at = datetime(2026, 12, 1, 10, 0)
    db.session.add_all([Comment(ticket=ticket, author=people["agent_creator"], body=f"note {i}") for i in range(3)])
    db.session.commit()
    return people, {"cast": ticket.id, "hidden": hidden.id, "formula": formula.id, "resolved": resolved.id}


# --- the cell rule ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"), ("=cmd|' /C calc'!A0", "'=cmd\\|' /C calc'!A0"),
    ("  =1", "'  =1"), ('""=1', "'\"\"=1"), ("%x", "'%x"),
    ("-10", "-10"), ("-1.5", "-1.5"), ("plain", "plain"), ("a=b", "a=b"), ("", ""),
])
def test_cells_a_spreadsheet_would_evaluate_are_escaped(value, expected):
    assert escape_cell(value) == expected


# --- the screen ---------------------------------------------------------------------------------
def test_csv_has_a_bom_every_column_and_escaped_cells(app, listed, client_for):
    people, ids = listed
    rows = read_csv(client_for(people["admin"]).get("/tickets/export?format=csv", buffered=True))
    assert sorted(ids_of(rows)) == sorted(ids.values())
    by_id = {int(row["ID"]): row for row in rows}
    formula = by_id[ids["formula"]]
    assert formula["Subject"] == "'=HYPERLINK(\"http://evil\")"
    assert formula["Customer name"] == "'-1+2"
    assert formula["Customer contact"] == "'@attacker"
    assert formula["Description"] == "यात्री का कमरा नहीं मिला"
    assert formula["Assignees"] == "Asha Assigned, Uma Unrelated"
    assert formula["Assignee emails"] == "asha.assigned@deyor.test, uma.unrelated@deyor.test"
    assert formula["Team"] == INTL and formula["Priority"] == "Urgent"
    assert formula["Created by"] == "Carl Creator" and formula["Creator email"] == "carl.creator@deyor.test"
    assert by_id[ids["cast"]]["Comments"] == "3" and formula["Comments"] == "0"
    zone = app.config["DISPLAY_TIMEZONE"]
    assert f"Resolved ({zone})" in rows[0]
    # 10:00 UTC is 15:30 in Asia/Kolkata (the default display zone)
    if zone == "Asia/Kolkata":
        assert by_id[ids["resolved"]][f"Resolved ({zone})"] == "2026-12-01 15:30"
    for key in ("SLA", "Resolution due (" + zone + ")", "First response due (" + zone + ")", "Escalation level"):
        assert key in rows[0]


def test_file_name_has_the_date_and_the_download_is_not_cached(app, listed, client_for):
    people, _ids = listed
    response = client_for(people["admin"]).get("/tickets/export?format=xlsx", buffered=True)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="tickets-20') and disposition.endswith('.xlsx"')
    assert response.headers["Cache-Control"] == "no-store"


def test_xlsx_opens_in_openpyxl_with_the_same_rows_and_typed_cells(app, listed, client_for):
    people, ids = listed
    rows = read_xlsx(client_for(people["admin"]).get("/tickets/export?format=xlsx", buffered=True))
    assert sorted(ids_of(rows)) == sorted(ids.values())
    by_id = {row["ID"]: row for row in rows}
    assert by_id[ids["formula"]]["Subject"] == "'=HYPERLINK(\"http://evil\")"
    assert by_id[ids["formula"]]["Description"] == "यात्री का कमरा नहीं मिला"
    zone = app.config["DISPLAY_TIMEZONE"]
    assert isinstance(by_id[ids["resolved"]][f"Resolved ({zone})"], datetime)
    if zone == "Asia/Kolkata":  # 10:00 UTC, as the CSV has it
        assert by_id[ids["resolved"]][f"Resolved ({zone})"] == datetime(2026, 12, 1, 15, 30)
    assert by_id[ids["cast"]]["Comments"] == 3


# --- the Excel file ---------------------------------------------------------------------------
class CountedRows:
    """Rows as a cursor hands them over, counting how many were taken."""

    def __init__(self, rows: list):
        self.rows, self.taken = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.taken += 1
            yield row


def test_the_excel_file_streams_as_its_rows_come(app):
    """The first bytes leave before any row is read, and compressed rows follow while rows are
    still to come: the file is never assembled whole first."""
    words = random.Random(13)
    rows = CountedRows([[n, " ".join(f"{words.getrandbits(40):x}" for _w in range(8))] for n in range(6000)])
    columns = [Column("ID", NUMBER), Column("Subject")]
    with app.test_request_context():
        answer = exports.response("xlsx", "tickets", columns, rows, sheet="Tickets")
        assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert answer.headers["Content-Disposition"].startswith('attachment; filename="tickets-20')
        assert answer.headers["Cache-Control"] == "no-store"
        taken_at_chunk, body = [], []
        for chunk in answer.response:
            taken_at_chunk.append(rows.taken)
            body.append(chunk)
    assert body[0].startswith(b"PK\x03\x04") and taken_at_chunk[0] == 0
    assert len([taken for taken in taken_at_chunk if 0 < taken < len(rows.rows)]) >= 3
    book = zipfile.ZipFile(io.BytesIO(b"".join(body)))
    assert book.testzip() is None
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(body)), read_only=True).worksheets[0]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == list(range(6000))


def test_the_excel_files_cells_are_typed_and_escaped():
    columns = [Column("ID", NUMBER), Column("Subject"), Column("Created (Asia/Kolkata)", TIME),
               Column("Minutes", NUMBER)]
    rows = [
        [1, "यात्री का कमरा नहीं मिला", datetime(2026, 12, 1, 15, 30), 45],
        [2, "=HYPERLINK(\"http://evil\")", None, None],
        [3, "Tom <tom@x.test> & Co > all", datetime(2026, 1, 1), 0],
        [4, "bell\x07 and form feed\x0c, tab\tand\nline", None, 12.5],
        [5, "  leading and trailing spaces  ", None, -3],
        [6, "x" * 40_000, None, None],
        [7, "_x0041_ is no code here", None, None],
        [8, "", None, None],
    ]
    data = b"".join(xlsx_stream(columns, rows, "Tickets"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    # 32-bit zip entries: Excel refuses ZIP64 markers on parts that do not need them
    assert all(part.extract_version < 45 for part in archive.infolist())
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["Tickets"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("ID", "Subject", "Created (Asia/Kolkata)", "Minutes")
    assert values[1] == (1, "यात्री का कमरा नहीं मिला", datetime(2026, 12, 1, 15, 30), 45)
    assert values[2][1] == "'=HYPERLINK(\"http://evil\")"
    assert values[3] == (3, "Tom <tom@x.test> & Co > all", datetime(2026, 1, 1), 0)
    assert values[4][1:] == ("bell\ufffd and form feed\ufffd, tab\tand\nline", None, 12.5)  # (XML forbids them)
    assert values[5][1] == "  leading and trailing spaces  " and values[5][3] == -3
    assert values[6][1] == "x" * 32_767  # Excel's limit
    # Excel reads _xHHHH_ as a character's code: the underscore is escaped (which Excel undoes)
    assert values[7][1] == "_x005F_x0041_ is no code here"
    assert values[8] == (8, None, None, None)
    assert sheet["C2"].is_date and sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D9"
    assert sheet.column_dimensions["C"].width > sheet.column_dimensions["B"].width


def test_an_excel_file_without_rows_has_its_header_and_no_filter():
    data = b"".join(xlsx_stream([Column("ID", NUMBER), Column("Subject")], [], "Tickets: [all]"))
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.title == "Tickets   all" and sheet.auto_filter.ref is None  # ([]: not in a sheet's name)
    assert list(sheet.iter_rows(values_only=True)) == [("ID", "Subject")]


@pytest.mark.parametrize("index, letters", [
    (0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (701, "ZZ"), (702, "AAA"), (16383, "XFD")])
def test_column_letters(index, letters):
    assert exports.column_letter(index) == letters


@pytest.mark.parametrize("role, hidden_ones", [
    ("agent_unrelated", {"cast", "hidden", "resolved"}),  # only the one they are assigned to
    ("agent_assigned", {"hidden", "resolved"}),
    ("lead_other_team", {"cast", "formula", "resolved"}),
    ("lead_same_team", {"hidden"}),
])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_holds_only_the_tickets_its_person_may_see(app, listed, client_for, role, hidden_ones, fmt):
    people, ids = listed
    response = client_for(people[role]).get(f"/tickets/export?format={fmt}", buffered=True)
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    assert sorted(ids_of(rows)) == sorted(pk for name, pk in ids.items() if name not in hidden_ones)
    if "hidden" in hidden_ones:
        assert "Secret" not in str(rows)


def test_the_lists_filters_search_and_sort_are_honoured(app, listed, client_for):
    people, ids = listed
    client = client_for(people["admin"])
    view = "TicketModelView"
    rows = read_csv(client.get(f"/tickets/export?format=csv&_flt_0_status=Open&_flt_0_team=1"
                               f"&_oc_{view}=priority&_od_{view}=desc", buffered=True))
    team_one = db.session.get(Ticket, ids["cast"]).team_id
    expected = [ids["formula"], ids["cast"]] if team_one == 1 else [ids["hidden"]]
    assert ids_of(rows) == expected  # Urgent before High, Resolved left out
    rows = read_csv(client.get("/tickets/export?format=csv&search=GOA-3", buffered=True))
    assert ids_of(rows) == [ids["resolved"]]
    rows = read_csv(client.get(f"/tickets/export?format=csv&_oc_{view}=id&_od_{view}=asc&page_{view}=1&psize_{view}=25", buffered=True))
    assert ids_of(rows) == sorted(ids.values())  # every page, whatever page the list was on


def test_a_queue_and_a_saved_view_export_what_they_list(app, listed, client_for):
    from app.tickets.queues import QUEUES

    people, ids = listed
    client = client_for(people["agent_assigned"])
    my_open = next(q for q in QUEUES if q.key == "my_open")
    listed_page = client.get(my_open.href).get_data(as_text=True)
    rows = read_csv(client.get("/tickets/export?format=csv&" + my_open.href.split("?", 1)[1], buffered=True))
    assert sorted(ids_of(rows)) == sorted([ids["cast"], ids["formula"]])
    for pk in ids_of(rows):
        assert f'data-id="{pk}"' in listed_page
    saved = client.post(f"{VIEWS}/save", data={"name": "Urgent ones", "query": "_flt_0_priority=Urgent"})
    assert saved.status_code == 302
    view = db.session.scalars(select(SavedView)).one()
    view_url = client.get(f"{VIEWS}/{view.id}/open").headers["Location"]
    rows = read_csv(client.get("/tickets/export?format=csv&" + view_url.split("?", 1)[1], buffered=True))
    assert ids_of(rows) == [ids["formula"]]


def test_the_list_offers_the_export_buttons_with_its_own_arguments(app, listed, client_for):
    people, _ids = listed
    page = client_for(people["agent_assigned"]).get("/tickets/list/?_flt_0_priority=Urgent&page_TicketModelView=0")
    html = page.get_data(as_text=True)
    assert 'href="/tickets/export?_flt_0_priority=Urgent&amp;format=csv" id="export-csv"' in html
    assert 'href="/tickets/export?_flt_0_priority=Urgent&amp;format=xlsx" id="export-xlsx"' in html


def test_over_the_cap_nothing_is_exported_and_the_list_says_why(app, listed, client_for, monkeypatch):
    people, _ids = listed
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 3)
    client = client_for(people["admin"])
    response = client.get("/tickets/export?format=csv&_flt_0_team=1&_flt_0_team=2", buffered=True)
    assert response.status_code == 302
    assert response.headers["Location"] == "/tickets/list/?_flt_0_team=1&_flt_0_team=2"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This list has 4 tickets; an export holds at most 3. Nothing was exported" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "export")) is None
    assert read_csv(client.get("/tickets/export?format=csv&_flt_0_priority=Urgent", buffered=True))  # 1 row: under the cap


def test_an_unknown_format_is_refused_by_name(app, listed, client_for):
    people, _ids = listed
    client = client_for(people["admin"])
    response = client.get("/tickets/export?format=pdf", buffered=True)
    assert response.status_code == 302
    assert "Export format: choose CSV or Excel" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_each_export_is_on_the_audit_log(app, listed, client_for):
    people, ids = listed
    read_csv(client_for(people["lead_same_team"]).get("/tickets/export?format=csv&_flt_0_status=Open", buffered=True))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "export")).one()
    assert event.actor_id == people["lead_same_team"].id and event.object_type == "ticket"
    assert event.details == {"format": "csv", "filters": "_flt_0_status=Open", "rows": 2}


def test_exporting_needs_the_export_permission(app, listed, client_for):
    from app.security import role_permissions

    roles = role_permissions(app.appbuilder.sm)
    assert ("can_export", "TicketModelView") in roles["Agent"] and ("can_export", "TicketApi") in roles["Lead"]
    anonymous = app.test_client().get("/tickets/export?format=csv", buffered=True)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


# --- the API ----------------------------------------------------------------------------------
def api_export(app, token: str, fmt: str, q=None):
    query = f"/api/v1/ticket/export?format={fmt}"
    if q is not None:
        query += "&q=" + (q if isinstance(q, str) else prison.dumps(q))
    return app.test_client().get(query, headers={"Authorization": f"Bearer {token}"}, buffered=True)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_api_export_honours_q_and_visibility(app, listed, token_for, fmt):
    people, ids = listed
    read = read_csv if fmt == "csv" else read_xlsx
    agent = token_for(people["agent_assigned"])
    assert sorted(ids_of(read(api_export(app, agent, fmt)))) == sorted([ids["cast"], ids["formula"]])
    q = {"filters": [{"col": "priority", "opr": "eq", "value": "Urgent"}]}
    assert ids_of(read(api_export(app, agent, fmt, q))) == [ids["formula"]]
    admin = token_for(people["admin"])
    rows = read(api_export(app, admin, fmt, {"order_column": "id", "order_direction": "desc"}))
    assert ids_of(rows) == sorted(ids.values(), reverse=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "export").order_by(AuditEvent.id)).all()[-1]
    assert event.details == {"format": fmt, "filters": "(order_column:id,order_direction:desc)", "rows": 4}


def test_api_export_refusals_are_400_with_a_message(app, listed, token_for, monkeypatch):
    people, _ids = listed
    admin = token_for(people["admin"])
    response = api_export(app, admin, "pdf")
    assert response.status_code == 400 and response.json["message"] == "format: csv or xlsx"
    response = api_export(app, admin, "csv", {"page": 2})
    assert response.status_code == 400 and "unknown key page" in response.json["message"]
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 2)
    response = api_export(app, admin, "csv")
    assert response.status_code == 400
    assert response.json["message"].startswith("4 tickets match; an export holds at most 2. Nothing was exported")
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "export")) is None
    assert app.test_client().get("/api/v1/ticket/export?format=csv").status_code == 401


def test_the_api_export_is_in_the_openapi_document(app, listed, token_for):
    people, _ids = listed
    spec = app.test_client().get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token_for(people['admin'])}"}).json
    operation = spec["paths"]["/api/v1/ticket/export"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"format", "q"}
    assert "page" not in spec["components"]["schemas"]["TicketApi.export.q"]["properties"]


# --- the outbox ---------------------------------------------------------------------------------
def test_notifications_export_is_for_admins_and_follows_the_list(app, listed, client_for):
    people, ids = listed
    states = {row.id: row.state for row in db.session.scalars(select(Notification))}
    assert states, "creating tickets queued emails"
    db.session.query(Notification).filter(Notification.ticket_id == ids["formula"]).update(
        {"state": "failed", "last_error": "=cmd|' /C calc'!A0"})
    db.session.commit()
    admin = client_for(people["admin"])
    page = admin.get("/notifications/list/").get_data(as_text=True)
    assert 'href="/notifications/export?format=csv" id="export-csv"' in page
    rows = read_csv(admin.get("/notifications/export?format=csv&_flt_0_state=failed", buffered=True))
    assert rows and {row["State"] for row in rows} == {"failed"}
    assert {int(row["Ticket"]) for row in rows} == {ids["formula"]}
    assert rows[0]["Last error"] == "'=cmd\\|' /C calc'!A0"
    every = read_xlsx(admin.get("/notifications/export?format=xlsx&_oc_NotificationModelView=id&_od_NotificationModelView=asc",
                                buffered=True))
    assert [row["ID"] for row in every] == sorted(states)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "notification")
                               .order_by(AuditEvent.id)).first()
    assert event.details == {"format": "csv", "filters": "_flt_0_state=failed", "rows": len(rows)}
    for role in ("lead_same_team", "agent_assigned"):
        client = client_for(people[role])
        refused = client.get("/notifications/export?format=csv", buffered=True)
        assert refused.status_code == 403 and refused.mimetype != "text/csv"
    kinds = [e.details["format"] for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "notification").order_by(AuditEvent.id))]
    assert kinds == ["csv", "xlsx"]  # the refusals left no event


# --- no statement per row ---------------------------------------------------------------------
def test_an_exports_statements_do_not_grow_with_its_rows(app, cast, make_ticket, client_for, monkeypatch):
    """Statements per export do not depend on the rows but on the batches of the cursor: assignees
    and comment counts come per batch (a thousand rows; ten here), two statements each."""
    from app.reports import export as exports
    from tests.test_queries import count_statements

    people, ticket = cast
    client = client_for(people["admin"])
    url = "/tickets/export?format=csv&_flt_0_booking_id=GOA-7781"

    def statements() -> int:
        with count_statements() as seen:
            rows = read_csv(client.get(url, buffered=True))
        return len(seen), len(rows)

    for _n in range(2):
        make_ticket(people["agent_creator"], INTL, assignees=[people["agent_assigned"]], booking_id="GOA-7781")
    few, rows = statements()
    assert rows == 3
    monkeypatch.setattr(exports, "BATCH", 10)  # ten rows a batch: 1,203 rows would need 20,000 tickets
    db.session.execute(Ticket.__table__.insert(), [
        dict(subject=f"Bulk {n}", booking_id="GOA-7781", team_id=ticket.team_id, priority="Low", status="Open",
             created_by_id=people["agent_creator"].id, created_at=ticket.created_at, updated_at=ticket.updated_at,
             version=1, resolve_paused_minutes=0, escalation_level=0, sla_cycle=1)
        for n in range(27)
    ])
    db.session.commit()
    many, rows = statements()
    assert rows == 30
    assert many == few + 2 * 2  # three batches of ten instead of one: two more pairs


# --- in the browser ---------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1280])
def test_the_export_buttons_are_in_view_and_download_the_list(live_server, listed, width):
    from tests.test_browser import SCREENSHOTS, chromium_page, log_in, visit

    people, ids = listed
    with chromium_page(live_server) as page:
        log_in(page, people["agent_assigned"].email)
        page.set_viewport_size({"width": width, "height": 844})
        visit(page, "/tickets/list/?_flt_0_priority=Urgent")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for fmt in ("csv", "xlsx"):
            button = page.locator(f"#export-{fmt}")
            assert button.is_visible()
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"ticket-list-export-{width}.png"), full_page=False)
        with page.expect_download() as download:
            page.click("#export-csv")
        assert download.value.suggested_filename.startswith("tickets-20")
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(BOM.encode("utf-8"))
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8")[1:])))
        assert ids_of(rows) == [ids["formula"]]
