"""The `o11y alert` process: the app factory, the scheduler with its lease, the metrics.

The top of alerting/: imports every floor below."""
