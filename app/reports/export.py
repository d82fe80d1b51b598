"""Exports of a list to CSV or Excel: every row the list shows (all pages), streamed.

A list hands over its own query (filters, search, sort, the visibility rule: nothing is rebuilt
here) and the columns; this module counts first (EXPORT_MAX_ROWS: over it, nothing is sent and
the caller says why), then streams:

- CSV: the standard library's writer, UTF-8 with a byte-order mark (Excel then reads Hindi and
  accents), flushed in chunks of about 64 KB as rows arrive: the first bytes leave at once.
- XLSX: written here as it streams (see "the Excel file" below): the standard library's zipfile
  compresses the sheet's XML row by row, its strings inline, into chunks of about 64 KB; the
  first bytes leave at once, as CSV's, and nothing accumulates (no temporary file, no shared
  strings). A bold, frozen header row with a filter; times as dates, numbers as numbers.

Rows come from a server-side cursor (`yield_per`): memory stays flat whatever the count.
Times are in DISPLAY_TIMEZONE, the zone named in each time column's header; cells that a
spreadsheet would read as a formula are escaped (`escape_cell`).
"""
from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Optional, Sequence
from zoneinfo import ZoneInfo

from flask import Response, current_app, stream_with_context
from sqlalchemy import func, text

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
MIME_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"
CHUNK = 64 * 1024
BATCH = 2500  # rows fetched per round trip from the server-side cursor
# zlib's level for the Excel file's parts. At 6 (zlib's default) a ticket row takes 26 µs to write
# and 150 bytes of file; at 1, 18 µs and 190 bytes.
XLSX_COMPRESSION = 6

TEXT, NUMBER, TIME = "text", "number", "time"

# A cell a spreadsheet would evaluate: it starts with = + - @ | % (or with spaces, or two double
# quotes, before one of them), or with a tab or a carriage return. Such a cell gets a leading
# apostrophe (shown as text, hidden by most spreadsheets) and its pipes a backslash, as Apache
# Superset's escape_value does; a plain negative number is left alone.
_FORMULA_START = re.compile(r'^(?:"{2}|\s+)(?=[-@+|=%])|^[-@+|=%\t\r]')
_NEGATIVE_NUMBER = re.compile(r"^-[0-9.]+$")


def escape_cell(value: str) -> str:
    """`value` as a spreadsheet shows it literally (see _FORMULA_START)."""
    if value and _FORMULA_START.match(value) and not _NEGATIVE_NUMBER.match(value):
        return "'" + value.replace("|", "\\|")
    return value


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT  # TEXT, NUMBER or TIME (stored naive UTC, written in DISPLAY_TIMEZONE)


class LocalTimes:
    """Stored naive UTC instants as naive local wall-clock times in `zone`. The zone's offset
    is looked up once per UTC hour seen (a hundred thousand rows span a few thousand hours)."""

    def __init__(self, zone: str):
        self.zone = ZoneInfo(zone)
        self._offsets: dict[int, timedelta] = {}

    def __call__(self, value: Optional[datetime]) -> Optional[datetime]:
        if value is None:
            return None
        hour = (value.toordinal() * 24) + value.hour
        offset = self._offsets.get(hour)
        if offset is None:
            offset = value.replace(tzinfo=timezone.utc).astimezone(self.zone).utcoffset()
            self._offsets[hour] = offset
        return value + offset


def time_header(header: str) -> str:
    return f"{header} ({current_app.config['DISPLAY_TIMEZONE']})"


def file_name(stem: str, fmt: str) -> str:
    """e.g. tickets-2026-12-03.csv, the date in DISPLAY_TIMEZONE."""
    today = datetime.now(ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])).date()
    return f"{stem}-{today.isoformat()}.{fmt}"


