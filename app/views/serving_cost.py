"""Serving and cost: a fleet's latency, simulated per request and checked against queueing theory, and the
cheapest fleet that meets a p99 SLO — what `mlorg serving` and `mlorg serving plan` print, in a form."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mlorg import charts, formatting, inputs
from mlorg.scenario import Distribution
from mlorg.serving.analytic import analytic_figures, mgc_response_percentile
from mlorg.serving.capacity import HOURS_PER_MONTH, InstanceType, Option, Plan, plan, tradeoff
from mlorg.serving.instances import load_instances
from mlorg.serving.kernel import simulate_queue
from views.shared import forms
from views.shared.scenario_bill import show_scenario_bill
from views.shared.serving_check import show_serving_check

DISTRIBUTIONS = ("exponential", "deterministic", "lognormal", "gamma")
SHAPED = ("lognormal", "gamma")  # the distributions whose spread the coefficient of variation sets
REQUEST_CHOICES = (100_000, 200_000, 1_000_000, 5_000_000)
FIGURES = {"utilization": "utilisation", "p_wait": "share of requests that wait", "mean_wait_ms": "mean wait (ms)",
           "p50_ms": "p50 (ms)", "p95_ms": "p95 (ms)", "p99_ms": "p99 (ms)"}


@st.cache_data(show_spinner=False, max_entries=32)
def simulate(arrival_rps: float, service: Distribution, servers: int, requests: int, seed: int) -> dict:
    with st.spinner(f"Simulating {requests:,} requests…"):
        return simulate_queue(arrival_rps, service, servers, requests, seed).summary()


@st.cache_data(show_spinner=False, max_entries=32)
def approximate_percentiles(arrival_rps: float, service: Distribution, servers: int) -> dict:
    """The M/G/c approximation's percentiles (ms), for queues with no closed form."""
    rate = arrival_rps / 1000.0  # per ms, so that the service distribution keeps its unit
    return {key: mgc_response_percentile(rate, service, servers, q)
            for key, q in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99))}


@st.cache_data(show_spinner=False, max_entries=32)
def plan_by_instance(peak_rps: float, service: Distribution, slo_ms: float, concurrency: int | None,
                     instances: tuple[InstanceType, ...]) -> Plan:
    """The plan over every instance type, one at a time so that the bar can move (a service time with no formula
    is measured by the kernel at every replica count tried)."""
    bar = st.progress(0.0, text="Finding the cheapest fleet…")
    found, over = [], []
    try:
        for done, instance in enumerate(instances, start=1):
            one = plan(peak_rps, service, slo_ms, [instance], concurrency)
            if one.impossible:
                return one
            found.extend(one.options)
            over.extend(one.over_limit)
            bar.progress(done / len(instances), text=f"Instance type {done} of {len(instances)}")
    finally:
        bar.empty()
    best = min(found, key=lambda o: (o.usd_per_hour, o.replicas)) if found else None  # as capacity.plan orders
    return Plan(best, tuple(found), one.floor_ms, False, tuple(over))


@st.cache_data(show_spinner=False, max_entries=32)
def cost_curve(peak_rps: float, service: Distribution, instance: InstanceType, concurrency: int | None,
               slo_ms: float | None = None) -> list[Option]:
    with st.spinner(f"Measuring p99 latency on {instance.name}…"):
        return tradeoff(peak_rps, service, instance, concurrency=concurrency, slo_p99_ms=slo_ms)


def form_inputs(instances: dict[str, InstanceType]) -> dict:
    traffic, service, fleet = st.columns(3)
    with traffic:
        st.markdown("**Traffic and SLO**")
        rps = forms.number("arrival_rps", key="serving.arrival_rps", value=500.0, step=10.0)
        slo = forms.number("slo_p99_ms", key="serving.slo_p99_ms", value=100.0, step=5.0)
    with service:
        st.markdown("**Service time per request**")
        mean = forms.number("service_ms", key="serving.service_ms", value=20.0, step=1.0)
        dist = st.selectbox("Distribution", DISTRIBUTIONS, key="serving.dist")
        cv = forms.number("service_cv", key="serving.service_cv", value=1.0, step=0.1, disabled=dist not in SHAPED)
    with fleet:
        st.markdown("**Fleet**")
        name = st.selectbox("Instance type", list(instances), key="serving.instance",
                            format_func=lambda n: f"{n} — {instances[n].vcpu} vCPU, ${instances[n].usd_per_hour:g}/h")
        replicas = forms.number("replicas", key="serving.replicas", value=4)
        concurrency = forms.number("concurrency", key="serving.concurrency",
                                   placeholder=f"{instances[name].vcpu} (its vCPUs)")
    with st.expander("Simulation settings"):
        left, right = st.columns(2)
        requests = left.select_slider("Requests simulated", REQUEST_CHOICES, value=1_000_000, key="serving.requests",
                                      format_func=lambda n: f"{n:,}", help="the first 10% are discarded as warm-up")
        seed = forms.number("seed", key="serving.seed", value=0, container=right)
    return {"rps": rps, "slo": slo, "mean": mean, "dist": dist, "cv": cv, "instance": instances[name],
            "replicas": replicas, "concurrency": concurrency, "requests": requests, "seed": seed}


