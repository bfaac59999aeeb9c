"""The `o11y` command: one subcommand per process kind."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from runtime.settings import Settings
from storage.events import API_METRICS


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as err:
        lines = [f"invalid configuration: {_setting_name(e['loc'])}{e['msg'].removeprefix('Value error, ')}"
                 for e in err.errors()]
        sys.exit("\n".join(lines))


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes from 1 to 256")
    return int(text)


def _setting_name(loc: tuple[int | str, ...]) -> str:
    return f"O11Y_{str(loc[0]).upper()}: " if loc else ""


def cmd_schema(_: argparse.Namespace) -> int:
    from schemas.api_metrics import wire_json_schema

    print(json.dumps(wire_json_schema(), indent=2))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from o11y.serve import serve_ingest_workers
    from o11y.workers import worker_count

    settings = _settings()
    return serve_ingest_workers(settings, worker_count(args.workers or settings.workers))


def cmd_dev(args: argparse.Namespace) -> int:
    from o11y.dev import run_dev

    return run_dev(_settings(), demo=_incident(args) if args.demo else False)


def _incident(args: argparse.Namespace) -> Any:
    from o11y.demo_requests import INCIDENT_SECONDS, Incident

    if args.incident == "none":
        return None
    duration = args.incident_for if args.incident_for is not None else INCIDENT_SECONDS[args.incident]
    return Incident(kind=args.incident, start_s=args.incident_after, duration_s=duration)


def _demo_secrets(settings: Settings) -> dict[str, str]:
    """Secrets never go on a command line (every user of the machine can read it): an environment variable or the dev file."""
    import os

    raw = os.environ.get("O11Y_DEMO_SECRETS")
    if raw:
        try:
            secrets = json.loads(raw)
        except json.JSONDecodeError:
            sys.exit('O11Y_DEMO_SECRETS must be a JSON object of client name to secret, e.g. {"kilo-gateway": "…"}')
    else:
        path = settings.data_dir / "dev-clients.json"
        if not path.exists():
            sys.exit(f"no O11Y_DEMO_SECRETS and no {path}: start `o11y dev` first, or set O11Y_DEMO_SECRETS")
        secrets = json.loads(path.read_text())
    if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
        sys.exit("the demo secrets must map client names to secrets")
    return secrets


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio

    from o11y.demo import run_demo

    settings = _settings()
    secrets = _demo_secrets(settings)
    try:
        url = args.url if isinstance(args.url, str) else settings.local_url(settings.http_port)
        asyncio.run(run_demo(url, secrets, args.rate, args.duration, _incident(args)))
    except KeyboardInterrupt:
        pass
    return 0


class ConfiguredIngest:
    """`o11y demo --url`'s default, the ingest this machine's configuration names; read only when --help shows it (the
    command itself reads the settings once, and reports a bad one)."""

    def __str__(self) -> str:
        try:
            settings = Settings()
        except ValidationError:
            return "http://127.0.0.1:<O11Y_HTTP_PORT> (which is not valid now)"
        return settings.local_url(settings.http_port)


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--incident", choices=["errors", "slow", "slow-tokens", "queueing", "tool-errors", "none"],
                        default="errors",
                        help="errors: 20%% of anthropic/claude-sonnet-4.5's requests fail; slow: its answers take "
                        "16-46 s (a generation_speed page); slow-tokens: it generates at half speed, 36 -> 18 tokens/s "
                        "(a generation_speed page); "
                        "queueing: the reasoning model openai/gpt-5.2 waits five times as long for its first token, "
                        "23 -> 115 s (a time_to_first_token page; a chat model's queueing pages only with a threshold "
                        "of its own, from `o11y slo baseline`); tool-errors: half the execute_command calls of agent "
                        "sessions on vscode fail (a tool_errors ticket; the sessions end as before, so nobody is paged)")
    parser.add_argument("--incident-after", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--incident-for", type=float, default=None, metavar="SECONDS",
                        help="default 180 for errors, 300 for tool-errors, 420 for the others: a latency page needs five "
                        "bad minutes, each with at least 10 requests on the route (the default --rate sends some 400 a "
                        "minute)")


def cmd_api(_: argparse.Namespace) -> int:
    from o11y.serve import serve_api

    return serve_api(_settings())


def cmd_migrate(_: argparse.Namespace) -> int:
    from o11y.serve import run_migrate

    return run_migrate(_settings())


def cmd_load(args: argparse.Namespace) -> int:
    from o11y.serve import serve_loader
    from o11y.workers import run_workers

    settings = _settings()
    return run_workers(serve_loader, settings, args.workers or settings.workers or 1, drain_s=30)


def cmd_alert(args: argparse.Namespace) -> int:
    from o11y.serve import run_alert_once, serve_alert

    settings = _settings()
    if args.dry_run and not args.once:
        sys.exit("--dry-run goes with --once")
    return run_alert_once(settings, args.at, args.dry_run) if args.once else serve_alert(settings)


def cmd_slo_check(_: argparse.Namespace) -> int:
    from alerting.policy.routing_words import routing_words
    from alerting.policy.slo_config import SloConfigError, describe, load_policy
    from alerting.policy.words import policy_words
    from alerting.rules.window_query import uses_rollup

    settings = _settings()
    try:
        policy = load_policy(settings.slo_config)
    except SloConfigError as err:
        print(f"invalid SLO config: {err}", file=sys.stderr)
        return 2
    policy, note = _with_live_overrides(settings, policy)
    print(describe(policy, uses_rollup(policy)), end="")
    print(f"freshness_guard: {_freshness_guard(settings)}")
    print(f"runtime_overrides: {note}\n")
    print("\n".join(policy_words(policy)))
    print("\n" + "\n".join(routing_words(policy)))
    return 0


def _with_live_overrides(settings: Settings, policy: Any) -> tuple[Any, str]:
    """The policy with the overrides set through the admin API, when ClickHouse can be read."""
    from alerting.policy.store import PolicyStore
    from runtime.clickhouse import connect

    if not settings.clickhouse_url:
        return policy, "not read (O11Y_CLICKHOUSE_URL is not set)"
    try:
        policy, problems = PolicyStore(connect(settings.clickhouse_url)).live(policy)
    except Exception as err:  # noqa: BLE001 - reported, not fatal: the file itself is valid
        return policy, f"not read ({type(err).__name__}: {str(err)[:200]})"
    return policy, f"{len(policy.live_overrides)} in force" + "".join(f"\n  left out: {p}" for p in problems)


def _policy_command(run: Any) -> int:
    from o11y.command_target import CommandError

    try:
        return int(run())
    except CommandError as err:
        print(f"o11y: {err}", file=sys.stderr)
        return 2


def cmd_slo_baseline(args: argparse.Namespace) -> int:
    from o11y.policy_commands import run_baseline

    return _policy_command(lambda: run_baseline(_settings(), args.model, args.provider, args.client, args.json))


def cmd_slo_backtest(args: argparse.Namespace) -> int:
    from o11y.policy_commands import run_backtest

    return _policy_command(lambda: run_backtest(_settings(), args.start, args.end, args.policy, args.json))


def cmd_status(args: argparse.Namespace) -> int:
    from o11y.policy_commands import run_status

    return _policy_command(lambda: run_status(_settings(), args.json))


def cmd_silence(args: argparse.Namespace) -> int:
    from o11y import silence_commands as commands

    settings = _settings()
    if args.silence_command == "add":
        matchers = {"slo": args.slo, "severity": args.severity, "provider": args.provider, "model": args.model,
                    "client": args.client}
        return _policy_command(lambda: commands.run_silence_add(settings, matchers, args.starts, args.ends, args.comment,
                                                                 args.author))
    if args.silence_command == "list":
        return _policy_command(lambda: commands.run_silence_list(settings, args.all, args.json))
    return _policy_command(lambda: commands.run_silence_expire(settings, args.silence_id, args.author))


def cmd_sql(args: argparse.Namespace) -> int:
    from o11y.command_target import CommandError
    from o11y.sql_command import run_sql

    try:
        text, source = run_sql(_settings(), args.query, args.format, args.url)
    except CommandError as err:
        print(f"o11y: {err}", file=sys.stderr)
        return 2
    print(text, end="" if text.endswith("\n") else "\n")
    print(f"-- from {source}", file=sys.stderr)
    return 0


def _freshness_guard(settings: Settings) -> str:
    """Whether stale data can be told apart from recovery: it needs the loader's progress in ClickHouse."""
    from datetime import datetime, timedelta, timezone

    from alerting.evaluation.store import AlertStore
    from alerting.rules.freshness import Freshness
    from runtime.clickhouse import connect

    if not settings.clickhouse_url:
        return "not checked (O11Y_CLICKHOUSE_URL is not set)"
    try:
        store = AlertStore(connect(settings.clickhouse_url), settings.event_topics())
        progress = tuple(store.progress())
    except Exception as err:  # noqa: BLE001 - reported, not fatal: the policy itself is valid
        return f"not checked ({type(err).__name__}: {str(err)[:200]})"
    now = datetime.now(timezone.utc)
    return Freshness(progress, now, timedelta(seconds=settings.alert_stale_after_s)).describe()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o11y", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="run every part in one process tree on the embedded defaults")
    dev.add_argument("--demo", action="store_true", help="also send demo traffic with a scripted incident to itself")
    _demo_options(dev)
    dev.set_defaults(run=cmd_dev)
    demo = sub.add_parser("demo", help="send realistic gateway traffic and agent sessions (and an incident) to an ingest URL")
    demo.add_argument("--url", default=ConfiguredIngest(),
                      help="the ingest to send to (default: this machine's, on O11Y_HTTP_PORT: %(default)s)")
    demo.add_argument("--rate", type=float, default=20.0,
                      help="requests per second; a finished agent session follows every 20 requests")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="default: until Ctrl-C")
    _demo_options(demo)
    demo.set_defaults(run=cmd_demo)
    ingest = sub.add_parser("ingest", help="run the HTTP ingest edge")
    ingest.add_argument("--workers", type=_positive, metavar="N",
                        help="processes sharing the port (default O11Y_WORKERS, else the number of cores)")
    ingest.set_defaults(run=cmd_ingest)
    load = sub.add_parser("load", help="run the Kafka → ClickHouse loader")
    load.add_argument("--workers", type=_positive, metavar="N",
                      help="consumer processes in the group (default O11Y_WORKERS or 1)")
    load.set_defaults(run=cmd_load)
    sub.add_parser("api", help="run the read API: usage and cost, SLO status, incidents, overrides, silences, SQL"
                   ).set_defaults(run=cmd_api)
    sub.add_parser("migrate", help="create or upgrade the ClickHouse schema (idempotent)").set_defaults(run=cmd_migrate)
    alert = sub.add_parser("alert", help="evaluate the SLOs every minute and notify Slack")
    alert.add_argument("--once", action="store_true", help="evaluate one tick, print each decision as a JSON line, exit")
    alert.add_argument("--at", help="with --once: evaluate as if it were this ISO-8601 time (default: now)")
    alert.add_argument("--dry-run", action="store_true",
                       help="with --once: send nothing, write nothing (no Redis, no ClickHouse rows); print what it would do")
    alert.set_defaults(run=cmd_alert)
    slo = sub.add_parser("slo", help="SLO tools").add_subparsers(dest="slo_command", required=True)
    slo.add_parser("check", help="validate O11Y_SLO_CONFIG and print the effective SLOs, overrides in words"
                   ).set_defaults(run=cmd_slo_check)
    baseline = slo.add_parser("baseline", help="error rates (1, 3, 7 days) and latency percentiles (3 days) of a route, "
                                               "with a suggested objective and thresholds")
    baseline.add_argument("--model", required=True)
    baseline.add_argument("--provider")
    baseline.add_argument("--client")
    baseline.add_argument("--json", action="store_true")
    baseline.set_defaults(run=cmd_slo_baseline)
    backtest = slo.add_parser("backtest", help="what the policy (and a candidate) would have done over stored data")
    backtest.add_argument("--from", dest="start", required=True, help="ISO-8601 time, or a span back from now (7d, 2h)")
    backtest.add_argument("--to", dest="end", default="0m", help="ISO-8601 time, or a span back from now; default now")
    backtest.add_argument("--policy", help="a candidate policy file, compared with the one in force")
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(run=cmd_slo_backtest)
    status = sub.add_parser("status", help="every SLO of every route: state, burn, error budget left (least first)")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=cmd_status)
    silence = sub.add_parser("silence", help="hold back notifications for a while").add_subparsers(
        dest="silence_command", required=True)
    add = silence.add_parser("add", help="add a silence (names or glob patterns; at least one of slo/provider/model/client)")
    for name in ("slo", "provider", "model", "client"):
        add.add_argument(f"--{name}")
    add.add_argument("--severity", choices=["page", "ticket"])
    add.add_argument("--starts", help="ISO-8601 time or a span from now (30m, 2h, 1d); default now")
    add.add_argument("--ends", required=True, help="ISO-8601 time or a span from now (30m, 2h, 1d)")
    add.add_argument("--comment", required=True)
    add.add_argument("--author", help="default: user@host")
    add.set_defaults(run=cmd_silence)
    listing = silence.add_parser("list", help="active and pending silences")
    listing.add_argument("--all", action="store_true", help="ended and expired ones too")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_silence)
    expire = silence.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id")
    expire.add_argument("--author", help="default: user@host")
    expire.set_defaults(run=cmd_silence)
    sql = sub.add_parser("sql", help="a read-only query through a running o11y dev/api (admin token), or straight to "
                                     "ClickHouse when none runs")
    sql.add_argument("query", help=f'e.g. "SELECT resolved_model, count() FROM {API_METRICS} GROUP BY 1"')
    sql.add_argument("--format", choices=["table", "csv", "tsv", "json"], default="table")
    sql.add_argument("--url", help="the o11y API (default: the o11y dev one on O11Y_API_PORT or O11Y_HTTP_PORT + 1); "
                                   "the token comes from O11Y_TOKEN or var/dev-admin-token")
    sql.set_defaults(run=cmd_sql)
    sub.add_parser("schema", help="print the JSON Schema of one ingested event").set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
