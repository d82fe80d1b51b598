"""Ticket domain rules: visibility, validation, status workflow, history, search.

No Flask views here; views and APIs call these so both follow the same rules.
"""