def problems(form: dict) -> list[str]:
    """Every value the page cannot run with, named as the form labels it (a blank concurrency is allowed)."""
    values = {name: form[key] for name, key in (("arrival_rps", "rps"), ("slo_p99_ms", "slo"),
                                                ("service_ms", "mean"), ("replicas", "replicas"),
                                                ("seed", "seed"))}
    if form["dist"] in SHAPED:
        values["service_cv"] = form["cv"]
    if form["concurrency"] is not None:
        values["concurrency"] = form["concurrency"]
    found = inputs.problems(values)
    if form["dist"] in SHAPED and form["cv"] == 0:
        found.append(f"{inputs.INPUTS['service_cv'].label}: 0 is not allowed for a {form['dist']} service time; must "
                     "be > 0 and <= 10 (choose deterministic for a fixed service time)")
    return found


def service_time(form: dict) -> Distribution:
    cv = {"exponential": 1.0, "deterministic": 0.0}.get(form["dist"], form["cv"])
    return Distribution(dist=form["dist"], mean=float(form["mean"]), cv=float(cv))


def fleet_latency(form: dict, service: Distribution) -> None:
    instance, replicas = form["instance"], form["replicas"]
    per_replica = form["concurrency"] or instance.vcpu
    servers = replicas * per_replica
    st.subheader(f"Latency of {formatting.count(replicas)} × {instance.name}")
    utilisation = form["rps"] * service.mean / 1000.0 / servers
    fewest = _fewest_replicas(form["rps"], service, per_replica)
    if utilisation >= 1:
        forms.refuse([f"Replicas: {replicas:,} is not allowed at {form['rps']:g} requests/s: {servers:,} servers of "
                      f"{service.mean:g} ms would run at utilisation {utilisation:.2f}, and a queue at utilisation "
                      f">= 1 grows without bound; must be >= {fewest:,} replicas of {instance.name} (or lower the "
                      "traffic)"])
        return
    cost = replicas * instance.usd_per_hour
    forms.warn(inputs.serving_oddities(replicas=replicas, servers=servers, utilisation=utilisation,
                                       usd_per_month=cost * HOURS_PER_MONTH, fewest_replicas=fewest))
    simulated = simulate(form["rps"], service, servers, form["requests"], form["seed"])
    analytic = analytic_figures(form["rps"], service, servers)
    approximation = None if service.dist == "exponential" else approximate_percentiles(form["rps"], service, servers)
    meets = simulated["p99_ms"] <= form["slo"]
    columns = st.columns(4)
    columns[0].metric("p99 (simulated)", f"{simulated['p99_ms']:,.1f} ms",
                      delta="meets the SLO" if meets else "misses the SLO",
                      delta_color="normal" if meets else "inverse",
                      delta_arrow="off")
    columns[1].metric("p50 (simulated)", f"{simulated['p50_ms']:,.1f} ms")
    columns[2].metric("Utilisation", formatting.share(simulated["utilization"], 0 if utilisation >= 0.01 else 3))
    columns[3].metric("Cost per month", formatting.usd(cost * HOURS_PER_MONTH), help=f"${cost:.3f} per hour")
    st.caption(f"{servers:,} servers ({replicas:,} replicas × {per_replica} requests at once); "
               f"{simulated['requests']:,} requests after warm-up, seed {form['seed']}.")
    left, right = st.columns([3, 2])
    left.dataframe(figures_table(simulated, analytic, approximation), width="stretch")
    left.caption(theory_note(service, servers))
    sources = {"simulated": simulated, "analytic": analytic, "M/G/c approximation": approximation}
    right.altair_chart(charts.latency_percentiles(sources, slo_ms=form["slo"]), width="stretch")


def _fewest_replicas(rps: float, service: Distribution, per_replica: int) -> int:
    """Fewest replicas that keep up with the load (utilisation below 1)."""
    return math.floor(rps * service.mean / 1000.0 / per_replica) + 1


