"""Bounds shared by the screens and the REST API, defined once."""
from __future__ import annotations

# Ids and numbers must fit a BIGINT: beyond it SQLite raises OverflowError, PostgreSQL an error.
INT64 = 2 ** 63
# The highest page number a list accepts (screens clamp to it, the API refuses beyond it).
MAX_PAGE = 10 ** 6
# Rows on one page, screens and API alike.
MAX_PAGE_SIZE = 100
