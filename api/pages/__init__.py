"""The pages under `/ui/`: one module per page, each a typed view model built by a pure function and a thin handler.

Owns the pages' handlers and view models (`overview`, `route`, `usage`, `agent_sessions`, `incidents`, `silence_forms`),
what they share once (`guard`: sign-in, error pages, admin forms; `render`: templates and headers; `context`; `links`),
what they read (`data`, `route_reads` and `session_reads`, with the read API's own queries) and how they draw (`series`,
`route_charts`, `svg`, `axis`, `formats`, `baseline_view`); signing in (`sign_in`). Templates read view-model fields only.

May import: alerting, schemas, runtime, and of `api` the read API's readers and question models (`status_api`,
`usage_api`, `usage_query`, `session_api`, `session_query`, `session_list`, `read_question`, `incidents_api`), auth and
sessions (`auth`, `sessions`, `session_revocations`), `responses` and `csv_text`. Only `api.app` imports this package:
the JSON API never depends on the pages.
"""
