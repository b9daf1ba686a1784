"""Impulses in the agency's order: sources send notifications, the agency triages some into investigations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskrank.simulation import SimConfig, generate
from riskrank.world import in_error_on


def _notifications(world) -> pd.DataFrame:
    notes = world.signals[world.signals["kind"] == "notification"].drop(columns="kind")
    return notes.sort_values(["date", "person_id", "case_id", "source"], kind="stable").reset_index(drop=True)


def test_another_triage_draw_leaves_every_notification_unchanged(tiny_world) -> None:
    other = generate(0.003, 7, SimConfig(triage_seed=1234))
    assert other.meta["triage_seed"] == 1234
    # the investigations (who was triaged, opened when) differ ...
    assert not other.investigations[["case_id", "opened_date"]].equals(tiny_world.investigations[["case_id", "opened_date"]])
    # ... but notifications do not depend on which cases get investigated
    pd.testing.assert_frame_equal(_notifications(other), _notifications(tiny_world))
    pd.testing.assert_series_equal(other.truth["error_start"], tiny_world.truth["error_start"])


def test_most_notifications_are_never_investigated_and_every_impulse_follows_one(tiny_world) -> None:
    notes = _notifications(tiny_world)
    inv = tiny_world.investigations
    impulses = inv[inv["selection"] == "impulse"]
    assert len(notes) > 3 * len(impulses)
    investigated = notes["case_id"].isin(inv["case_id"])
    assert (~investigated).mean() > 0.5
    # each impulse opened 3-40 days after a notification about the same case, from the source it names
    pairs = impulses.merge(notes, on="case_id")
    lag = (pairs["opened_date"] - pairs["date"]).dt.days
    same_source = pairs["impulse_source"].astype(str) == pairs["source"].astype(str)
    followed = pairs[lag.between(3, 40) & same_source].groupby("investigation_id").size()
    assert set(followed.index) == set(impulses["investigation_id"])
    # FK-initiated and random investigations need no notification
    assert inv.loc[inv["selection"] != "impulse", "impulse_source"].isna().all()


def test_notified_cases_are_more_often_in_error_but_far_from_always(tiny_world) -> None:
    notes = _notifications(tiny_world)
    in_error = in_error_on(tiny_world.truth, notes["case_id"].astype(int), notes["date"])
    base = tiny_world.truth["error_start"].notna().mean()
    assert 2 * base < in_error.mean() < 0.6


def test_ubm_notifications_only_from_2024_and_only_about_sjukpenning() -> None:
    world = generate(0.02, 3)
    notes = _notifications(world)
    ubm = notes[notes["source"] == "ubm"]
    assert len(ubm) > 0
    assert (ubm["date"] >= pd.Timestamp("2024-01-01")).all()
    benefit = world.cases.set_index("case_id").loc[ubm["case_id"].astype(int), "benefit"]
    assert (benefit == "sjukpenning").all()
    # about 150 a year at full scale (facts.md): a handful at this scale, not thousands
    assert len(ubm) <= 0.02 * 150 * 2.5
    assert np.isin(notes.loc[notes["source"] == "school", "case_id"],
                   world.cases.loc[world.cases["benefit"].isin(["barnbidrag", "omvardnadsbidrag"]), "case_id"]).all()
