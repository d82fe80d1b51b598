"""Msgids of values stored in the database and translated only when shown.

The ticket templates render a status, a priority and a history field name with
`_(value)`, which pybabel cannot see; listing them here keeps them in
messages.pot. This module is read by pybabel (see babel.cfg), never imported.
"""


def N_(message: str) -> str:
    return message


STATUSES = [N_("Open"), N_("In Progress"), N_("Waiting"), N_("Resolved")]
PRIORITIES = [N_("Low"), N_("Medium"), N_("High"), N_("Urgent")]
HISTORY_FIELDS = [N_("Created"), N_("Status"), N_("Assignees")]
