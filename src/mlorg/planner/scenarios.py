"""The scenarios the planner offers, and how it lays one out for a leader: headcount, hiring plan, skills matrix,
capabilities in place or built."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from mlorg.scenario import ACTIVITIES, CAPABILITIES, ROLES, Scenario, ScenarioError, load

ROOT = Path(__file__).resolve().parents[3]


CAPABILITY_TEXT = {
    "feature_pipelines": ("Feature pipelines", "versioned and tested, so training and serving compute each "
                          "feature the same way (no training–serving skew)"),
    "model_registry": ("Model registry", "lineage from training data to the deployed artifact, and the previous "
                       "good version to roll back to"),
    "serving": ("Serving layer", "a real-time API, batch scoring or edge deployment, with SLOs"),
    "monitoring": ("Monitoring", "catches data drift, prediction drift and performance regressions"),
    "incident_process": ("Incident process", "diagnoses a misbehaving model and rolls it back"),
}


HEADCOUNT_FIELDS = {"data_scientists": "Data scientists", "ml_engineers": "ML engineers",
                    "platform_engineers": "Platform engineers"}


START_KEY = "planner.start"


DEFAULT_REPLICATIONS = 10


PERSON_YEARS_PER_DEFAULT_RUN = 2000.0


def scenario_folder() -> Path:
    """Where the offered scenarios are: ``$MLORG_SCENARIOS``, else the repository's ``scenarios/``."""
    return Path(os.environ.get("MLORG_SCENARIOS", ROOT / "scenarios"))


def load_folder(folder: Path) -> tuple[dict[str, Scenario], list[str]]:
    """Valid scenarios by file stem, and one message per problem in the files that failed to load."""
    scenarios, problems = {}, []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            scenarios[path.stem] = load(path)
        except ScenarioError as exc:
            problems.extend(exc.messages)
    return scenarios, problems


def folder_stamp(folder: Path) -> tuple[tuple[str, int], ...]:
    """Each scenario file's name and modification time: a cache key that changes when a file does."""
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(Path(folder).glob("*.toml")))


def person_years(scenario: Scenario) -> float:
    """People at day 0 plus every planned hire, times the horizon in years: a measure of simulation work."""
    org = scenario.org
    people = org.data_scientists + org.ml_engineers + org.platform_engineers + sum(h.count for h in org.hiring)
    return people * scenario.horizon_days / 365.0


def default_replications(scenario: Scenario) -> int:
    """10 replications, fewer (at least 2) for organisations too big to replicate 10 times quickly."""
    affordable = PERSON_YEARS_PER_DEFAULT_RUN / max(person_years(scenario), 1.0)
    return int(max(2, min(DEFAULT_REPLICATIONS, math.floor(affordable))))


def capability_plan(scenario: Scenario) -> tuple[list[str], list[str]]:
    """Capabilities in place at day 0, and those the platform team builds, in its build order."""
    caps = scenario.platform.capabilities
    in_place = [c for c in CAPABILITIES if getattr(caps, c).built]
    return in_place, [c for c in scenario.platform.build_order if c not in in_place]


def capability_frame(scenario: Scenario) -> pd.DataFrame:
    """The five capabilities as an editable table, one row each (index: their names): its label, whether it is in
    place at day 0, and its place in the platform team's build order (blank: not built)."""
    in_place, order = capability_plan(scenario)
    return pd.DataFrame({
        "capability": [CAPABILITY_TEXT[c][0] for c in CAPABILITIES],
        "in_place": [c in in_place for c in CAPABILITIES],
        "build_order": pd.array([order.index(c) + 1 if c in order else None for c in CAPABILITIES], dtype="Int64"),
    }, index=pd.Index(CAPABILITIES, name="name"))


def platform_builders(scenario: Scenario) -> int:
    """People at day 0 or hired later in roles with any skill at platform work: those who build capabilities."""
    org = scenario.org
    counts = {"data_scientist": org.data_scientists, "ml_engineer": org.ml_engineers,
              "platform_engineer": org.platform_engineers}
    for hire in org.hiring:
        counts[hire.role] += hire.count
    return sum(n for role, n in counts.items() if getattr(scenario.skills, role).platform > 0)


def hiring_frame(scenario: Scenario) -> pd.DataFrame:
    """The hiring plan as an editable table: day, role, count."""
    hires = scenario.org.hiring
    return pd.DataFrame({"day": pd.Series([h.day for h in hires], dtype="float64"),
                         "role": pd.Series([h.role for h in hires], dtype="object"),
                         # nullable, so that a row the user adds with its count still blank is a blank
                         "count": pd.Series([h.count for h in hires], dtype="Int64")})


def skills_frame(scenario: Scenario) -> pd.DataFrame:
    """The skills matrix as a table: one row per role, one column per kind of work."""
    rows = {role: [getattr(getattr(scenario.skills, role), a) for a in ACTIVITIES] for role in ROLES}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(ACTIVITIES), dtype="float64")
    frame.index.name = "role"
    return frame


def people(count: int, role: str) -> str:
    return f"{count} {role}{'' if count == 1 else 's'}"


def org_text(scenario: Scenario) -> str:
    org = scenario.org
    text = (f"{people(org.data_scientists, 'data scientist')}, {people(org.ml_engineers, 'ML engineer')}, "
            f"{people(org.platform_engineers, 'platform engineer')} at day 0")
    hired = sum(h.count for h in org.hiring)
    return f"{text}, {people(hired, 'hire')} planned" if hired else text