def figures_table(simulated: dict, analytic: dict | None, approximation: dict | None) -> pd.DataFrame:
    """Each figure simulated, by formula and by approximation, as text: "—" where no formula gives one."""
    rows = {}
    for key, label in FIGURES.items():
        row = {"simulated": simulated[key], "analytic": (analytic or {}).get(key, math.nan)}
        if approximation is not None:
            row["M/G/c approximation"] = approximation.get(key, math.nan)
        share = key in ("utilization", "p_wait")
        rows[label] = {k: formatting.share(v, 2) if share and v == v else formatting.number(v, 4)
                       for k, v in row.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def theory_note(service: Distribution, servers: int) -> str:
    if service.dist == "exponential":
        return "Analytic: M/M/c (Erlang C) — exact for exponential service times."
    note = ("Analytic: M/G/1 (Pollaczek–Khinchine) gives the utilisation, the share that waits and the mean "
            "wait; no formula gives its percentiles. " if servers == 1 else
            "No closed form exists for M/G/c; ")
    return note + ("The approximation keeps Erlang C's chance of waiting and stretches the wait by "
                   "(1 + cv²)/2 (Allen–Cunneen).")


def cheapest_fleet(form: dict, service: Distribution, instances: dict[str, InstanceType]) -> None:
    st.subheader(f"Cheapest fleet with p99 ≤ {form['slo']:g} ms at {form['rps']:g} requests/s")
    found = plan_by_instance(form["rps"], service, form["slo"], form["concurrency"], tuple(instances.values()))
    if found.best is None:
        forms.refuse([f"{inputs.INPUTS['slo_p99_ms'].label}: {form['slo']:g} ms cannot be planned: {found.reason}"])
        return
    best = found.best
    st.success(f"**{best.replicas} × {best.instance}**: ${best.usd_per_hour:.3f}/hour "
               f"({formatting.usd(best.usd_per_month)}/month), p99 {p99_text(best.p99_ms, best.p99_se_ms)} at "
               f"{best.utilisation:.0%} utilisation; confirmed with other random draws at "
               f"{p99_text(best.p99_confirmed_ms, best.p99_confirmed_se_ms)}.")
    if found.over_limit:
        st.caption(f"Left out: {', '.join(found.over_limit)}, which would need more replicas than the planner "
                   "allows.")
    left, right = st.columns(2)
    left.altair_chart(charts.instance_costs(list(found.options)), width="stretch")
    instance = form["instance"]
    curve = cost_curve(form["rps"], service, instance, form["concurrency"], form["slo"])
    right.altair_chart(charts.cost_latency_curve(curve, slo_ms=form["slo"], chosen_replicas=form["replicas"]),
                       width="stretch")
    table = pd.DataFrame({
        "replicas": [o.replicas for o in curve], "servers": [o.servers for o in curve],
        "utilisation": [formatting.share(o.utilisation, 0) for o in curve],
        "p99 (ms)": [p99_text(o.p99_ms, o.p99_se_ms, unit="") for o in curve],
        "$/hour": [f"{o.usd_per_hour:.3f}" for o in curve],
        "$/month": [formatting.usd(o.usd_per_month) for o in curve],
        "meets SLO": [o.p99_ms <= form["slo"] for o in curve]})
    st.markdown(f"**Cost / latency trade-off on {instance.name}** — from the fewest replicas that keep up with "
                "the load; a measured p99 shows its standard error")
    st.dataframe(table, hide_index=True, width="stretch")


def p99_text(p99: float, se: float, unit: str = " ms") -> str:
    if not math.isfinite(p99):
        return "—"
    return f"{p99:,.4g}{f' ± {se:.2g}' if se > 0 else ''}{unit}"


st.title("Serving and cost")
st.caption("A serving fleet as a queue: requests arrive at random, each replica serves a few at once, and a "
           "request waits when all are busy. The latency is simulated request by request and checked against "
           "queueing theory; the cheapest fleet meets the p99 SLO at the peak load. Prices: AWS on-demand, "
           "us-east-1 (data/instances.csv).")
try:
    catalogue = {i.name: i for i in load_instances()}
except (OSError, ValueError) as exc:
    st.error(f"Instance prices: {exc}")
    st.stop()
form = form_inputs(catalogue)
if not forms.refuse(problems(form)):  # a refused value shows its reason here, and no figure from other inputs
    service = service_time(form)
    fleet_latency(form, service)
    cheapest_fleet(form, service, catalogue)
st.divider()
show_serving_check()
st.divider()
show_scenario_bill()
