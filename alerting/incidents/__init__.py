"""Incidents and what holds them back: transitions (open, re-open, escalate, resolve), a minute's judgement, silences,
the alert log's rows, an SLO's state. Pure; imports alerting.rules."""
