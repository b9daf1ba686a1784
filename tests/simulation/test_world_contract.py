"""The generated world keeps the data contract and its basic promises."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.simulation import SimConfig, generate
from riskrank.world import BENEFITS, SIGNAL_KINDS, read_world


def test_written_world_reads_back_valid(tiny_world_dir) -> None:
    world = read_world(tiny_world_dir)  # validates every table against the contract
    assert set(world.cases["benefit"].astype(str)) == set(BENEFITS)
    assert world.meta["seed"] == 7 and world.meta["scale"] == 0.003
    assert world.meta["end_date"] == "2024-12-31" and world.meta["generator_version"]
    # the burn-in's notifications reach back to history_from; every other signal starts at signals_from
    assert world.meta["history_from"] == "2018-01-01" and world.meta["signals_from"] == "2021-01-01"
    notes = world.signals["kind"] == "notification"
    assert world.signals.loc[notes, "date"].min() >= pd.Timestamp("2018-01-01")
    assert world.signals.loc[notes, "date"].min() < pd.Timestamp("2019-01-01")
    assert world.signals.loc[~notes, "date"].min() >= pd.Timestamp("2021-01-01")
    assert "pattern" in world.truth.columns


def test_same_seed_same_world_other_seed_differs(tiny_world) -> None:
    again = generate(0.003, 7)
    for name, frame in tiny_world.tables().items():
        other_frame = again.tables()[name]
        assert list(frame.dtypes) == list(other_frame.dtypes), name
        assert frame.equals(other_frame), name
    other = generate(0.003, 8)
    assert not other.cases["monthly_amount_sek"].equals(tiny_world.cases["monthly_amount_sek"])


def test_signals_use_only_contract_vocabulary(tiny_world) -> None:
    signals = tiny_world.signals
    for kind, sources in signals.groupby("kind", observed=True)["source"].unique().items():
        assert set(sources.astype(str)) <= set(SIGNAL_KINDS[kind][0]), kind


def test_ids_link_up(tiny_world) -> None:
    w = tiny_world
    assert w.cases["person_id"].isin(w.persons["person_id"]).all()
    assert w.signals["person_id"].isin(w.persons["person_id"]).all()
    assert w.signals["case_id"].dropna().isin(w.cases["case_id"]).all()
    assert w.investigations["case_id"].isin(w.cases["case_id"]).all()
    assert (w.truth["case_id"].to_numpy() == w.cases["case_id"].to_numpy()).all()


def test_investigations_open_on_active_cases_and_close_after(tiny_world) -> None:
    inv = tiny_world.investigations.merge(tiny_world.cases, on="case_id")
    assert (inv["opened_date"] >= inv["start_date"]).all()
    assert (inv["end_date"].isna() | (inv["end_date"] > inv["opened_date"])).all()
    # the burn-in's investigations open from history_from; the calibrated ones close in 2022-2024
    assert inv["opened_date"].min() >= pd.Timestamp("2018-01-01")
    assert inv["opened_date"].min() < pd.Timestamp("2019-01-01")
    assert inv["opened_date"].max() <= pd.Timestamp("2024-12-31")
    closed = inv["closed_date"].notna()
    assert (inv.loc[closed, "closed_date"] > inv.loc[closed, "opened_date"]).all()
    # still open at the world's end: no outcome yet
    assert (~closed).any()
    assert inv.loc[~closed, ["action", "detected_sek", "prevented_sek", "police_report"]].isna().all().all()
    acted = inv["action"].fillna(False).astype(bool)
    assert inv.loc[acted, "action_type"].notna().all() and inv.loc[~acted, "action_type"].isna().all()
    assert (inv.loc[closed & ~acted, ["detected_sek", "prevented_sek"]] == 0).all().all()


def test_actions_only_where_a_real_error_was_active(tiny_world) -> None:
    inv = tiny_world.investigations.merge(tiny_world.truth, on="case_id")
    acted = inv[inv["action"].fillna(False).astype(bool)]
    assert len(acted) > 0
    assert (acted["error_start"] <= acted["opened_date"]).all()


def test_risk_p_is_the_probability_used(tiny_world) -> None:
    truth = tiny_world.truth
    erroneous = truth["error_start"].notna()
    assert truth["risk_p"].between(0, 1).all()
    # the realised error share tracks the mean risk_p (errors may fall outside the window, so a bit below)
    assert abs(erroneous.mean() - truth["risk_p"].mean()) < 0.02
    assert truth.loc[erroneous, "risk_p"].mean() > 1.5 * truth.loc[~erroneous, "risk_p"].mean()
    assert truth.loc[erroneous, ["error_cause", "intentional", "pattern"]].notna().all().all()
    assert truth.loc[~erroneous, ["error_cause", "intentional", "pattern"]].isna().all().all()


def test_drift_pattern_only_after_drift_start(tiny_world) -> None:
    truth = tiny_world.truth
    drift = truth[truth["pattern"] == "ubm_overwork"]
    assert len(drift) > 0
    assert (drift["error_start"] >= pd.Timestamp("2024-04-01")).all()
    no_drift = generate(0.003, 7, SimConfig(drift=False))
    assert (no_drift.truth["pattern"] != "ubm_overwork").all()
    assert no_drift.meta["drift"]["enabled"] is False


def _percentile_among_active(world, inv: pd.DataFrame, column: str) -> np.ndarray:
    """Where each investigated case's `column` ranks among the cases of its benefit active on the opened date."""
    cases = world.cases.merge(world.truth[["case_id", "risk_p"]], on="case_id")
    out = []
    for row in inv.itertuples(index=False):
        same = cases[(cases["benefit"] == row.benefit) & (cases["start_date"] <= row.opened_date)
                     & (cases["end_date"].isna() | (cases["end_date"] > row.opened_date))]
        out.append((same[column] < getattr(row, column)).mean())
    return np.array(out)


def test_random_sample_is_uniform_over_active_cases(tiny_world) -> None:
    world = generate(0.008, 7, SimConfig(random_share=0.5))
    inv = world.investigations.merge(world.cases[["case_id", "benefit"]], on="case_id")
    inv = inv.merge(world.truth[["case_id", "risk_p"]], on="case_id")
    random = inv[inv["selection"] == "random"]
    assert 0.4 < len(random) / len(inv) < 0.6
    # percentiles of a uniform draw are uniform: mean about 0.5, every quarter about equally filled
    for column in ("case_id", "risk_p"):
        pct = _percentile_among_active(world, random, column)
        assert abs(pct.mean() - 0.5) < 0.06, column  # about 4 standard errors with ~350 draws
        quarters = np.bincount(np.minimum((pct * 4).astype(int), 3), minlength=4) / len(pct)
        assert (np.abs(quarters - 0.25) < 0.08).all(), (column, quarters)
    # the targeted investigations are not uniform: they lean towards high risk
    targeted = inv[inv["selection"] != "random"]
    assert _percentile_among_active(world, targeted, "risk_p").mean() > 0.56
