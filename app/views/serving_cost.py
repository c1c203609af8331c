"""Serving and cost: a fleet's latency, simulated per request and checked against queueing theory, and the
cheapest fleet that meets a p99 SLO — what `mlorg serving` and `mlorg serving plan` print, in a form."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from mlorg import charts
from mlorg.cli import analytic_figures
from mlorg.scenario import Distribution
from mlorg.serving.analytic import mgc_response_percentile
from mlorg.serving.capacity import (
    HOURS_PER_MONTH,
    InstanceType,
    Option,
    cheapest,
    load_instances,
    service_percentile,
    tradeoff,
)
from mlorg.serving.kernel import simulate_queue

DISTRIBUTIONS = ("exponential", "deterministic", "lognormal", "gamma")
SHAPED = ("lognormal", "gamma")  # the distributions whose spread the coefficient of variation sets
REQUEST_CHOICES = (100_000, 200_000, 1_000_000, 5_000_000)
FIGURES = {"utilization": "utilisation", "p_wait": "share of requests that wait", "mean_wait_ms": "mean wait (ms)",
           "p50_ms": "p50 (ms)", "p95_ms": "p95 (ms)", "p99_ms": "p99 (ms)"}


def show_error(field: str, message: str) -> None:
    st.error(f"{field}: {message}")


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
def cheapest_by_instance(peak_rps: float, service: Distribution, slo_ms: float, concurrency: int | None,
                         instances: tuple[InstanceType, ...]) -> list[Option]:
    """Each instance type's cheapest fleet meeting the SLO (types that cannot meet it are left out)."""
    # One instance type at a time so that the bar can move: a service time with no formula is measured by the
    # kernel at every replica count tried, a few seconds in all.
    bar = st.progress(0.0, text="Finding the cheapest fleet…")
    found = []
    try:
        for done, instance in enumerate(instances, start=1):
            best = cheapest(peak_rps, service, slo_ms, [instance], concurrency)
            if best is not None:
                found.append(best)
            bar.progress(done / len(instances), text=f"Instance type {done} of {len(instances)}")
    finally:
        bar.empty()
    return found


@st.cache_data(show_spinner=False, max_entries=32)
def cost_curve(peak_rps: float, service: Distribution, instance: InstanceType, concurrency: int | None) -> list[Option]:
    with st.spinner(f"Measuring p99 latency on {instance.name}…"):
        return tradeoff(peak_rps, service, instance, concurrency=concurrency)


def inputs(instances: dict[str, InstanceType]) -> dict:
    traffic, service, fleet = st.columns(3)
    with traffic:
        st.markdown("**Traffic and SLO**")
        rps = st.number_input("Peak traffic (requests/s)", min_value=0.001, max_value=1e7, value=500.0, step=10.0,
                              key="serving.arrival_rps", help="Poisson arrivals at this rate")
        slo = st.number_input("SLO: p99 latency (ms)", min_value=0.001, max_value=1e6, value=100.0, step=5.0,
                              key="serving.slo_p99_ms", help="99% of requests must complete within this")
    with service:
        st.markdown("**Service time per request**")
        mean = st.number_input("Mean service time (ms)", min_value=0.001, max_value=1e7, value=20.0, step=1.0,
                               key="serving.service_ms")
        dist = st.selectbox("Distribution", DISTRIBUTIONS, key="serving.dist")
        cv = st.number_input("Coefficient of variation (sd / mean)", min_value=0.0, max_value=10.0, value=1.0,
                             step=0.1, key="serving.service_cv", disabled=dist not in SHAPED,
                             help="exponential has 1 and deterministic 0 by definition")
    with fleet:
        st.markdown("**Fleet**")
        name = st.selectbox("Instance type", list(instances), key="serving.instance",
                            format_func=lambda n: f"{n} — {instances[n].vcpu} vCPU, ${instances[n].usd_per_hour:g}/h")
        replicas = st.number_input("Replicas", min_value=1, max_value=100_000, value=4, step=1, key="serving.replicas")
        concurrency = st.number_input("Requests per replica at once", min_value=1, max_value=1024, value=None,
                                      step=1, key="serving.concurrency",
                                      placeholder=f"{instances[name].vcpu} (its vCPUs)",
                                      help="blank: one request per vCPU of the instance type")
    with st.expander("Simulation settings"):
        left, right = st.columns(2)
        requests = left.select_slider("Requests simulated", REQUEST_CHOICES, value=1_000_000, key="serving.requests",
                                      format_func=lambda n: f"{n:,}", help="the first 10% are discarded as warm-up")
        seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="serving.seed",
                                  help="the same seed gives the same results")
    return {"rps": float(rps), "slo": float(slo), "mean": float(mean), "dist": dist, "cv": float(cv),
            "instance": instances[name], "replicas": int(replicas),
            "concurrency": None if concurrency is None else int(concurrency), "requests": int(requests),
            "seed": int(seed)}


def service_time(form: dict) -> Distribution | None:
    if form["dist"] in SHAPED and form["cv"] == 0:
        show_error("Coefficient of variation", f"0 is not allowed for a {form['dist']} service time; must be > 0 "
                   "and <= 10 (choose deterministic for a fixed service time)")
        return None
    cv = {"exponential": 1.0, "deterministic": 0.0}.get(form["dist"], form["cv"])
    return Distribution(dist=form["dist"], mean=form["mean"], cv=cv)


