"""What every ModelView of ours shares."""
from __future__ import annotations

import re
from typing import Optional

from flask import abort, current_app, flash, g, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

from ..limits import INT64, MAX_PAGE, MAX_PAGE_SIZE
from ..sla.display import display_time

# FAB finds its list arguments anywhere in a key (re.findall("page_(.*)", key)): so do we.
_LIST_ARG = re.compile(r"(?P<kind>_oc|_od|psize|page)_(?P<view>.*)")


def format_local(value) -> str:
    """A stored (naive UTC) time as people read it: in DISPLAY_TIMEZONE, to the minute, with the
    zone's abbreviation ("03 Dec 2026 20:35 IST"). The one formatter of every screen and email
    (templates call it as the `local_time` filter)."""
    return display_time(value)


def _whole_number(text: str, low: int, high: int):
    """`text` as an int clamped to [low, high], or None when it is not a whole number."""
    text = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,30}", text):
        return None
    return min(max(int(text), low), high)


def sanitize_list_args():
    """FAB's list views read `page_<View>`, `psize_<View>` and `_oc_<View>` from the query string
    with int() and no bounds, for every view, its own security screens included: a word answered
    500, and `psize=1000000` rendered a million rows into one page. Before any view runs, each is
    made safe: a page number clamped to 0..MAX_PAGE, a page size to 1..MAX_PAGE_SIZE, an order
    column kept only when the named view lists it as sortable (FAB sorted users by password
    hash when asked); anything that is not a number is dropped (the view's default). A `<pk>` in
    the path beyond 64 bits is no row: 404, not an integer overflow in the database."""
    pk = (request.view_args or {}).get("pk")  # a string, or an int from an `<int:pk>` route
    if isinstance(pk, str) and pk.lstrip("-").isdigit():
        pk = int(pk)
    if isinstance(pk, int) and not -INT64 <= pk < INT64:
        abort(404)
    if not any(_LIST_ARG.search(key) for key in request.args):
        return
    views = {type(view).__name__: view for view in current_app.appbuilder.baseviews}
    cleaned = []
    for key, value in request.args.items(multi=True):
        match = _LIST_ARG.search(key)
        if match:
            kind, view = match.group("kind"), match.group("view")
            if kind == "page":
                value = _whole_number(value, 0, MAX_PAGE)
            elif kind == "psize":
                value = _whole_number(value, 1, MAX_PAGE_SIZE)
            elif kind == "_oc":
                value = value if value in getattr(views.get(view), "order_columns", ()) else None
            elif value not in ("asc", "desc"):
                value = None
            if value is None:
                continue
        cleaned.append((key, str(value)))
    request.args = ImmutableMultiDict(cleaned)


class RowScopedActionsMixin:
    """FAB's action routes load rows by primary key without base_filters.

    Here rows go through the view's base filters like show/edit/delete do; an
    unknown action or a row outside the filters answers 404, and GET never acts: not on
    actions, not on delete (FAB answered a GET delete with a redirect, for every id alike).
    """

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        if request.method != "POST":
            abort(405, valid_methods=["POST"])
        return super().delete(pk)

    # The most rows one action takes: a list page holds at most MAX_PAGE_SIZE.
    max_action_rows = MAX_PAGE_SIZE

    def _scoped_items(self, pks: list[str]) -> list:
        """The selected rows, in the order given, from ONE query through the view's base
        filters. Anything but distinct whole numbers of at most `max_action_rows` rows, or a
        row the filters leave out, answers 404 before anything is changed: a row one may
        not see is never touched, nor told apart from a row that does not exist."""
        ids = []
        for pk in pks:
            text = (pk or "").strip()
            if not re.fullmatch(r"\d{1,19}", text) or int(text) >= INT64:
                abort(404)
            ids.append(int(text))
        if not ids or len(set(ids)) != len(ids) or len(ids) > self.max_action_rows:
            abort(404)
        datamodel = self.datamodel
        column = getattr(datamodel.obj, datamodel.get_pk_name())
        query = datamodel.apply_filters(datamodel.session.query(datamodel.obj).filter(column.in_(ids)),
                                        self._base_filters)
        found = {getattr(item, datamodel.get_pk_name()): item for item in query}
        if len(found) != len(ids):
            abort(404)
        return [found[pk] for pk in ids]

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


class KeepTypedOnRefusalMixin:
    """Nothing typed is lost when a save is refused.

    FAB's edit flashes the message of a save refused by `pre_update` (a version conflict, a
    change that would move the ticket out of the editor's sight) and redirects: what the person
    had typed was gone. Here the edit form comes back with what was sent, the message above it,
    answered 409 for a conflict (an error's `http_status`) or 422. `refused_form(form, item,
    error)` lets a view adjust the form (say, to the version now stored) or the message.
    Everything else, GET and an invalid form included, stays FAB's own `_edit`.
    """

    def refused_form(self, form, item, error: Exception) -> None:
        """Adjust the form shown again after a refusal (the default: as sent)."""

    def _edit(self, pk):
        if request.method != "POST":
            return super()._edit(pk)
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        form = self.edit_form.refresh(request.form)
        self._fill_form_exclude_cols(exclude_cols, form)
        form._id = self.datamodel.get_pk_value(item)  # FAB's trick to pass unique validation
        if not form.validate():
            return self._get_edit_widget(form=form, exclude_cols=exclude_cols)  # FAB's own errors
        self.process_form(form, False)
        try:
            form.populate_obj(item)
            self.pre_update(item)
        except Exception as exc:  # as FAB: whatever pre_update raises is the message
            self.datamodel.session.rollback()  # the populated item is not saved by accident
            self.refused_form(form, item, exc)
            flash(str(exc), "danger")
            g.refused_status = getattr(exc, "http_status", 422)
            return self._get_edit_widget(form=form, exclude_cols=exclude_cols)
        try:
            self.datamodel.edit(item)
            self.post_update(item)
            flash(self.edit_row_message, "success")
        except Exception:
            flash(self.database_error_message, "danger")
        return None

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        answer = super().edit(pk)
        status = g.pop("refused_status", None)
        return (answer, status) if status else answer


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
        return self.count_around(filters, len(rows), page, page_size, select_columns), rows

    def count_around(self, filters, shown: int, page: Optional[int], page_size: Optional[int],
                     select_columns=None) -> int:
        """The count for a page that came back with `shown` rows: a short page is the last one
        and its own count; otherwise count, capped."""
        page = page or 0
        if page_size and shown < page_size and (shown or page == 0):
            return page * page_size + shown
        limit = max(self.count_cap, (page + 1 + self.pages_ahead) * (page_size or 0))
        return self._capped_count(filters, select_columns, limit)

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
