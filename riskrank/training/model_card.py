"""The model card: a Markdown page logged with every run, for the people who decide whether to promote."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskrank.fairness.gate import NOT_JUDGED, detectable_ratio, judged_scopes, verdict
from riskrank.fairness.measure import GroupRatio
from riskrank.fairness.policy import GATE_LEVEL, POWER, TOP_SCOPE, band_text


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none_\n"
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *rows]) + "\n"


KEY_METRICS = ("cap_hit_rate", "top_share_hit_rate", "cap_random_rate", "cap_lift", "cap_oracle_hit_rate",
               "cap_oracle_ratio", "cap_value_sek", "random_sample_hit_rate", "test_auc", "test_auc_random", "test_pr_auc",
               "test_ece", "valid_auc")


def _summary_note(artifact: str | None) -> str:
    if artifact is None:
        return ("The summary of each input's effects over the evaluation population was not drawn: the shap package "
                "(`pip install riskrank[train]`) is not installed where this model was trained.")
    return (f"How each input moves the score over the evaluation population, case by case: `{artifact}` (shap's "
            "summary of LightGBM's TreeSHAP values, the same values investigators see as reasons).")


def _channels_note(channels: pd.DataFrame | None) -> str:
    if channels is None or channels.empty:
        return "_Not compared: the data hold no truth table to judge the agency's channels by._\n"
    return ("Each channel of the agency chose investigations in the test months (FK-initiated: its rule-based risk "
            "profiles; impulse: the triage of notifications; random: the control sample). At each channel's capacity "
            "(its investigations per month and benefit) the model selects as many active cases on every evaluation "
            "date. Hit rates are the share in error by the world's truth (the channel's on the day each investigation "
            "opened). New finds are the model's selections no notification pointed at in the 90 days before; "
            "`new_finds_vs_random` is their hit rate over the random sample's.\n\n" + _table(channels))


def _not_judged(fairness: list[GroupRatio]) -> str:
    """The sentence naming the judged-scope ratios the evaluation had no power to judge (see fairness/gate.py)."""
    scopes = judged_scopes(fairness)
    weak = [r for r in fairness if r.scope in scopes and verdict(r).startswith(NOT_JUDGED)]
    where = " and ".join(s for s in scopes if any(r.scope == s for r in fairness))
    if not weak:
        return f"Every ratio the gate judges ({where}) was judged: the evaluation had the power to."
    return (f"**Not judged** ({len(weak)} of {sum(r.scope in scopes for r in fairness)} {where} ratios; a pass says "
            "nothing about them): " + "; ".join(f"{r.attribute}={r.group} {r.metric} {r.ratio:.2f} ({verdict(r)}, "
                                                f"detectable {detectable_ratio(r):.2f})" for r in weak) + ".")


def render(*, version: str | int | None, run_id: str, feature_set_version: str, data_hash: str, split: Mapping[str, str],
           counts: Mapping[str, int], feature_names: list[str], metrics: Mapping[str, float], per_benefit: pd.DataFrame,
           channels: pd.DataFrame | None = None,
           fairness: list[GroupRatio], population_note: str, importance: pd.Series, calibration_note: str = "",
           fairness_choice: str = "", trade_off: pd.DataFrame | None = None, proxies: pd.DataFrame | None = None,
           shap_summary: str | None = None) -> str:
    key = pd.DataFrame([(k, metrics[k]) for k in KEY_METRICS if k in metrics], columns=["metric", "value"])
    fair = pd.DataFrame([(r.scope, r.attribute, r.group, r.reference, r.metric, r.ratio, r.low, r.high, r.support,
                          detectable_ratio(r), verdict(r)) for r in fairness],
                        columns=["scope", "attribute", "group", "reference", "metric", "ratio", "low", "high", "support",
                                 "detectable", "verdict"])
    top = importance.head(10)
    return f"""# Model card: riskrank action model{f' version {version}' if version is not None else ''}

