"""The alert policy as people write and change it: the SLO file, runtime overrides and silences in ClickHouse, the
policy in words, the recommended models, baselines. Imports the floors below it."""
