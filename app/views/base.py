"""What every ModelView of ours shares."""
from __future__ import annotations

from flask import abort, request
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select


def format_utc(value) -> str:
    """Times are stored as naive UTC; show them to the minute and say so."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


class RowScopedActionsMixin:
    """FAB's action routes load rows by primary key without base_filters.

    Here rows go through the view's base filters like show/edit/delete do; an
    unknown action or a row outside the filters answers 404, and GET never acts.
    """

    def _scoped_items(self, pks: list[str]):
        items = [
            self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
            for pk in pks
        ]
        if not items or any(item is None for item in items):
            abort(404)
        return items

    def _run_action(self, name: str, pks: list[str], single: bool):
        action = self.actions.get(name)
        if action is None:
            abort(404)
        if not self.appbuilder.sm.has_access(
            self.get_action_permission_name(name), self.class_permission_name
        ):
            abort(403)
        items = self._scoped_items(pks)
        # As in FAB: the per-row route passes one item, the bulk route a list.
        return action.func(items[0] if single else items)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        if request.method != "POST":
            abort(405)
        return self._run_action(name, [pk], single=True)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        return self._run_action(request.form.get("action", ""), request.form.getlist("rowid"), single=False)


class AtLeast(int):
    """A row count that stopped counting: it pages like an int and reads "10,000+"."""

    def __str__(self) -> str:
        return f"{int(self):,}+"


class CappedCountInterface(SQLAInterface):
    """Counts a list's rows only as far as a person can page, and not at all on the last page.

    FAB counts every matching row for "Record Count" and the pager; on a million tickets
    that count is most of the list page's time. Counting stops at `count_cap` rows, or a few
    pages past the one shown, so the pager always offers the next pages. A page that comes
    back short is the last one: its rows give the count (a search usually ends there).
    """

    count_cap = 10_000
    pages_ahead = 4

    def query(self, filters=None, order_column="", order_direction="", page=None, page_size=None,
              select_columns=None, outer_default_load=False):
        if select_columns:  # (not used by our list pages) FAB's own way
            rows = self.apply_all(
                self.session.query(self.obj), filters, order_column, order_direction, page, page_size,
                select_columns, outer_default_load,
            ).all()
            rows = [getattr(row, self.obj.__name__, row) for row in rows]
        else:
            rows = self._page_rows(filters, order_column, order_direction, page, page_size)
        page = page or 0
        if page_size and len(rows) < page_size and (rows or page == 0):
            count = page * page_size + len(rows)
        else:
            limit = max(self.count_cap, (page + 1 + self.pages_ahead) * (page_size or 0))
            count = self._capped_count(filters, select_columns, limit)
        return count, rows

    def _page_rows(self, filters, order_column, order_direction, page, page_size) -> list:
        """The page's rows by a deferred join: first the ids of the page, filtered, ordered and
        paginated from indexes alone (ids and updated_at are in covering indexes, migration
        0006), then the full rows of those ids only. Selecting full rows directly makes the
        database fetch every matching row (an agent's 2,000) to sort them for the newest 25."""
        page_ids = self._apply_inner_all(
            self.session.query(self.obj.id), filters, order_column, order_direction, page, page_size,
            aliases_mapping={},
        ).subquery()
        query = self.session.query(self.obj).filter(self.obj.id.in_(select(page_ids.c.id)))
        return self.apply_order_by(query, order_column, order_direction, aliases_mapping={}, add_pk=True).all()

    def _capped_count(self, filters, select_columns, limit: int) -> int:
        matching = self._apply_inner_all(
            self.session.query(self.obj), filters, select_columns=select_columns, aliases_mapping={}
        )
        found = matching.limit(limit + 1).count()
        return AtLeast(limit) if found > limit else found
