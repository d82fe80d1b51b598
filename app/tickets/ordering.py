"""Sorting tickets the way people mean it."""
from __future__ import annotations


class SeverityOrder:
    """A datamodel mixin: ordering by `priority` sorts by severity (Urgent > High > Medium > Low),
    not alphabetically, in the list and the API alike (Ticket.priority_rank)."""

    def apply_order_by(self, query, order_column: str, order_direction: str, *args, **kwargs):
        if order_column == "priority":
            order_column = "priority_rank"
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)
