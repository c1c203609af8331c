"""Work that comes as a steady weekly load rather than as tasks, spread as a share of each role's capacity.

Per live model: its toil (maintenance), its data and feature pipeline work, and a look at each of its monitors'
false alarms, for ML engineers if there are any; platform upkeep (each capability's, and a little per live
model) for platform engineers. Support: the platform team's for every data scientist and ML engineer once there
is a platform, and ML engineers' help for every data scientist. The share slows every task the role starts (a
person with half their week on load does a task at half their pace) and is booked as toil or support; what a
role cannot carry (beyond ``policy.max_toil_share`` of its capacity) goes unmet.
"""

from __future__ import annotations

from mlorg.scenario import ROLES
from mlorg.sim.context import Organisation
from mlorg.sim.entities import HOURS_PER_WEEK

# Who carries which load, in order of preference.
MODEL_CARRIERS = ("ml_engineer", "data_scientist", "platform_engineer")  # toil, pipelines, triage
PLATFORM_CARRIERS = ("platform_engineer", "ml_engineer", "data_scientist")  # upkeep
PLATFORM_SUPPORT_CARRIERS = ("platform_engineer",)  # the platform team's own support
ENGINEER_SUPPORT_CARRIERS = ("ml_engineer",)  # ML engineers helping data scientists


class SteadyLoads:
    def __init__(self, sim: Organisation, platform, incidents):
        self.sim = sim
        self.platform = platform
        self.incidents = incidents
        s = sim.s
        self.efficiency = {role: getattr(s.skills, role).toil for role in ROLES}
        self.max_share = s.policy.max_toil_share
        self.share = dict.fromkeys(ROLES, 0.0)  # of each role's capacity
        self.support_split = dict.fromkeys(ROLES, 0.0)  # of that, support (the rest is toil)
        self.unmet_per_week = 0.0
        self.unmet_hours = 0.0
        self.unmet_since = 0.0
        # The scenario's rates, read once: this runs at every change of live models, staff or capabilities.
        self.model_hours = s.lifecycle.toil_hours_per_model_week + s.lifecycle.pipeline_hours_per_model_week
        self.upkeep_per_model = s.platform.upkeep_hours_per_model_week
        self.support_per_person = s.platform.support_hours_per_person_week
        self.support_per_data_scientist = s.lifecycle.support_hours_per_data_scientist_week
        self.hours_per_person = s.org.productive_hours_per_week
        self.levels = [sim.levels[name] for name in ("toil_unmet_hours_per_week", "model_toil_hours_per_week",
                                                     "upkeep_hours_per_week", "support_hours_per_week")]

    def update(self) -> None:
        """Recompute each role's load when live models, capabilities, staff or roadmap change."""
        sim = self.sim
        now = sim.env._now
        self.unmet_hours += self.unmet_per_week * (now - self.unmet_since) / HOURS_PER_WEEK
        self.unmet_since = now
        live = sim.models_live.values[-1]
        count = sim.role_count
        model_toil = live * self.model_hours * sim.factor["toil"]
        if self.incidents is not None:
            model_toil += self.incidents.triage_hours_per_week(live)
        has_platform = bool(sim.built)
        upkeep = self.platform.upkeep_fixed + (live * self.upkeep_per_model if has_platform else 0.0)
        practitioners = count["data_scientist"] + count["ml_engineer"]
        platform_support = self.support_per_person * practitioners if has_platform else 0.0
        engineer_support = self.support_per_data_scientist * count["data_scientist"]
        efficiency = self.efficiency
        toil = dict.fromkeys(ROLES, 0.0)
        support = dict.fromkeys(ROLES, 0.0)
        unmet = 0.0
        for hours, carriers, bucket in ((model_toil, MODEL_CARRIERS, toil), (upkeep, PLATFORM_CARRIERS, toil),
                                        (platform_support, PLATFORM_SUPPORT_CARRIERS, support),
                                        (engineer_support, ENGINEER_SUPPORT_CARRIERS, support)):
            if hours <= 0:
                continue
            for role in carriers:
                if count[role] and efficiency[role] > 0:
                    bucket[role] += hours / efficiency[role]
                    break
            else:
                if bucket is toil:
                    unmet += hours  # toil nobody can do; support nobody gives is not asked for
        max_share = self.max_share
        for role in ROLES:
            capacity = count[role] * self.hours_per_person
            demand = toil[role] + support[role]
            share = demand / capacity if capacity else 0.0
            self.share[role] = min(share, max_share)
            self.support_split[role] = support[role] / demand if demand > 0 else 0.0
            if share > max_share:
                unmet += (share - max_share) * capacity * efficiency[role]
        self.unmet_per_week = unmet
        unmet_level, toil_level, upkeep_level, support_level = self.levels
        unmet_level.set(now, unmet)
        toil_level.set(now, model_toil)
        upkeep_level.set(now, upkeep)
        support_level.set(now, platform_support + engineer_support)
