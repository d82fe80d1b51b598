"""All comments I may see, searchable (read-only: comments are added on the ticket page)."""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l

from ..models import Comment
from ..tickets.visibility import CommentVisibilityFilter
from .base import CappedCountInterface, RowScopedActionsMixin, format_local
from .widgets import person_filter


class CommentModelView(RowScopedActionsMixin, ModelView):
    route_base = "/comments"
    datamodel = CappedCountInterface(Comment)
    base_permissions = ["can_list", "can_show"]
    base_filters = [["id", CommentVisibilityFilter, lambda: None]]
    base_order = ("created_at", "desc")
    page_size = 25
    list_title = _l("Comments")
    show_title = _l("Comment")
    label_columns = {"ticket": _l("Ticket"), "author": _l("Author"), "body": _l("Comment"), "created_at": _l("Time")}
    list_columns = ["ticket", "author", "body", "created_at"]
    show_columns = ["ticket", "author", "body", "created_at"]
    search_columns = ["body", "author", "created_at"]
    formatters_columns = {"created_at": format_local}
    search_form_extra_fields = {"author": person_filter(_l("Author"))}
    list_template = "list_with_person_filters.html"
