"""The policy in sentences: what pages, what opens a ticket, for each SLO and each override (`o11y slo check`; pure)."""

from __future__ import annotations

from alerting.rules.message_words import latency_words, ms, pct, speed
from schemas.alert_policy import AlertPolicy
from schemas.slo_overrides import SloOverride
from schemas.slo_spec import BurnWindow, SloSpec


def minutes_words(minutes: int) -> str:
    if minutes == 1:
        return "the last minute"
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "the last day" if days == 1 else f"the last {days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "the last hour" if hours == 1 else f"the last {hours} hours"
    return f"the last {minutes} minutes"


def tier_rule(slo: SloSpec, window: BurnWindow, severity: str | None = None) -> str:
    """'pages when at least 1.44 % of requests fail over both the last 5 minutes and the last minute, with at least
    10 requests and 5 failures'."""
    share = pct(window.threshold * slo.budget)
    over = f"over both {minutes_words(window.long_minutes)} and {minutes_words(window.short_minutes)}"
    verb = {"page": "pages", "ticket": "opens a ticket"}[severity or window.severity]
    if slo.kind == "error_rate":
        what, gate = f"{share} of requests fail", f"with at least {slo.min_requests} requests and {slo.min_bad_events} failures"
    elif slo.kind == "session_failure_rate":
        reasons = " or ".join(slo.bad_reasons) + (", or have a stuck tool call" if slo.stuck_is_bad else "")
        what = f"{share} of sessions of a platform and model end {reasons}"
        gate = f"with at least {slo.min_requests} sessions and {slo.min_bad_events} failed ones"
    elif slo.kind == "tool_error_rate":
        what = f"{share} of a tool type's calls fail (on one platform)"
        gate = f"with at least {slo.min_requests} calls and {slo.min_bad_events} failed ones"
    elif slo.kind == "latency_ratio":
        assert slo.latency is not None
        what = f"{share} of requests are slower than {ms(slo.latency.threshold_ms)} ({latency_words(slo)})"
        gate = f"with at least {slo.min_requests} requests and {slo.min_bad_events} slow ones"
    else:
        assert slo.latency is not None
        slower = f", slower than {speed(slo.latency.threshold_ms)}" if slo.latency.measure.per_token else ""
        what = (f"{share} of minutes have a p{slo.latency.percentile} above {ms(slo.latency.threshold_ms)}{slower} "
                f"({latency_words(slo)})")
        gate = (f"counting minutes with at least {slo.min_requests} requests, and at least {slo.min_bad_events} "
                "bad minutes")
    unlikely = (f"; only when that many is unlikely (< {pct(float(1 - slo.confidence))}) for a route that meets its objective"
                if slo.confidence else "")
    return f"{verb} when at least {what} {over}, {gate}{unlikely}"


def slo_rules(slo: SloSpec, page: bool | None = None) -> list[str]:
    """One sentence per tier; `page` False turns page tiers into tickets."""
    lines = []
    for window in slo.windows:
        severity = "ticket" if window.severity == "page" and page is False else window.severity
        lines.append(tier_rule(slo, window, severity))
    return lines


def override_words(policy: AlertPolicy, override: SloOverride, source: str) -> list[str]:
    """The effective policy an override gives each SLO it matches."""
    match = override.match
    routes = ", ".join(f"{name} {getattr(match, name)}" for name in ("provider", "model", "client")
                       if getattr(match, name) is not None) or "every route"
    head = f"Override {match.key()} ({source}) — {routes}"
    if override.comment:
        head += f": {override.comment}"
    lines = [head]
    if override.reduces_paging and not match.one_route():
        lines.append(f"  Quiets every route it matches (scope {override.scope}): the page channel is told while it is in force")
    for slo in policy.slos:
        if not match.matches_slo(slo.name):
            continue
        if override.enabled is False:
            lines.append(f"  {slo.name}: not evaluated (turned off)")
            continue
        spec = override.apply(slo)
        who = {True: " — may page whatever page_clients says", False: " — never pages (page tiers open tickets)",
               None: ""}[override.page]
        lines.append(f"  {slo.name} (objective {spec.objective}){who}:")
        lines += [f"    {rule}" for rule in slo_rules(spec, override.page)]
    return lines


def policy_words(policy: AlertPolicy) -> list[str]:
    pagers = ", ".join(policy.page_clients) or "no client"
    lines = [f"Every route, unless an override says otherwise (page tiers page for {pagers}"
             + (f" on models {', '.join(policy.page_models)} and the recommended ones" if policy.page_models else "")
             + "; elsewhere they open tickets):"]
    for slo in policy.slos:
        lines.append(f"  {slo.name} (objective {slo.objective}):")
        lines += [f"    {rule}" for rule in slo_rules(slo)]
    for source, overrides in (("policy file", policy.overrides), ("admin API", policy.live_overrides)):
        for override in overrides:
            lines += override_words(policy, override, source)
    return lines
