"""What incidents say and who may say it: Slack messages, grouping, o11y's own pages (stale data, paging turned down),
claims and markers in Redis, the heartbeat. Imports alerting.incidents and alerting.rules."""
