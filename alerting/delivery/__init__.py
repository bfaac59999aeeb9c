"""Getting incidents to people: Slack messages, grouping, o11y's own pages (stale data, paging turned down), claims
and markers in Redis, the webhooks, the heartbeat. Imports alerting.incidents and alerting.rules."""
