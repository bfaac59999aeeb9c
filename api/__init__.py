"""Reading it back (`o11y api`): the read and policy JSON API, read-only SQL and the pages under /ui/. Imports
alerting/, storage/, schemas/ and runtime/."""
