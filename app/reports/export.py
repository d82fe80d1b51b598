"""Exports of a list to CSV or Excel: every row the list shows (all pages), streamed.

A list hands over its own query (filters, search, sort, the visibility rule: nothing is rebuilt
here) and the columns; this module counts first (EXPORT_MAX_ROWS: over it, nothing is sent and
the caller says why), then streams:

- CSV: the standard library's writer, UTF-8 with a byte-order mark (Excel then reads Hindi and
  accents), flushed in chunks of about 64 KB as rows arrive: the first bytes leave at once.
- XLSX: XlsxWriter in constant-memory mode (each row is written to a temporary file as it
  comes and forgotten), zipped into a temporary file when the last row is in, which is then
  streamed and deleted. An XLSX file is a zip whose directory comes last, so its first byte
  leaves once the workbook is complete.

Rows come from a server-side cursor (`yield_per`): memory stays flat whatever the count.
Times are in DISPLAY_TIMEZONE, the zone named in each time column's header; cells that a
spreadsheet would read as a formula are escaped (`escape_cell`).
"""
from __future__ import annotations

import csv
import os
import re
import tempfile
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


def xlsx_stream(columns: Sequence[Column], rows: Iterable[Sequence[Any]], sheet: str) -> Iterator[bytes]:
    import xlsxwriter

    handle, path = tempfile.mkstemp(prefix="deyor-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(path, {
            "constant_memory": True,  # rows go to a temporary file as they are written
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        })
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for index, column in enumerate(columns):
            worksheet.write_string(0, index, column.header, bold)
            worksheet.set_column(index, index, 20 if column.kind == TIME else 14)
        worksheet.freeze_panes(1, 0)
        write_string, write_number, write_datetime = (
            worksheet.write_string, worksheet.write_number, worksheet.write_datetime)
        kinds = [(index, column.kind) for index, column in enumerate(columns)]
        risky = _RISKY_FIRST
        number = 0
        for number, row in enumerate(rows, start=1):
            for index, kind in kinds:
                value = row[index]
                if value is None or value == "":
                    continue  # an empty cell: nothing to write
                if kind == TEXT:
                    write_string(number, index, escape_cell(value) if value[0] in risky else value)
                elif kind == NUMBER:
                    write_number(number, index, value)
                else:
                    write_datetime(number, index, value, when)
        if number:
            worksheet.autofilter(0, 0, number, len(columns) - 1)
        workbook.close()
        with open(path, "rb") as done:
            while data := done.read(CHUNK):
                yield data
    finally:
        os.unlink(path)


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
