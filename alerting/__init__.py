"""SLO alerting: what trips, incidents, delivery to people, the policy, the evaluation tick, the backtest and the `o11y
alert` process, one sub-package each, on floors (each imports only the ones below it: see
tests/o11y/test_package_direction.py). Imports storage/, schemas/ and runtime/."""
