"""Evaluation of a scored model: investigation-level metrics on the test months, capacity metrics on the
evaluation population (model vs random vs oracle), calibration and group fairness. Pure over frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from riskrank.fairness.measure import CLUSTER, GroupRatio, selection_fairness
from riskrank.fairness.policy import N_BOOT, OVERALL, TOP_SCOPE, TOP_SHARE_ATTRIBUTES
from riskrank.training import metrics as m
from riskrank.training.dataset import LABEL, VALUE
from riskrank.training.population import EVAL_DATE, NEW_FIND, SLOT, slot_key

CAPACITY_MULTIPLIERS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
# A deeper cut than capacity (many times its cases; docs/training.md), where a ranking's hit rate and group ratios rest
# on thousands of selected cases instead of hundreds: the top 1 % of all active cases on each evaluation date.
TOP_SHARE = 0.01


@dataclass
class Evaluation:
    metrics: dict[str, float]
    fairness: list[GroupRatio]
    per_benefit: pd.DataFrame
    capacity_curve: pd.DataFrame
    reliability: m.Reliability
    test_labels: np.ndarray
    test_scores: np.ndarray
    extra: dict = field(default_factory=dict)
    channels: pd.DataFrame = field(default_factory=pd.DataFrame)  # channel_metrics; empty without the world's truth


def investigation_metrics(test: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """On closed test investigations: all of them (biased by how cases were chosen) and the random sample only."""
    out: dict[str, float] = {}
    y = test[LABEL].to_numpy()
    is_random = (test["selection"] == "random").to_numpy()
    for suffix, mask in (("", np.ones(len(test), bool)), ("_random", is_random)):
        out[f"test_auc{suffix}"] = m.roc_auc(y[mask], scores[mask])
        out[f"test_pr_auc{suffix}"] = m.pr_auc(y[mask], scores[mask])
        out[f"test_ece{suffix}"] = m.expected_calibration_error(y[mask], scores[mask])
        out[f"test_brier{suffix}"] = m.brier(y[mask], scores[mask])
        out[f"test_hit_rate{suffix}"] = float(y[mask].mean()) if mask.any() else float("nan")
        out[f"test_n{suffix}"] = float(mask.sum())
    # The random control sample's hit rate is the unbiased base rate the model's lift is read against.
    out["random_sample_hit_rate"] = out["test_hit_rate_random"]
    # what the agency's own selections found in the same months, to read the model's capacity hit rate against
    for name in ("impulse", "fk_initiated"):
        mask = (test["selection"] == name).to_numpy()
        out[f"test_hit_rate_{name}"] = float(y[mask].mean()) if mask.any() else float("nan")
        out[f"test_n_{name}"] = float(mask.sum())
    return out


def scale_capacity(capacity: Mapping[str, int], factor: float) -> dict[str, int]:
    return {k: max(1, round(v * factor)) for k, v in capacity.items()}


def random_rate(pop: pd.DataFrame, capacity: Mapping[str, int]) -> float:
    """Expected hit rate of picking k cases at random in every slot: slot base rates weighted by min(k, n)."""
    stats = pop.groupby(SLOT, observed=True)[LABEL].agg(["mean", "size"])
    k = np.array([min(capacity.get(str(s), 0), n) for s, n in zip(stats.index, stats["size"], strict=True)], dtype=float)
    return float((k * stats["mean"].to_numpy()).sum() / k.sum()) if k.sum() else float("nan")


def selection(pop: pd.DataFrame, scores: np.ndarray, capacity: Mapping[str, int]) -> np.ndarray:
    return m.top_k_by_group(pop.assign(_score=scores), "_score", capacity, SLOT).to_numpy()


def top_share_selection(pop: pd.DataFrame, scores: np.ndarray, share: float = TOP_SHARE) -> np.ndarray | None:
    """The top `share` of the population on each evaluation date by score, one ranking over all benefits; None
    where the population is not every active case (without truth, the fallback ranks test investigations)."""
    if EVAL_DATE not in pop.columns:
        return None
    days = pd.Categorical(pop[EVAL_DATE])  # a categorical, not millions of date strings
    dates = pd.DataFrame({EVAL_DATE: days.rename_categories(days.categories.astype(str)), "_score": scores})
    sizes = dates.groupby(EVAL_DATE, observed=True).size()
    return m.top_k_by_group(dates, "_score", {d: max(1, round(share * n)) for d, n in sizes.items()}, EVAL_DATE).to_numpy()


@dataclass(frozen=True)
class Cuts:
    """The two selections a ranking is judged by, made once per scoring: at capacity within benefits, and the top 1 %
    of all active cases on each date (None where the population is not every active case)."""
    capacity: np.ndarray
    top_share: np.ndarray | None


def cuts(pop: pd.DataFrame, scores: np.ndarray, capacity: Mapping[str, int]) -> Cuts:
    return Cuts(selection(pop, scores, capacity), top_share_selection(pop, scores))


def gate_ratios(pop: pd.DataFrame, cut: Cuts, n_boot: int = N_BOOT, seed: int = 0) -> list[GroupRatio]:
    """The ratios the fairness gate judges, as training and `riskrank promote` measure them: every ratio of the
    selection at capacity (overall and within benefits), and, where there is a top 1 % cut, the overall ratios of
    TOP_SHARE_ATTRIBUTES in it (scope TOP_SCOPE)."""
    ratios = selection_fairness(pop, cut.capacity, LABEL, n_boot=n_boot, seed=seed)
    if cut.top_share is None or not cut.top_share.any():
        return ratios
    columns = [c for c in (*TOP_SHARE_ATTRIBUTES, LABEL, CLUSTER) if c in pop.columns]  # no benefit: one ranking
    deeper = selection_fairness(pop[columns], cut.top_share, LABEL, n_boot=n_boot, seed=seed)
    return ratios + [replace(r, scope=TOP_SCOPE) for r in deeper if r.scope == OVERALL]


def capacity_metrics(pop: pd.DataFrame, cut: Cuts, capacity: Mapping[str, int]) -> tuple[dict[str, float], pd.DataFrame]:
    """Model at capacity against random and (where the population has risk_p) the oracle, overall and per benefit."""
    chosen = cut.capacity
    y = pop[LABEL].to_numpy(dtype=float)
    out = {
        "cap_selected": float(chosen.sum()),
        "cap_hit_rate": float(y[chosen].mean()) if chosen.any() else float("nan"),
        "cap_random_rate": random_rate(pop, capacity),
        "cap_value_sek": float(pop.loc[chosen, VALUE].fillna(0).sum()) if VALUE in pop else float("nan"),
    }
    out["cap_lift"] = m.lift(out["cap_hit_rate"], out["cap_random_rate"])
    if cut.top_share is not None:
        out["top_share_hit_rate"] = float(y[cut.top_share].mean())
    if NEW_FIND in pop.columns:
        # new finds: selected cases no recent notification pointed at, so no impulse would have brought them in
        new = chosen & pop[NEW_FIND].to_numpy(dtype=bool)
        out["cap_new_find_share"] = float(new.sum() / chosen.sum()) if chosen.any() else float("nan")
        out["cap_hit_rate_new_finds"] = float(y[new].mean()) if new.any() else float("nan")
    oracle_chosen = None
    if "risk_p" in pop.columns:
        oracle_chosen = selection(pop, pop["risk_p"].to_numpy(dtype=float), capacity)
        out["cap_oracle_hit_rate"] = float(y[oracle_chosen].mean())
        out["cap_oracle_ratio"] = m.lift(out["cap_hit_rate"], out["cap_oracle_hit_rate"])
    rows = []
    benefit = pop["benefit"].astype(str).to_numpy()
    for b in sorted(set(benefit)):
        in_b = benefit == b
        sel_b = chosen & in_b
        row = {"benefit": b, "selected": int(sel_b.sum()), "hit_rate": float(y[sel_b].mean()) if sel_b.any() else float("nan"),
               "random_rate": random_rate(pop.loc[in_b], capacity)}
        row["lift"] = m.lift(row["hit_rate"], row["random_rate"])
        if oracle_chosen is not None:
            o_b = oracle_chosen & in_b
            row["oracle_hit_rate"] = float(y[o_b].mean()) if o_b.any() else float("nan")
        rows.append(row)
        out[f"cap_hit_rate_{b}"] = row["hit_rate"]
        out[f"cap_lift_{b}"] = row["lift"]
    return out, pd.DataFrame(rows)


def channel_metrics(pop: pd.DataFrame, scores: np.ndarray, channels: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """The model against each channel of the agency (population.agency_channels), at that channel's capacity per
    benefit and month on every evaluation date: its hit rate beside the channel's, and its new finds (no
    notification pointed at them) beside the random sample's rate. One row per channel."""
    y = pop[LABEL].to_numpy(dtype=float)
    dates = pop[EVAL_DATE].drop_duplicates()
    new_find = pop[NEW_FIND].to_numpy(dtype=bool)
    rows = []
    for channel, part in channels.groupby("channel", sort=False):
        capacity = {slot_key(d, b): int(k) for d in dates for b, k in zip(part["benefit"], part["per_month"], strict=True)}
        chosen = selection(pop, scores, capacity)
        new = chosen & new_find
        rows.append({"channel": channel, "opened": int(part["opened"].sum()),
                     "agency_hit_rate": float(part["in_error"].sum() / part["opened"].sum()),
                     "model_selected": int(chosen.sum()),
                     "model_hit_rate": float(y[chosen].mean()) if chosen.any() else float("nan"),
                     "model_new_finds": int(new.sum()),
                     "model_new_find_hit_rate": float(y[new].mean()) if new.any() else float("nan")})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return {}, frame
    random_rate = frame.set_index("channel")["agency_hit_rate"].get("random", float("nan"))
    frame["ratio"] = [m.lift(a, b) for a, b in zip(frame["model_hit_rate"], frame["agency_hit_rate"], strict=True)]
    frame["new_finds_vs_random"] = [m.lift(a, random_rate) for a in frame["model_new_find_hit_rate"]]
    metrics: dict[str, float] = {}
    for row in frame.itertuples(index=False):
        metrics |= {f"channel_{row.channel}_hit_rate": row.agency_hit_rate,
                    f"channel_{row.channel}_model_hit_rate": row.model_hit_rate,
                    f"channel_{row.channel}_ratio": row.ratio,
                    f"channel_{row.channel}_new_finds_vs_random": row.new_finds_vs_random}
    return metrics, frame


