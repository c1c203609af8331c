"""Charts of simulation results: pure functions from tidy DataFrames to Altair charts, one module per page.

Nothing here imports streamlit, so each chart can be built and checked on its own. Functions that show several
replications take either a list of per-replication frames (``[run.timeseries for run in replications.runs]``) or
one long frame with a ``replication`` column, and reduce them with pandas before charting, so a chart carries a few
hundred summary rows rather than every simulated model.
"""

from mlorg.charts.common import FIT_WIDTH, INTERVALS, SLO_COLOUR, Frames, bands, long_frame
from mlorg.charts.fit import qq_chart, qq_frame
from mlorg.charts.monitoring import (
    ALARM_FLOOR,
    LAG_SERIES,
    detection_tradeoff,
    feature_tradeoff,
    operating_points_frame,
    tradeoff_lines,
)
from mlorg.charts.pipeline import (
    ACTION_COLOURS,
    alarm_timeline,
    cumulative_losses,
    deployment_timeline,
    review_queue,
    workshop_weekly,
)
from mlorg.charts.planner import (
    ACTIVITY_COLOURS,
    MODEL_SERIES,
    ROLE_LABELS,
    cost_summary,
    interval_frame,
    models_over_time,
    paired_differences,
    scenario_metrics,
    scenarios_over_time,
    time_use,
    time_use_shares,
    ttp_bins,
    ttp_histogram,
)
from mlorg.charts.serving import (
    cost_latency_curve,
    instance_costs,
    latency_percentiles,
    latency_table,
    options_frame,
)
from mlorg.charts.sweeps import (
    SWEEP_STYLES,
    VALUE_FORMATS,
    sweep_chart,
    sweep_frame,
    sweep_parameters,
    tornado_chart,
    tornado_frame,
    variance_share_chart,
)

__all__ = [
    "ACTION_COLOURS", "ACTIVITY_COLOURS", "ALARM_FLOOR", "LAG_SERIES", "MODEL_SERIES", "FIT_WIDTH", "INTERVALS",
    "ROLE_LABELS", "SLO_COLOUR", "SWEEP_STYLES", "VALUE_FORMATS", "Frames", "alarm_timeline", "bands",
    "cost_latency_curve", "cost_summary", "cumulative_losses", "deployment_timeline", "detection_tradeoff",
    "feature_tradeoff", "qq_chart", "qq_frame",
    "instance_costs", "interval_frame", "latency_percentiles", "latency_table", "long_frame", "models_over_time",
    "operating_points_frame", "options_frame", "paired_differences", "scenario_metrics", "scenarios_over_time",
    "sweep_chart", "sweep_frame", "sweep_parameters", "time_use", "time_use_shares", "tornado_chart", "tornado_frame",
    "review_queue", "tradeoff_lines", "ttp_bins", "ttp_histogram", "variance_share_chart", "workshop_weekly",
]