def fleet_latency(form: dict, service: Distribution) -> None:
    instance, replicas = form["instance"], form["replicas"]
    per_replica = form["concurrency"] or instance.vcpu
    servers = replicas * per_replica
    st.subheader(f"Latency of {replicas} × {instance.name}")
    utilisation = form["rps"] * service.mean / 1000.0 / servers
    if utilisation >= 1:
        fewest = cost_curve(form["rps"], service, instance, form["concurrency"])[0].replicas
        show_error("Replicas", f"{replicas} is not allowed at {form['rps']:g} requests/s: {servers} servers of "
                   f"{service.mean:g} ms would run at utilisation {utilisation:.2f}, and a queue at utilisation >= 1 "
                   f"grows without bound; must be >= {fewest} replicas of {instance.name} (or lower the traffic)")
        return
    simulated = simulate(form["rps"], service, servers, form["requests"], form["seed"])
    analytic = analytic_figures(form["rps"], service, servers)
    approximation = None if service.dist == "exponential" else approximate_percentiles(form["rps"], service, servers)
    cost = replicas * instance.usd_per_hour
    meets = simulated["p99_ms"] <= form["slo"]
    columns = st.columns(4)
    columns[0].metric("p99 (simulated)", f"{simulated['p99_ms']:,.1f} ms",
                      delta="meets the SLO" if meets else "misses the SLO",
                      delta_color="normal" if meets else "inverse",
                      delta_arrow="off")
    columns[1].metric("p50 (simulated)", f"{simulated['p50_ms']:,.1f} ms")
    columns[2].metric("Utilisation", f"{simulated['utilization']:.0%}")
    columns[3].metric("Cost per month", f"${cost * HOURS_PER_MONTH:,.0f}", help=f"${cost:.3f} per hour")
    st.caption(f"{servers} servers ({replicas} replicas × {per_replica} requests at once); "
               f"{simulated['requests']:,} requests after warm-up, seed {form['seed']}.")
    left, right = st.columns([3, 2])
    left.dataframe(figures_table(simulated, analytic, approximation), width="stretch")
    left.caption(theory_note(service, servers))
    sources = {"simulated": simulated, "analytic": analytic, "M/G/c approximation": approximation}
    right.altair_chart(charts.latency_percentiles(sources, slo_ms=form["slo"]), width="stretch")


def figures_table(simulated: dict, analytic: dict | None, approximation: dict | None) -> pd.DataFrame:
    rows = {}
    for key, label in FIGURES.items():
        row = {"simulated": simulated[key], "analytic": (analytic or {}).get(key, math.nan)}
        if approximation is not None:
            row["M/G/c approximation"] = approximation.get(key, math.nan)
        rows[label] = row
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
    floor = service_percentile(service, 0.99)
    if floor > form["slo"]:
        show_error("SLO: p99 latency", f"{form['slo']:g} ms cannot be met: the service time alone has a p99 of "
                   f"{floor:,.3g} ms, so no fleet meets it; must be > {floor:,.3g} ms (or make the service faster)")
        return
    found = cheapest_by_instance(form["rps"], service, form["slo"], form["concurrency"], tuple(instances.values()))
    if not found:
        show_error("SLO: p99 latency", f"{form['slo']:g} ms is not met by any instance type within the replica "
                   "limit; allow a higher p99")
        return
    best = min(found, key=lambda o: (o.usd_per_hour, o.replicas))  # the same order as capacity.cheapest
    st.success(f"**{best.replicas} × {best.instance}**: ${best.usd_per_hour:.3f}/hour "
               f"(${best.usd_per_month:,.0f}/month), p99 {best.p99_ms:,.1f} ms at {best.utilisation:.0%} "
               "utilisation.")
    left, right = st.columns(2)
    left.altair_chart(charts.instance_costs(found), width="stretch")
    instance = form["instance"]
    curve = cost_curve(form["rps"], service, instance, form["concurrency"])
    right.altair_chart(charts.cost_latency_curve(curve, slo_ms=form["slo"], chosen_replicas=form["replicas"]),
                       width="stretch")
    table = charts.options_frame(curve).drop(columns=["instance"])
    table["meets SLO"] = table["p99_ms"] <= form["slo"]
    st.markdown(f"**Cost / latency trade-off on {instance.name}** — from the fewest replicas that keep up with "
                "the load")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"utilisation": st.column_config.NumberColumn(format="percent"),
                                "p99_ms": st.column_config.NumberColumn("p99 (ms)", format="%.1f"),
                                "usd_per_hour": st.column_config.NumberColumn("$/hour", format="%.3f"),
                                "usd_per_month": st.column_config.NumberColumn("$/month", format="%.0f")})


st.title("Serving and cost")
st.caption("A serving fleet as a queue: requests arrive at random, each replica serves a few at once, and a "
           "request waits when all are busy. The latency is simulated request by request and checked against "
           "queueing theory; the cheapest fleet meets the p99 SLO at the peak load. Prices: AWS on-demand, "
           "us-east-1 (data/instances.csv).")
try:
    catalogue = {i.name: i for i in load_instances()}
except (OSError, ValueError) as exc:
    show_error("Instance prices", str(exc))
    st.stop()
form = inputs(catalogue)
service = service_time(form)
if service is not None:
    fleet_latency(form, service)
    cheapest_fleet(form, service, catalogue)
