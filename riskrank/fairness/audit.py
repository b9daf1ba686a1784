"""Fairness audit of a risk model's selections, on any table of selections.

The method of published audits of welfare risk models: the random sample stands for the population,
so it gives each group's population share and base error rate; the model's investigated selections
give true and false positives; the rest of each group's confusion matrix in the whole population follows:

The random sample must be drawn from the whole population (selected people included).

    N_g  = population * (random rows in g / random rows)          estimated people in g
    P_g  = N_g * (errors found among g's investigated random rows / g's investigated random rows)
    TP_g = model selections in g * precision_g,   FP_g = selections - TP_g      (convention "extrapolate")
    FN_g = max(P_g - TP_g, 0),                    TN_g = max(N_g - P_g - FP_g, 0)

Per group: selection rate (selections / N_g) against population share (statistical parity), precision
(hit rate), false-positive rate FP/(N-P), false-negative rate FN/P, and the share of the group's errors
found against the share of the group selected (found_to_selected = recall / selection rate, the model's
lift within the group). Each metric is also a ratio to a reference group, with percentile bootstrap
intervals (random and model rows resampled independently, measure.resample_cells); ratios outside 0.8-1.25 are flagged.

Missing outcomes (`missing_outcome`): random-sample rows without an outcome (not investigated, still open) are
either left out of each group's base error rate ("unknown", the default) or counted as no error ("no-error").

Conventions (`convention`) for the model's selections without an outcome:
- "extrapolate" (the default): they take their group's precision among its investigated selections.
- "published", the method published with the audit of the Swedish agency's temporary-parental-benefit model:
  only selections with a determinate outcome count, as true or false positives (TP_g, FP_g = the selections found
  in error and not); those without one are neither, though they still count as selected. Every random-sample row
  counts toward its group's share and base rate (missing outcome: no-error).

The fully labelled shape (`selected_col`): one row per case with a 1/0 selection and the outcome of every row (a
test set, or a pilot where every case was checked). Each group's confusion matrix is then counted directly, with
no random sample and no population size; the metrics, ratios, intervals (rows resampled) and outputs are the same.
Selection rate, false-positive rate and precision are the definitions of riskrank.fairness.measure, and the
default reference groups are its SENSITIVE_REFERENCES where the column is one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from riskrank.errors import UserError
from riskrank.fairness.measure import bootstrap_cells, cell_rates, percentile_interval, resample_cells
from riskrank.fairness.policy import FAIR_HIGH, FAIR_LOW, SENSITIVE_REFERENCES

METRICS: tuple[str, ...] = ("selection_rate", "precision", "fpr", "fnr", "found_to_selected")
METRIC_LABELS: dict[str, str] = {
    "selection_rate": "Selection rate",
    "precision": "Precision (hit rate)",
    "fpr": "False-positive rate",
    "fnr": "False-negative rate",
    "found_to_selected": "Share of errors found / share selected",
}
METRIC_SHORT: dict[str, str] = {
    "selection_rate": "Selection rate", "precision": "Precision", "fpr": "False-positive rate", "fnr": "False-negative rate",
    "found_to_selected": "Errors found / selected",
}
AUDITED = ("model", "random")
IGNORED_SELECTIONS = ("impulse", "fk_initiated")
_STATES = ("pos", "neg", "blank")


class MissingOutcome(StrEnum):
    """How random-sample rows without an outcome are read (see the module's docstring)."""

    unknown = "unknown"
    no_error = "no-error"


MISSING_OUTCOME: tuple[str, ...] = tuple(MissingOutcome)


class Convention(StrEnum):
    """How the model's selections without an outcome are counted (see the module's docstring)."""

    extrapolate = "extrapolate"
    published = "published"
RANDOM_SAMPLE, FULLY_LABELLED = "random sample", "fully labelled"


@dataclass
class AuditResult:
    records: list[dict]
    population: int
    n_random: int
    n_selected: int
    references: dict[str, str]
    ignored_rows: int = 0
    notes: list[str] = field(default_factory=list)
    missing_outcome: str = "unknown"
    shape: str = RANDOM_SAMPLE
    convention_used: str = Convention.extrapolate

    def convention(self) -> str:
        """One line saying how the table was read, for every output."""
        if self.shape == FULLY_LABELLED:
            how = "fully labelled table: each group's confusion matrix counted directly"
            blank = "blank outcomes counted as no error" if self.missing_outcome == "no-error" else "no blank outcomes"
        else:
            how = "random sample + model selections: confusion matrices estimated for the population"
            blank = ("random-sample rows without an outcome counted as no error" if self.missing_outcome == "no-error"
                     else "random-sample rows without an outcome left out of the base rate (unknown)")
            if self.convention_used == Convention.published:
                how += ("; published audit convention: model selections without an outcome are neither true nor false "
                        "positives")
            else:
                how += "; model selections without an outcome take their group's precision (extrapolate)"
        return f"{how}; missing outcomes: {self.missing_outcome} ({blank})"


def load_selections(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table of selections; a clear UserError if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:  # the reader's own message says what is wrong with the file
        raise UserError(f"cannot read {path}: {exc}") from exc
    raise UserError(f"file {path}: expected a .csv or .parquet file")


def _outcome_values(series: pd.Series, column: str) -> pd.Series:
    mapping = {"1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0, "true": 1.0, "false": 0.0, "": np.nan}
    text = series.astype("string").str.strip().str.lower().fillna("")
    bad = sorted(set(text.unique()) - set(mapping))
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5])
        raise UserError(f"column {column!r}: outcome values must be 1, 0 or blank; found {shown}")
    return text.map(mapping).astype(float)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], group_cols: Sequence[str], score_col: str | None) -> None:
    """Either shape of audit table: at least one group, and every named column present."""
    if not group_cols:
        raise UserError("name at least one group column with --group")
    wanted = [*columns, *group_cols, *([score_col] if score_col else [])]
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise UserError(f"column(s) {', '.join(map(repr, missing))} not found; the table has {have}")


