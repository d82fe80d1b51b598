"""What every ModelView of ours shares."""
from __future__ import annotations

from flask import abort, request
from flask_appbuilder import expose


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