## Purpose and intended use
Ranks active benefit cases by the probability that a control investigation (kontrollutredning) would end
in action (refusal, reduction, stop or recovery). **It is a ranking aid for human investigators, never a
decision**: an investigator reviews every case, decides what to investigate, and the outcome rests on the
investigation, not on the score. Each score comes with its SHAP reasons so it can be questioned.

## Data
- Training rows: closed investigations, each with its case's features as of the day it opened, and (positive-
  unlabelled learning) uninvestigated active cases at month-end snapshots, label 0, at a small weight.
- Time split (when each label became known: the closing date; a case's rows stay in one split): validation from
  {split.get("valid_start")}, test from {split.get("test_start")} to {split.get("last_opened")}; everything older is
  training. Rows: {dict(counts)}.
- Training-data hash (sha256): `{data_hash}`; feature set `{feature_set_version}`; MLflow run `{run_id}`.
- Selection bias: investigations are not a random sample of cases (most start from notifications). Metrics are
  reported on the random control sample as well, and the capacity metrics below choose among all active cases.

## Features ({len(feature_names)} inputs)
{", ".join(f"`{n}`" for n in feature_names)}

Sensitive attributes (sex, age band, born abroad) are used only to measure fairness, unless listed above.
Most important inputs (mean |SHAP|): {", ".join(f"`{n}` {v:.3f}" for n, v in top.items())}.
{_summary_note(shap_summary)}

## Metrics
{population_note}

{_table(key)}
### Per benefit at capacity
{_table(per_benefit)}
### Against the agency's own channels
{_channels_note(channels)}
## Calibration
{calibration_note}

## Fairness
Ratios of each group's rate to the reference group's among the cases the model would select (selection rate,
false-positive rate, precision), with 90 % bootstrap intervals (cases resampled: a case selected on several
evaluation dates is one observation): at capacity, overall and within benefits (each group's rates standardised to
the same mix of benefits), and in the top 1 % of all active cases on each evaluation date (scope `{TOP_SCOPE}`, one
ranking over all benefits; sex and born abroad). **The band binds**: the promotion gate judges the within-benefit
ratios at capacity (capacity per benefit is the agency's allocation, not the model's choice) and the top 1 %'s, and
refuses the model if any with enough support lies outside {band_text()} with its 99 % interval excluding 1. A ratio
outside the band whose interval reaches 1 is not refused, but neither is it shown fair: the evaluation is too small
to tell.

Power: `detectable` is the smallest ratio the gate would have found beyond noise {POWER * 100:.0f} % of the time with the
cases it had, read off the width of the ratio's {GATE_LEVEL * 100:.0f} % interval. Where it lies outside {band_text()}, a
disparity at the band's edge could pass unseen, so the ratio is **not judged**: reported here and in the gate's
output, not refused (a model is refused only on a disparity beyond noise; where the ratio has the power, a point
outside the band is always beyond noise).

{_not_judged(fairness)}

{_table(fair)}
### Fairness-aware training: which model and why
Sensitive attributes steered the fit only through the training objective's penalty (fairness/objective.py); they
are not model inputs and play no part at scoring or selection. {fairness_choice}.

{_table(trade_off) if trade_off is not None else "_no family fitted_"}
### Strongest proxies (what an input tells about a group within each label class; 0.5 = nothing)
{_table(proxies) if proxies is not None else "_not screened_"}
## Limits
- Trained and tested on a synthetic world calibrated to published figures, not on real case data.
- Labels exist only for investigated cases; errors nobody investigated are invisible to training.
- Investigations still open at the end of the data are left out, which favours quickly closed cases in the
  newest months.
- The random control sample that calibrates the score is small: the calibration's base rate is uncertain.
- Drift (new error patterns, new notification sources) lowers quality over time: monitor and retrain.

## Human oversight
Investigators can disagree with a score and record why; those disagreements and the outcomes of the random
control sample are the check on this model.
"""
