"""Service levels: business calendars and working time (pure), later policies, due times and the escalation ladder."""