# --- writers --------------------------------------------------------------------------------
class _Chunks:
    """A file-like sink for csv.writer that hands out what was written since the last take."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        self.size = 0
        return data


_RISKY_FIRST = frozenset("=+-@|%\t\r \"")  # a cell starting otherwise needs no regex


def csv_stream(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """Rows whose TIME cells are already local (see local_time). The per-row loop is kept tight:
    most cells are copied as they are, and only those that can need it are touched."""
    sink = _Chunks()
    writer = csv.writer(sink)
    sink.write(BOM)
    writer.writerow([escape_cell(column.header) for column in columns])
    texts = [index for index, column in enumerate(columns) if column.kind == TEXT]
    times = [index for index, column in enumerate(columns) if column.kind == TIME]
    risky, escape, take, writerow = _RISKY_FIRST, escape_cell, sink.take, writer.writerow
    yield take()  # the first bytes (headers and the column names) leave at once
    for row in rows:
        cells = list(row)
        for index in times:
            value = cells[index]
            if value is not None:
                cells[index] = value.isoformat(" ", "minutes")
        for index in texts:
            value = cells[index]
            if value and value[0] in risky:
                cells[index] = escape(value)
        writerow(cells)  # (None is written as an empty cell)
        if sink.size >= CHUNK:
            yield take()
    if sink.size:
        yield take()


# --- the Excel file ---------------------------------------------------------------------------
# An XLSX file is a zip of XML parts. The small fixed parts go first, then the sheet, row by row
# (strings inline: no shared-strings table, so nothing piles up), then the workbook part, which
# names the filter's range once the last row is known. zipfile writes to a stream it cannot seek
# in by putting each entry's sizes and checksum after its data, so compressed bytes leave as
# they are made. The entries stay 32-bit zip (no force_zip64): Excel is known to refuse a file
# whose parts carry ZIP64 markers they do not need, and a streamed part's size is not known ahead.
# The sheet's XML must then stay under 4 GiB (a ticket row is about 1.3 KB of it: some three
# million rows), past which zipfile stops with an error.
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = _XML + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>")
_ROOT_RELS = _XML + (
    f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = _XML + (
    f'<Relationships xmlns="{_PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
# Cell styles: 0 plain, 1 bold (the header row), 2 a date and time.
_STYLES = _XML + (
    f'<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")
# The header row frozen above the rows as they scroll.
_SHEET_VIEW = (
    '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
_SHEET_END = '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'

MAX_CELL_TEXT = 32_767  # Excel's limit on a cell's characters
# Excel's dates are days since 1900 counting a 29 February 1900 that never was: from March 1900
# on, days since 30 December 1899.
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DAY = timedelta(days=1)
# What a text cell's XML cannot hold as it is: markup, characters XML 1.0 forbids (control
# characters but tab and line breaks, non-characters, lone surrogates), and Excel's own escape
# _xHHHH_ (whose underscore is then escaped, or Excel would read it as a character code).
_XML_SPECIAL = re.compile(r"[&<>_\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_OOXML_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_SPACE = frozenset(" \t\n\r")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def column_letter(index: int) -> str:
    """The spreadsheet's name of the 0-based column `index`: A … Z, AA … AZ, BA …"""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _inline_text(value: str) -> str:
    """A text cell's <is> element: cut to Excel's limit, escaped for XML; leading or trailing
    spaces kept (Excel drops them unless told)."""
    if len(value) > MAX_CELL_TEXT:
        value = value[:MAX_CELL_TEXT]
    if _XML_SPECIAL.search(value):
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        value = _OOXML_ESCAPE.sub("_x005F_", _XML_ILLEGAL.sub("\ufffd", value))
    if value[0] in _SPACE or value[-1] in _SPACE:
        return f'<is><t xml:space="preserve">{value}</t></is>'
    return f"<is><t>{value}</t></is>"


def _sheet_name(name: str) -> str:
    """`name` as Excel accepts a sheet's: 31 characters, none of []:*?/\\, no quote at either end."""
    return _SHEET_NAME_FORBIDDEN.sub(" ", name)[:31].strip("'").strip() or "Sheet1"