def prepare_selections(frame: pd.DataFrame, group_cols: Sequence[str], selection_col: str = "selection",
                       outcome_col: str = "outcome", score_col: str | None = None) -> tuple[pd.DataFrame, int]:
    """Check the table and keep the audited rows: `selection` (model | random), `outcome` (1.0, 0.0, NaN),
    the group columns as strings (blank -> "unknown") and `score` if named. Returns (rows, ignored rows)."""
    _require_columns(frame, [selection_col, outcome_col], group_cols, score_col)
    selection = frame[selection_col].astype("string").str.strip().str.lower()
    unknown = sorted(set(selection.dropna().unique()) - set(AUDITED) - set(IGNORED_SELECTIONS))
    if unknown or selection.isna().any():
        shown = ", ".join(repr(u) for u in unknown[:5]) or "blank"
        raise UserError(f"column {selection_col!r}: unknown selection value(s) {shown}; expected model or random")
    audited = selection.isin(AUDITED)
    outcome = _outcome_values(frame.loc[audited, outcome_col], outcome_col)
    out = pd.DataFrame({"selection": selection[audited].astype(str), "outcome": outcome})
    for col in group_cols:
        out[col] = frame.loc[audited, col].astype("string").str.strip().replace("", pd.NA).fillna("unknown").astype(str)
    if score_col:
        score = pd.to_numeric(frame.loc[audited, score_col], errors="coerce")
        if score.isna().any() and frame.loc[audited, score_col].notna().any():
            raise UserError(f"column {score_col!r}: scores must be numbers")
        out["score"] = score
    for needed in AUDITED:
        if not (out["selection"] == needed).any():
            raise UserError(f"column {selection_col!r}: no {needed!r} rows; the audit needs model selections and a random sample")
    return out.reset_index(drop=True), int((~audited).sum())


def _cell_counts(rows: pd.DataFrame, group_col: str, groups: list[str]) -> np.ndarray:
    """Counts per (group, state) with state pos / neg / blank, flattened group-major."""
    state = np.where(rows["outcome"] == 1.0, "pos", np.where(rows["outcome"] == 0.0, "neg", "blank"))
    table = pd.crosstab(rows[group_col], state).reindex(index=groups, columns=list(_STATES), fill_value=0)
    return table.to_numpy(dtype=float).reshape(-1)


