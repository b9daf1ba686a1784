"""`generate`: the whole synthetic world, stage by stage, deterministic for a seed and a config."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pandas as pd

from riskrank.simulation.agency import RULES, observable_events
from riskrank.simulation.calendar import HISTORY_FROM, SIGNALS_FROM, day, to_datetime
from riskrank.simulation.config import GENERATOR_VERSION, SimConfig
from riskrank.simulation.investigations import InvestigationBuilder
from riskrank.simulation.monthly import build_monthly
from riskrank.simulation.notifications import build_notifications
from riskrank.simulation.population import build_population
from riskrank.simulation.signal_buffer import SignalBuffer
from riskrank.simulation.traces import build_traces
from riskrank.simulation.truth import build_truth
from riskrank.world import World

MAX_SCALE = 2.0
STAGES = ("persons and cases", "ground truth", "event signals", "notifications", "investigations", "monthly signals",
          "tables")


def _stage_rng(seed: int, stage: int) -> np.random.Generator:
    # one independent stream per stage, so changing one stage does not reshuffle the others
    return np.random.default_rng(np.random.SeedSequence([seed, stage]))


def generate(scale: float, seed: int, config: SimConfig | None = None, progress: bool = False) -> World:
    """A world of about scale x 5 million recipients, 2022-2024, with signals from 2021 and a burn-in from 2018."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be in (0, {MAX_SCALE}], got {scale}")
    config = config or SimConfig()
    config.validate()
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=False)
    else:
        bar = None
    with bar or nullcontext():
        task = bar.add_task("simulating", total=len(STAGES)) if bar else None

        def step(name: str) -> None:
            if bar is not None and task is not None:
                bar.update(task, advance=1, description=f"simulating: {name} done")

        pop = build_population(_stage_rng(seed, 1), scale, config.start, config.end, HISTORY_FROM)
        step(STAGES[0])
        truth = build_truth(_stage_rng(seed, 2), pop, config)
        step(STAGES[1])
        buffer = SignalBuffer()
        strength = build_traces(_stage_rng(seed, 3), pop, truth, config, buffer)
        step(STAGES[2])
        notifications = build_notifications(_stage_rng(seed, 6), pop, truth, strength, config, scale, buffer)
        step(STAGES[3])
        # the agency's triage and investigations draw from their own seed: notifications never depend on them
        triage_seed = seed if config.triage_seed is None else config.triage_seed
        # the agency sees the signals, never the truth: its profiles read the event signals and notifications
        household = pop.persons["household_id"].to_numpy()
        observable = observable_events(pop.case_person, household, buffer, notifications.case, notifications.day)
        builder = InvestigationBuilder(_stage_rng(triage_seed, 4), pop, truth, observable, notifications, config, scale)
        del observable
        investigations = builder.run()
        step(STAGES[4])
        build_monthly(_stage_rng(seed, 5), pop, truth, builder.case_end, builder.error_end, config, buffer)
        step(STAGES[5])

        end = day(config.end)
        cases = pop.cases
        cases["start_date"] = to_datetime(pop.case_start)
        ends = builder.case_end
        cases["end_date"] = pd.Series(to_datetime(np.minimum(ends, end))).where(ends <= end)
        signals = buffer.frame(day(SIGNALS_FROM), end, earlier={"notification": day(HISTORY_FROM)})
        truth_frame = truth.frame(cases["case_id"].to_numpy(), builder.error_end, end)
        step(STAGES[6])

    meta = {
        "seed": seed,
        "scale": scale,
        "start_date": config.start,
        "end_date": config.end,
        "signals_from": SIGNALS_FROM,
        # the burn-in: cases, notifications and investigations from here, outside the calibration
        "history_from": HISTORY_FROM,
        "random_share": config.random_share,
        "triage_seed": config.triage_seed,
        "drift": {"enabled": config.drift, "start": config.drift_start, "pattern": "ubm_overwork",
                  "benefits": ["sjukpenning"]},
        "female_error_ratio": config.female_error_ratio,
        "born_abroad_error_ratio": config.born_abroad_error_ratio,
        "proxy_strength": config.proxy_strength,
        "agency": {"rules": RULES, "informativeness": builder.informativeness},
        "generator": "riskrank.simulation",
        "generator_version": GENERATOR_VERSION,
        "counts": {"persons": len(pop.persons), "cases": len(cases), "signals": len(signals),
                   "investigations": len(investigations)},
    }
    return World(persons=pop.persons, cases=cases, signals=signals, investigations=investigations, truth=truth_frame,
                 meta=meta)
