"""The staffing planner's work, without Streamlit: the scenarios it offers, a leader's edits read back through the
schema and named for what changed, scenarios compared on common random numbers, and the defaults and words of
its Sweep, Sensitivity and Goal seek tabs. The figures themselves come from :mod:`mlorg.results` and
:mod:`mlorg.sweeps`.
"""

from mlorg.planner.basis import assumption_frame, portfolio_frame
from mlorg.planner.bill import bill_frame, floor_text
from mlorg.planner.comparison import (
    COMPARE_METRICS,
    HEADLINES,
    comparison_table,
    difference_verdict,
    interval_text,
)
from mlorg.planner.edits import change_summary, describe_changes, edit, file_stem, name_variant
from mlorg.planner.scenarios import (
    CAPABILITY_TEXT,
    HEADCOUNT_FIELDS,
    START_KEY,
    capability_frame,
    capability_plan,
    default_replications,
    folder_stamp,
    hiring_frame,
    load_folder,
    org_text,
    people,
    person_years,
    platform_builders,
    scenario_folder,
    skills_frame,
)
from mlorg.planner.sweep_forms import (
    cell_text,
    default_sensitivity_inputs,
    default_spec,
    field_help,
    field_value,
    goal_verdict,
    spec_text,
    sweep_fields,
    sweep_grid,
    sweep_runs,
    value_text,
)

__all__ = [
    "CAPABILITY_TEXT", "COMPARE_METRICS", "HEADCOUNT_FIELDS", "HEADLINES", "START_KEY", "assumption_frame",
    "bill_frame", "capability_frame", "capability_plan", "cell_text", "change_summary", "comparison_table",
    "default_replications", "floor_text",
    "default_sensitivity_inputs", "default_spec", "describe_changes", "difference_verdict", "edit", "field_help",
    "field_value", "file_stem", "folder_stamp", "goal_verdict", "hiring_frame", "interval_text", "load_folder",
    "name_variant", "org_text", "people", "person_years", "portfolio_frame", "platform_builders", "scenario_folder",
    "skills_frame", "spec_text", "sweep_fields", "sweep_grid", "sweep_runs", "value_text",
]
