"""What an investigation reveals (issue 23): with an action, the start of the erroneous period it established
and the amount reclaimed over it; without one, nothing. Neither may become a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskrank.features.pipeline import compute_features
from riskrank.simulation.investigations import DETECTED_MONTHS_CAP, MONTH_DAYS
from riskrank.world import SCHEMA, ContractError, World, after_burn_in, validate_table

NEW = ("error_found_start", "recovery_sek")


def test_the_contract_holds_the_new_columns(tiny_world) -> None:
    assert SCHEMA["investigations"]["error_found_start"] == "d?"
    assert SCHEMA["investigations"]["recovery_sek"] == "f?"
    assert set(NEW) <= set(tiny_world.investigations.columns)


def test_null_without_action_and_while_open(tiny_world) -> None:
    inv = tiny_world.investigations
    acted = inv["action"].fillna(False).astype(bool)
    assert acted.sum() > 20 and (~acted).sum() > 20
    assert inv.loc[~acted, list(NEW)].isna().all().all()  # no action, or still open: none found
    assert inv.loc[acted, list(NEW)].notna().all().all()


def test_established_start_is_plausible(tiny_world) -> None:
    """Plausible: on or after the truth's error_start (what is found lies within the error), on or before the
    investigation opened (the error was running then), and at most DETECTED_MONTHS_CAP months before the
    error's end as found (återkrav reaches back five years); equal to the truth's start where that is closer."""
    inv = tiny_world.investigations.merge(tiny_world.truth[["case_id", "error_start", "error_end"]], on="case_id")
    acted = inv[inv["action"].fillna(False).astype(bool)]
    found = acted["error_found_start"]
    assert (found >= acted["error_start"]).all()
    assert (found <= acted["opened_date"]).all()
    until = acted[["closed_date", "error_end"]].min(axis=1)
    cap = pd.Timedelta(days=int(DETECTED_MONTHS_CAP * MONTH_DAYS))
    assert (found >= until - cap).all()
    within_cap = acted["error_start"] >= acted["closed_date"] - cap
    assert within_cap.mean() > 0.5
    assert (found[within_cap] == acted.loc[within_cap, "error_start"]).all()


def test_recovery_is_the_reclaimed_amount(tiny_world) -> None:
    inv = tiny_world.investigations
    acted = inv[inv["action"].fillna(False).astype(bool)]
    assert (acted["recovery_sek"] >= 0).all() and (acted["recovery_sek"] > 0).mean() > 0.5
    # the recovery decision is what the world counts as detected (Tabell 76 counts recovery decisions)
    np.testing.assert_array_equal(acted["recovery_sek"].to_numpy(), acted["detected_sek"].to_numpy())
    refused = acted["action_type"] == "refused"
    assert (acted.loc[refused, "recovery_sek"] == 0).all()


def test_revealed_columns_never_reach_the_features(tiny_world) -> None:
    keys = pd.DataFrame({"case_id": tiny_world.cases["case_id"].to_numpy()[::7],
                         "as_of": np.full(len(tiny_world.cases[::7]), np.datetime64("2024-06-30", "us"))})
    before = compute_features(tiny_world, keys)
    assert not set(NEW) & set(before.columns)
    inv = tiny_world.investigations.copy()
    rng = np.random.default_rng(1)
    inv["error_found_start"] = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 2000, len(inv)), "D")
    inv["recovery_sek"] = rng.random(len(inv)) * 1e6
    scrambled = World(tiny_world.persons, tiny_world.cases, tiny_world.signals, inv, tiny_world.truth, tiny_world.meta)
    pd.testing.assert_frame_equal(compute_features(scrambled, keys), before)


def test_burn_in_investigations_are_history_not_outcomes(tiny_world) -> None:
    inv = tiny_world.investigations
    burn_in = inv["closed_date"] < pd.Timestamp("2022-01-01")
    assert burn_in.sum() > 50
    kept = after_burn_in(inv, tiny_world.meta)
    assert len(kept) == int((~burn_in).sum()) and (kept["closed_date"].dropna() >= pd.Timestamp("2022-01-01")).all()
    assert after_burn_in(inv, {"start_date": "2022-01-01"}) is inv  # a world without a burn-in keeps all


def test_contract_checks_the_revealed_columns_when_present(tiny_world) -> None:
    inv = tiny_world.investigations
    validate_table("investigations", inv)
    validate_table("investigations", inv.drop(columns=list(NEW)))  # optional: a world may lack them
    without = inv.index[~inv["action"].fillna(False).astype(bool)][0]
    bad = inv.copy()
    bad.loc[without, "recovery_sek"] = 100.0
    with pytest.raises(ContractError, match="investigations, column recovery_sek: 1 values without an action"):
        validate_table("investigations", bad)
    with pytest.raises(ContractError, match="column error_found_start: expected datetime"):
        validate_table("investigations", inv.assign(error_found_start="2020-01-01"))
