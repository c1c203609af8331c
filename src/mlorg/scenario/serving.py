"""How live models serve: real-time fleets, batch jobs and devices, with their traffic and prices."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlorg.scenario.fields import DISTRIBUTIONS, Distribution, dist, spec

# Traffic shape of a consumer-facing service, hour by hour (mean 1): low overnight, a midday and an evening
# peak; weekdays a little busier than weekends. An assumption to replace with your own traffic.
DAILY_PROFILE = (0.35, 0.25, 0.2, 0.2, 0.25, 0.4, 0.65, 0.95, 1.2, 1.3, 1.35, 1.4,
                 1.45, 1.4, 1.35, 1.3, 1.3, 1.35, 1.45, 1.5, 1.4, 1.15, 0.8, 0.55)
WEEKLY_PROFILE = (1.05, 1.05, 1.05, 1.05, 1.1, 0.85, 0.85)  # Monday first


@dataclass(frozen=True, kw_only=True)
class Realtime:
    """Online serving behind an API: traffic, service time, fleet and autoscaler of each real-time model."""

    base_rps: Distribution = dist("lognormal", 5.0, 1.0)
    daily_profile: tuple[float, ...] = spec(DAILY_PROFILE, lo=0.0, hi=100.0,
                                            doc="24 hourly load multipliers, hour 0 first (normalised to mean 1)")
    weekly_profile: tuple[float, ...] = spec(WEEKLY_PROFILE, lo=0.0, hi=100.0,
                                             doc="7 daily load multipliers, Monday first (normalised to mean 1)")
    growth_per_month: float = spec(0.02, unit="1/month", lo=-0.5, hi=2.0,
                                   doc="compound growth of every model's traffic per month since day 0")
    spikes_per_month: float = spec(0.5, unit="1/month", lo=0.0, hi=100.0,
                                   doc="org-wide traffic spikes (sales, incidents upstream) per month")
    spike_multiplier: float = spec(3.0, lo=1.0, hi=100.0, doc="load multiplier during a spike")
    spike_hours: float = spec(2.0, unit="hours", lo=1.0, hi=168.0, doc="length of a spike")
    service_ms: float = spec(5.0, unit="ms", lo=0.001, hi=1e5, doc="mean service time of one request")
    service_dist: str = spec("lognormal", choices=DISTRIBUTIONS, doc="shape of the service-time distribution")
    service_cv: float = spec(0.5, lo=0.0, hi=10.0, doc="coefficient of variation of the service time "
                             "(lognormal, gamma)")
    overhead_ms: float = spec(0.0, unit="ms", lo=0.0, hi=1e5,
                              doc="time every request spends outside the queue (network, client, connection): it adds "
                              "to the latency without occupying a replica (mlorg calibrate --serving measures it)")
    concurrency: int = spec(4, lo=1, hi=1024, doc="requests one replica serves at once")
    instance: str = spec("c6i.xlarge", doc="instance type of a replica (a row of data/instances.csv)")
    slo_p99_ms: float = spec(50.0, unit="ms", lo=0.001, hi=1e6, doc="p99 latency objective")
    fixed_replicas: int = spec(0, lo=0, hi=10_000, doc="replicas when not autoscaled (0 = autoscale)")
    min_replicas: int = spec(2, lo=1, hi=10_000, doc="autoscaler's lower bound (2 keeps one spare)")
    max_replicas: int = spec(100, lo=1, hi=10_000, doc="autoscaler's upper bound")
    target_utilisation: float = spec(0.6, lo=0.0, lo_open=True, hi=1.0, doc="utilisation the autoscaler aims at")
    reaction_delay_hours: int = spec(1, unit="hours", lo=0, hi=168,
                                     doc="the autoscaler sizes each hour for the load it saw this long before")


@dataclass(frozen=True, kw_only=True)
class Batch:
    """Scheduled scoring jobs: cost is compute time for the rows scored."""

    rows_per_day: Distribution = dist("lognormal", 1e6, 1.0)
    jobs_per_day: float = spec(1.0, lo=0.0, lo_open=True, hi=1440.0, doc="scoring jobs a day; the rows split evenly")
    deadline_hours: float = spec(4.0, unit="hours", lo=0.0, lo_open=True, hi=168.0,
                                 doc="a job must finish this soon; it runs on as many instances as that needs")
    ms_per_row: float = spec(0.5, unit="ms", lo=0.0, hi=1e5, doc="vCPU time to score one row")
    instance: str = spec("c6i.xlarge", doc="instance type the jobs run on (a row of data/instances.csv)")


@dataclass(frozen=True, kw_only=True)
class Edge:
    """On-device models: no replicas; each deployed version costs a rollout to every device."""

    devices: float = spec(100_000.0, lo=0.0, hi=1e10, doc="devices running the model")
    usd_per_device_rollout: float = spec(0.0005, unit="USD", lo=0.0, hi=100.0,
                                         doc="delivery cost of one version to one device")
    rollout_days: float = spec(14.0, unit="days", lo=0.0, hi=365.0,
                               doc="a new version reaches every device within this time, devices updating evenly")
    predictions_per_device_day: float = spec(20.0, lo=0.0, hi=1e7, doc="predictions a device makes per day")


@dataclass(frozen=True, kw_only=True)
class Serving:
    enabled: bool = spec(False, doc="compute serving cost and latency for live models")
    realtime_share: float = spec(1.0, lo=0.0, hi=1.0, doc="share of models served in real time")
    batch_share: float = spec(0.0, lo=0.0, hi=1.0, doc="share of models scored in batch jobs")
    edge_share: float = spec(0.0, lo=0.0, hi=1.0, doc="share of models run on devices")
    realtime: Realtime = field(default_factory=Realtime)
    batch: Batch = field(default_factory=Batch)
    edge: Edge = field(default_factory=Edge)
