"""One live model through causes at stated times: what the organisation simulator says it loses to them.

The reference pipeline replays one model through scripted causes; to hold the simulator against it, the simulator
must answer the same question. :class:`OneModel` is the scenario's organisation — its people, capabilities,
monitors, incident process and routine retraining — looking after one model that is live from hour 0, with the
given class, traffic and value. Only the given causes reach it, each at its hour: no other drift, no defects at
deploy, no retirement, and the research the people do yields no other model to look after.
"""

from __future__ import annotations

import dataclasses
from functools import partial

from mlorg.scenario import Scenario
from mlorg.sim.entities import Model, SimOutput, WorkItem
from mlorg.sim.org import OrgSimulation
from mlorg.sim.portfolio import ModelTraits

WORLD = ("covariate", "concept", "pipeline_break")
AT_DEPLOY = ("skew", "bad_version", "latency_regression")


def only_scripted(scenario: Scenario) -> Scenario:
    """The scenario with no cause of its own: no drift arrivals, no defects at deploy, models never retired."""
    drift = scenario.drift
    quiet = {c: dataclasses.replace(getattr(drift, c), rate_per_model_year=0.0) for c in WORLD}
    quiet |= {c: dataclasses.replace(getattr(drift, c), per_deploy=0.0) for c in AT_DEPLOY}
    return scenario.replace(drift=dataclasses.replace(drift, enabled=True, **quiet),
                            lifecycle=dataclasses.replace(scenario.lifecycle, lifetime_days=0.0))


class OneModel(OrgSimulation):
    """``OneModel(scenario, traits, causes, seed, replication).run()``: the organisation of ``scenario`` with one model
    of ``traits`` live from hour 0 and ``causes`` — (cause, hour) pairs — reaching it. The run ends at the
    scenario's horizon; the model's incidents hold what each cause cost by then."""

    def __init__(self, scenario: Scenario, traits: ModelTraits, causes: tuple[tuple[str, float], ...],
                 seed: int = 0, replication: int = 0):
        super().__init__(only_scripted(scenario), seed, replication)
        self.traits = traits
        self.causes = causes

    def run(self) -> SimOutput:
        self.at(0.0, self._deploy)
        return super().run()

    def _deploy(self, _number: int | None = None) -> None:
        # The model carries the draws of the first person who can train one, as a model they had trained would.
        trainer = next(w for w in self.workers.values() if w.draws is not None)
        model = Model(id=0, trained_at=0.0, trained_by=trainer.id, draws=trainer.draws, traits=self.traits)
        self.models.append(model)
        self.backlog.add(0.0, 1)
        self._go_live(WorkItem(kind="productionisation", base_effort=0.0, model=model))
        for cause, hour in self.causes:
            self.at(hour, partial(self._cause, model, cause))

    def _cause(self, model: Model, cause: str, _number: int | None = None) -> None:
        self.incidents.arrive(model, cause)

    def _trained(self, w, now: float) -> None:
        """Research goes on, but this run looks after one model only."""