def _metrics(tn: np.ndarray, fn: np.ndarray, fp: np.ndarray, tp: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group metrics from confusion matrices (arrays shaped (..., groups)); selection rate, precision and FPR
    are the gate's (measure.cell_rates)."""
    cells = np.stack([np.stack([tn, fn], axis=-1), np.stack([fp, tp], axis=-1)], axis=-2)
    rates = cell_rates(cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        size, selected, positives = rates["n"], rates["selected"], fn + tp
        recall = tp / positives
        return {
            "population_share": size / size.sum(axis=-1, keepdims=True),
            "selected_share": selected / selected.sum(axis=-1, keepdims=True), "population_size": size,
            "base_rate": positives / size, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "selection_rate": rates["selection_rate"], "precision": rates["precision"], "fpr": rates["fpr"],
            "fnr": fn / positives, "errors_found_share": recall, "found_to_selected": recall / rates["selection_rate"],
        }


def _estimate(random_cells: np.ndarray, model_cells: np.ndarray, population: int,
              convention: str = Convention.extrapolate) -> dict[str, np.ndarray]:
    """Per-group population confusion matrices and metrics from cell counts shaped (..., groups, 3)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r_pos, r_neg, r_blank = random_cells[..., 0], random_cells[..., 1], random_cells[..., 2]
        m_pos, m_neg, m_blank = model_cells[..., 0], model_cells[..., 1], model_cells[..., 2]
        r_n = r_pos + r_neg + r_blank
        m_n = m_pos + m_neg + m_blank
        share = r_n / r_n.sum(axis=-1, keepdims=True)
        size = population * share
        base_rate = r_pos / (r_pos + r_neg)
        positives = size * base_rate
        if convention == Convention.published:
            tp, fp = m_pos, m_neg
        else:
            tp = np.where(m_n > 0, m_n * m_pos / (m_pos + m_neg), 0.0)  # a group with no selections has no true positives
            fp = m_n - tp
        fn = np.maximum(positives - tp, 0.0)
        tn = np.maximum(size - positives - fp, 0.0)
        # The random sample, not the estimated matrix, gives each group's share, size and base rate; and every
        # selection is selected, with an outcome or not.
        selected = {"population_share": share, "population_size": size, "base_rate": base_rate,
                    "selection_rate": m_n / size, "selected_share": m_n / m_n.sum(axis=-1, keepdims=True)}
    metrics = _metrics(tn, fn, fp, tp) | selected
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics["found_to_selected"] = metrics["errors_found_share"] / metrics["selection_rate"]
    return metrics


def _check_groups(rows: pd.DataFrame, group_col: str) -> list[str]:
    random = rows[rows["selection"] == "random"]
    investigated = random[random["outcome"].notna()]
    groups = sorted(rows[group_col].unique())
    for group in groups:
        if not (random[group_col] == group).any():
            raise UserError(f"group column {group_col!r}: group {group!r} has no random-sample rows, so its population share "
                            "and error rate cannot be estimated")
        if not (investigated[group_col] == group).any():
            raise UserError(f"group column {group_col!r}: group {group!r} has no investigated random-sample rows (outcome 1, 0)")
    return groups


def _labelled_estimate(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group confusion matrices and metrics of a fully labelled table from cell counts shaped
    (..., groups, selected 0/1, outcome 0/1)."""
    tn, fn, fp, tp = (cells[..., s, o].astype(float) for s, o in ((0, 0), (0, 1), (1, 0), (1, 1)))
    return _metrics(tn, fn, fp, tp)


def prepare_labelled(frame: pd.DataFrame, group_cols: Sequence[str], selected_col: str, outcome_col: str,
                     score_col: str | None, missing_outcome: str) -> pd.DataFrame:
    """Check a fully labelled table: `selected` 1/0 and an outcome for every row (blank only with no-error)."""
    _require_columns(frame, [selected_col, outcome_col], group_cols, score_col)
    if frame.empty:
        raise UserError("the table has no rows")
    selected = _outcome_values(frame[selected_col], selected_col)
    if selected.isna().any():
        raise UserError(f"column {selected_col!r}: every row needs 1 (selected) or 0 (not selected)")
    outcome = _outcome_values(frame[outcome_col], outcome_col)
    if outcome.isna().any():
        if missing_outcome != "no-error":
            raise UserError(f"column {outcome_col!r}: {int(outcome.isna().sum())} rows have no outcome; a fully labelled "
                            "table needs one for every row, or say --missing-outcome no-error to count them as no error")
        outcome = outcome.fillna(0.0)
    out = pd.DataFrame({"selected": selected.astype(int).to_numpy(), "outcome": outcome.astype(int).to_numpy()})
    for col in group_cols:
        out[col] = frame[col].astype("string").str.strip().replace("", pd.NA).fillna("unknown").astype(str).to_numpy()
    if score_col:
        score = pd.to_numeric(frame[score_col], errors="coerce")
        if score.isna().any() and frame[score_col].notna().any():
            raise UserError(f"column {score_col!r}: scores must be numbers")
        out["score"] = score.to_numpy()
    if not out["selected"].any():
        raise UserError(f"column {selected_col!r}: no row is selected (1); nothing to audit")
    return out


def _reference(group_col: str, groups: list[str], sizes: np.ndarray, references: dict[str, str]) -> str:
    """The named reference, else riskrank's reference for a sensitive column, else the largest group."""
    default = SENSITIVE_REFERENCES.get(group_col)
    reference = references.get(group_col) or (default if default in groups else None) or groups[int(np.argmax(sizes))]
    if reference not in groups:
        raise UserError(f"reference group {reference!r} not found in column {group_col!r}; groups are {', '.join(groups)}")
    return reference


def audit_selections(frame: pd.DataFrame, group_cols: Sequence[str], population: int | None = None, *,
                     selection_col: str = "selection", outcome_col: str = "outcome", score_col: str | None = None,
                     references: dict[str, str] | None = None, n_boot: int = 1000, seed: int = 0,
                     confidence: float = 0.95, missing_outcome: str = "unknown",
                     selected_col: str | None = None, convention: str = Convention.extrapolate) -> AuditResult:
    """Each group's confusion matrix (estimated for the population from a random sample and the model's
    selections, or counted in a fully labelled table when `selected_col` is given) and the fairness metrics
    with bootstrap intervals."""
    if missing_outcome not in MISSING_OUTCOME:
        raise UserError(f"--missing-outcome {missing_outcome!r}: use one of {', '.join(MISSING_OUTCOME)}")
    if convention not in tuple(Convention):
        raise UserError(f"--convention {convention!r}: use one of {', '.join(Convention)}")
    if n_boot < 0:
        raise UserError("--bootstrap must be zero or more")
    references = dict(references or {})
    unknown_refs = sorted(set(references) - set(group_cols))
    if unknown_refs:
        raise UserError(f"reference given for {', '.join(map(repr, unknown_refs))}, which is not a --group column")
    rng = np.random.default_rng(seed)
    records: list[dict] = []
    chosen_refs: dict[str, str] = {}
    notes: list[str] = []
    if selected_col is not None:
        rows = prepare_labelled(frame, group_cols, selected_col, outcome_col, score_col, missing_outcome)
        ignored, n_random, n_selected, size = 0, 0, int(rows["selected"].sum()), len(rows)
        if population is not None:
            notes.append("--population is not used with a fully labelled table (--selected-col): every case is in it")
        if convention == Convention.published:
            notes.append("--convention published changes nothing in a fully labelled table: every selection has an outcome")
    else:
        if population is None:
            raise UserError("give --population (the size of the population the selections were drawn from), or "
                            "--selected-col for a fully labelled table")
        rows, ignored = prepare_selections(frame, group_cols, selection_col, outcome_col, score_col)
        if population <= 0:
            raise UserError("--population must be a positive number of people")
        if population < len(rows):
            raise UserError(f"--population {population} is smaller than the {len(rows)} selected rows in the table")
        if convention == Convention.published:
            missing_outcome = MissingOutcome.no_error  # the published convention counts every random-sample row
        if missing_outcome == "no-error":
            rows.loc[(rows["selection"] == "random") & rows["outcome"].isna(), "outcome"] = 0.0
        random_rows = rows[rows["selection"] == "random"]
        model_rows = rows[rows["selection"] == "model"]
        n_random, n_selected, size = len(random_rows), len(model_rows), population
    shape_name = FULLY_LABELLED if selected_col is not None else RANDOM_SAMPLE
    for group_col in group_cols:
        if selected_col is not None:
            groups = sorted(rows[group_col].unique())
            codes = pd.Categorical(rows[group_col], categories=groups).codes.astype(np.int64)
            shape: tuple[int, ...] = (len(groups), 2, 2)
            cells = np.bincount((codes * 2 + rows["selected"].to_numpy()) * 2 + rows["outcome"].to_numpy(),
                                minlength=4 * len(groups)).astype(float)
            point = _labelled_estimate(cells.reshape(shape))
            reference = _reference(group_col, groups, cells.reshape(shape).sum(axis=(1, 2)), references)
            boot = None
            if n_boot:
                boot = _labelled_estimate(bootstrap_cells(cells.reshape(shape), n_boot, rng))
            counts = [{"n_cases": int(c.sum()), "n_random": 0, "n_random_investigated": 0, "n_selected": int(c[1].sum()),
                       "n_selected_investigated": int(c[1].sum())} for c in cells.reshape(shape)]
        else:
            groups = _check_groups(rows, group_col)
            random_cells = _cell_counts(random_rows, group_col, groups)
            model_cells = _cell_counts(model_rows, group_col, groups)
            shape = (len(groups), len(_STATES))
            point = _estimate(random_cells.reshape(shape), model_cells.reshape(shape), size, convention)
            reference = _reference(group_col, groups, random_cells.reshape(shape).sum(axis=1), references)
            boot = None
            if n_boot:
                boot = _estimate(resample_cells(random_cells.reshape(shape), n_boot, rng),
                                 resample_cells(model_cells.reshape(shape), n_boot, rng), size, convention)
            r_shaped, m_shaped = random_cells.reshape(shape), model_cells.reshape(shape)
            counts = [{"n_random": int(r_shaped[i].sum()), "n_random_investigated": int(r_shaped[i, :2].sum()),
                       "n_selected": int(m_shaped[i].sum()), "n_selected_investigated": int(m_shaped[i, :2].sum())}
                      for i in range(len(groups))]
        chosen_refs[group_col] = reference
        ref = groups.index(reference)
        for i, group in enumerate(groups):
            record: dict = {"group_column": group_col, "group": group, "reference": group == reference, **counts[i],
                            "missing_outcome": missing_outcome, "shape": shape_name,
                            "convention": convention if selected_col is None else Convention.extrapolate}
            for key in ("population_share", "selected_share", "population_size", "base_rate", "tp", "fp", "fn", "tn",
                        "errors_found_share"):
                record[key] = _num(point[key][i])
            if score_col:
                scores = rows.loc[rows[group_col] == group, "score"]
                record["mean_score"] = _num(scores.mean())
            flags = []
            for metric in METRICS:
                value = point[metric][i]
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = value / point[metric][ref]
                record[metric] = _num(value)
                record[f"{metric}_ratio"] = _num(ratio)
                low = high = r_low = r_high = None
                if boot is not None:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        values = boot[metric][:, i]
                        ratios = values / boot[metric][:, ref]
                    low, high = _interval(values, confidence)
                    r_low, r_high = (1.0, 1.0) if i == ref else _interval(ratios, confidence)
                record[f"{metric}_low"], record[f"{metric}_high"] = low, high
                record[f"{metric}_ratio_low"], record[f"{metric}_ratio_high"] = r_low, r_high
                outside = _num(ratio) is not None and not (FAIR_LOW <= ratio <= FAIR_HIGH)
                record[f"{metric}_ratio_flag"] = bool(outside)
                if outside:
                    flags.append(metric)
            record["flags"] = flags
            records.append(record)
    if ignored:
        notes.append(f"{ignored} rows with other selection methods (impulse, fk_initiated) were ignored")
    used = convention if selected_col is None else Convention.extrapolate
    return AuditResult(records, size, n_random, n_selected, chosen_refs, ignored, notes, missing_outcome, shape_name, used)


def _num(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _interval(values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """No interval where most draws leave the metric undefined (a group with almost no cases)."""
    if np.isfinite(values).sum() < max(10, len(values) // 2):
        return None, None
    return percentile_interval(values, confidence)


def parse_references(items: Sequence[str]) -> dict[str, str]:
    """`COL=VALUE` pairs from --reference into {column: group}."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or not column.strip() or not value.strip():
            raise UserError(f"--reference {item!r}: write it as COLUMN=GROUP, e.g. --reference sex=M")
        out[column.strip()] = value.strip()
    return out
