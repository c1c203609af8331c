"""The people: headcount and hiring, attrition, cost, skills and who does production work."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlorg.scenario.fields import GUARD, spec

ROLES = ("data_scientist", "ml_engineer", "platform_engineer")
ACTIVITIES = ("research", "productionisation", "retraining", "toil", "platform")


@dataclass(frozen=True, kw_only=True)
class Hire:
    day: float = spec(0.0, unit="days", lo=0.0, hi=36500, doc="simulated day the people start")
    role: str = spec("ml_engineer", choices=ROLES, doc="role hired")
    count: int = spec(1, lo=1, hi=5000, hi_reason=GUARD, doc="number of people")


@dataclass(frozen=True, kw_only=True)
class Org:
    data_scientists: int = spec(4, unit="people", lo=0, hi=5000, hi_reason=GUARD, doc="data scientists at day 0",
                                label="Data scientists")
    ml_engineers: int = spec(0, unit="people", lo=0, hi=5000, hi_reason=GUARD, doc="ML engineers at day 0",
                             label="ML engineers")
    platform_engineers: int = spec(0, unit="people", lo=0, hi=5000, hi_reason=GUARD,
                                   doc="platform engineers at day 0", label="Platform engineers")
    productive_hours_per_week: float = spec(
        32.0, unit="hours/week", lo=1.0, hi=168.0,
        doc="hours a person works on project work per calendar week (40 h less meetings)")
    hiring: tuple[Hire, ...] = spec(factory=tuple, doc="hiring plan: [[org.hiring]] day, role, count",
                                    label="Hiring plan")
    # Oxford Economics (2014, "The Cost of Brain Drain"): a new hire takes 28 weeks to reach optimum productivity.
    # How slow the first day is, is a planning assumption.
    ramp_up_days: float = spec(196.0, unit="days", lo=0.0, hi=3650.0,
                               doc="a person hired after day 0 reaches full pace this long after starting (0: at once)")
    ramp_up_start: float = spec(0.25, lo=0.0, lo_open=True, hi=1.0,
                                doc="their pace on their first day, as a share of full pace; it rises evenly")


@dataclass(frozen=True, kw_only=True)
class RoleRates:
    data_scientist: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")
    ml_engineer: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")
    platform_engineer: float = spec(0.0, unit="1/year", lo=0.0, hi=5.0, doc="annual attrition rate")


@dataclass(frozen=True, kw_only=True)
class Attrition:
    annual_rate: RoleRates = field(default_factory=RoleRates)
    backfill: bool = spec(True, doc="replace each leaver with a new hire")
    time_to_hire_days: float = spec(60.0, unit="days", lo=0.0, hi=3650, doc="vacancy length before a backfill starts")


@dataclass(frozen=True, kw_only=True)
class RoleCosts:
    data_scientist: float = spec(190_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")
    ml_engineer: float = spec(210_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")
    platform_engineer: float = spec(210_000.0, unit="USD/year", lo=0.0, hi=1e7, doc="fully loaded annual cost")


@dataclass(frozen=True, kw_only=True)
class Skill:
    """Efficiency of one role at each kind of work: 1 = a specialist's pace, 0 = never does it."""

    research: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at research (training new models)")
    productionisation: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at taking a trained model to production")
    retraining: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at retraining a live model")
    toil: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at per-model maintenance")
    platform: float = spec(0.0, lo=0.0, hi=2.0, doc="efficiency at building platform capabilities")


@dataclass(frozen=True, kw_only=True)
class Skills:
    # DS and MLE skills overlap ~30% (DESIGN.md): a data scientist does production work at 0.3.
    data_scientist: Skill = field(default_factory=lambda: Skill(
        research=1.0, productionisation=0.3, retraining=1.0, toil=0.3, platform=0.0))
    ml_engineer: Skill = field(default_factory=lambda: Skill(
        research=0.0, productionisation=1.0, retraining=0.0, toil=1.0, platform=0.0))
    platform_engineer: Skill = field(default_factory=lambda: Skill(
        research=0.0, productionisation=0.0, retraining=0.0, toil=1.0, platform=1.0))


@dataclass(frozen=True, kw_only=True)
class Policy:
    data_scientists_productionise: str = spec(
        "when_no_ml_engineers", choices=("never", "when_no_ml_engineers", "always"),
        doc="whether data scientists take trained models to production themselves")
    data_scientist_max_production_share: float = spec(
        0.12, lo=0.0, hi=1.0,
        doc="largest share of a data scientist's time spent on production work (the rest is research)")
    max_toil_share: float = spec(
        0.9, lo=0.0, hi=0.99, doc="largest share of a role's capacity that toil may take; the rest of the "
        "demand goes unmet")