def _workbook(sheet: str, last_cell: Optional[str]) -> str:
    """The workbook part: its one sheet and, when it has rows, the filter's range (A1 to
    `last_cell`, e.g. $AG$101) under the name Excel gives it."""
    name = sheet.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    names = ""
    if last_cell:
        quoted = name.replace("'", "''")
        names = (f'<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                 f"'{quoted}'!$A$1:{last_cell}</definedName></definedNames>")
    return _XML + (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
        f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>{names}</workbook>')


class _ZipSink:
    """The non-seekable file zipfile writes to: it keeps what was written since the last take."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _sheet_start(columns: Sequence[Column], letters: Sequence[str]) -> str:
    """The sheet's XML up to its first row: the frozen header, the columns' widths (14
    characters, 20 for times) and the bold header row."""
    widths = "".join(f'<col min="{number}" max="{number}" width="{20.7109375 if column.kind == TIME else 14.7109375}"'
                     ' customWidth="1"/>' for number, column in enumerate(columns, start=1))
    header = "".join(f'<c r="{letter}1" s="1" t="inlineStr">{_inline_text(escape_cell(column.header))}</c>'
                     for letter, column in zip(letters, columns))
    return (f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{_SHEET_VIEW}<cols>{widths}</cols>'
            f'<sheetData><row r="1">{header}</row>')


def xlsx_stream(columns: Sequence[Column], rows: Iterable[Sequence[Any]], sheet: str) -> Iterator[bytes]:
    """Rows whose TIME cells are already local, as one sheet: a bold, frozen header row with a
    filter, times as dates (yyyy-mm-dd hh:mm), numbers as numbers, text escaped (escape_cell).
    The first bytes leave before any row is read, then about every CHUNK compressed bytes. The
    per-row loop is kept tight, as csv_stream's."""
    sink = _ZipSink()
    letters = [column_letter(index) for index in range(len(columns))]
    plan = [(index, column.kind, letter) for index, (column, letter) in enumerate(zip(columns, letters))]
    risky, escape, inline, epoch, day = _RISKY_FIRST, escape_cell, _inline_text, _EXCEL_EPOCH, _DAY
    number = 1  # the sheet's last row so far (the header)
    # (Closed as they end, or when the download is dropped: then into the sink, never sent.)
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=XLSX_COMPRESSION) as book:
        for name, xml in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                          ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/styles.xml", _STYLES)):
            book.writestr(name, xml)
        with book.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(_sheet_start(columns, letters).encode("utf-8"))
            yield sink.take()  # the first bytes (the fixed parts, the sheet's start) leave at once
            pending: list[str] = []
            for number, row in enumerate(rows, start=2):
                n = str(number)
                cells = [f'<row r="{n}">']
                for index, kind, letter in plan:
                    value = row[index]
                    if value is None or value == "":
                        continue  # an empty cell: nothing to write
                    if kind == TEXT:
                        if value[0] in risky:
                            value = escape(value)
                        cells.append(f'<c r="{letter}{n}" t="inlineStr">{inline(value)}</c>')
                    elif kind == NUMBER:
                        cells.append(f'<c r="{letter}{n}"><v>{value}</v></c>')
                    else:  # a date: days since Excel's epoch
                        cells.append(f'<c r="{letter}{n}" s="2"><v>{(value - epoch) / day}</v></c>')
                cells.append("</row>")
                pending.append("".join(cells))
                if len(pending) == 100:  # (the compressor is fed in pieces of some 100 KB)
                    part.write("".join(pending).encode("utf-8"))
                    pending.clear()
                    if sink.size >= CHUNK:
                        yield sink.take()
            last = f"{letters[-1]}{number}"
            autofilter = f'<autoFilter ref="A1:{last}"/>' if number > 1 else ""
            part.write(("".join(pending) + f"</sheetData>{autofilter}{_SHEET_END}").encode("utf-8"))
        filtered = f"${letters[-1]}${number}" if number > 1 else None
        book.writestr("xl/workbook.xml", _workbook(_sheet_name(sheet), filtered))
    yield sink.take()  # the rest, and the zip's directory: where each part is, its size


def response(fmt: str, stem: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
             sheet: str = "Export") -> Response:
    """The streamed download. `rows` is consumed inside the request's context (its session)."""
    body = csv_stream(columns, rows) if fmt == CSV else xlsx_stream(columns, rows, sheet)
    answer = Response(stream_with_context(body), mimetype=MIME_TYPES[fmt])
    answer.headers["Content-Disposition"] = f'attachment; filename="{file_name(stem, fmt)}"'
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Accel-Buffering"] = "no"  # a proxy passes the chunks on as they come
    return answer


# --- counting, refusing, recording ----------------------------------------------------------
class TooManyRows(Exception):
    """More rows than EXPORT_MAX_ROWS: nothing is sent (never a silently cut file)."""

    def __init__(self, count: int, cap: int):
        super().__init__(count, cap)
        self.count, self.cap = count, cap


def count_rows(session, query, cap: int) -> int:
    """How many rows `query` (an ORM Query) gives, counting at most cap + 1 first; the exact
    count is taken only to name it in a refusal."""
    from sqlalchemy import func, select

    unordered = query.order_by(None)
    found = session.scalar(select(func.count()).select_from(unordered.limit(cap + 1).subquery()))
    if found <= cap:
        return found
    raise TooManyRows(session.scalar(select(func.count()).select_from(unordered.subquery())), cap)


def record_export(session, object_type: str, fmt: str, filters: str, rows: int) -> None:
    """The audit event, committed on its own before the first byte: an export that starts is on
    record whatever happens to the download."""
    from ..audit import record

    record("export", object_type=object_type, details={"format": fmt, "filters": filters, "rows": rows},
           session=session)
    session.commit()


def local_time(session, column):
    """`column` (naive UTC) as naive DISPLAY_TIMEZONE wall-clock time: converted by PostgreSQL
    in the statement; elsewhere left for `localize` to convert in Python."""
    if session.get_bind().dialect.name == "postgresql":
        zone = current_app.config["DISPLAY_TIMEZONE"]
        return func.timezone(zone, func.timezone("UTC", column))
    return column


def localize(session, rows: Iterable[list], columns: Sequence[Column]) -> Iterator[list]:
    """The TIME cells of `rows` made local, where the database did not (see local_time)."""
    if session.get_bind().dialect.name == "postgresql":
        yield from rows
        return
    local = LocalTimes(current_app.config["DISPLAY_TIMEZONE"])
    times = [index for index, column in enumerate(columns) if column.kind == TIME]
    for row in rows:
        row = list(row)
        for index in times:
            row[index] = local(row[index])
        yield row


def stream_rows(session, query):
    """`query` (an ORM Query of plain columns) on a server-side cursor, fetched BATCH rows at a
    time. PostgreSQL plans a cursor for its first tenth of rows by default (cursor_tuple_fraction):
    for a list sorted by one index and filtered by another it would walk the sort's index over the
    whole table; an export reads every row, so it is planned as the plain query is."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        # (and no JIT: compiling the statement took seconds, more than running it)
        session.execute(text("SET LOCAL jit = off"))
    return session.execute(query.statement, execution_options={"yield_per": BATCH})


def query_rows(session, query) -> Iterator[Sequence[Any]]:
    """The rows of `query` (an ORM Query of plain columns) from a server-side cursor."""
    result = stream_rows(session, query)
    for batch in result.partitions():
        yield from batch
    result.close()