def capacity_curve(pop: pd.DataFrame, scores: np.ndarray, capacity: Mapping[str, int],
                   multipliers=CAPACITY_MULTIPLIERS) -> pd.DataFrame:
    """Hit rate of model, oracle and random as capacity grows (1.0 = the agency's capacity)."""
    y = pop[LABEL].to_numpy(dtype=float)
    rows = []
    for factor in multipliers:
        cap = scale_capacity(capacity, factor)
        chosen = selection(pop, scores, cap)
        row = {"capacity_factor": factor, "selected": int(chosen.sum()), "model": float(y[chosen].mean()),
               "random": random_rate(pop, cap)}
        if "risk_p" in pop.columns:
            row["oracle"] = float(y[selection(pop, pop["risk_p"].to_numpy(dtype=float), cap)].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate(test: pd.DataFrame, test_scores: np.ndarray, pop: pd.DataFrame, pop_scores: np.ndarray,
             capacity: Mapping[str, int], n_boot: int = N_BOOT, seed: int = 0,
             channels: pd.DataFrame | None = None) -> Evaluation:
    """`channels`: population.agency_channels, where the world has its truth (None: not compared)."""
    out = investigation_metrics(test, test_scores)
    cut = cuts(pop, pop_scores, capacity)
    cap, per_benefit = capacity_metrics(pop, cut, capacity)
    out |= cap
    by_channel, channel_table = channel_metrics(pop, pop_scores, channels) if channels is not None else ({}, pd.DataFrame())
    out |= by_channel
    ratios = gate_ratios(pop, cut, n_boot=n_boot, seed=seed)
    out |= {r.key: r.ratio for r in ratios}
    rel = m.reliability(test[LABEL].to_numpy(), test_scores)
    return Evaluation(out, ratios, per_benefit, capacity_curve(pop, pop_scores, capacity), rel,
                      test[LABEL].to_numpy(), np.asarray(test_scores), channels=channel_table)
