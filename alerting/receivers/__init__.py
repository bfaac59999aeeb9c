"""Where notifications go: each receiver kind (Slack webhook, Slack app, PagerDuty, Alertmanager-format webhook), their
message formats, what each receiver has of each incident, and a tick's sends. Imports alerting.delivery (the words of
the messages, claims), alerting.incidents and alerting.rules."""
