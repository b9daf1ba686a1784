"""One training run, end to end: world -> training set -> LightGBM -> evaluation -> MLflow run, registered
version with alias `challenger`, and a line in the promotion log. Used by `riskrank train` and the demo."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskrank.fairness.measure import CLUSTER
from riskrank.fairness.policy import N_BOOT, SENSITIVE_REFERENCES, STRATUM
from riskrank.fairness.proxies import proxy_report
from riskrank.model import registry
from riskrank.model.scoring import prepare
from riskrank.settings import Settings, get_settings
from riskrank.training import fair_sweep, model_card, plots
from riskrank.training.calibration import METHOD_PLATT, MIN_EVENTS_FOR_SLOPE, Calibration, fit_platt
from riskrank.training.dataset import LABEL, SPLIT, VALUE, WEIGHT, SplitConfig, TrainingSet, build_training_set
from riskrank.training.evaluate import Evaluation, evaluate
from riskrank.training.fair_sweep import DEFAULT_WEIGHTS
from riskrank.training.population import (
    EVAL_DATE,
    EVAL_DATES,
    SLOT,
    agency_channels,
    evaluation_dates,
    investigation_population,
    truth_population,
)
from riskrank.training.train import FitResult, build_meta, expected_value_by_benefit, model_inputs, predict
from riskrank.training.unlabelled import UNLABELLED, UnlabelledConfig

Step = Callable[[str], None]


@dataclass(frozen=True)
class TrainOptions:
    split: SplitConfig = field(default_factory=SplitConfig)
    extra_inputs: tuple[str, ...] = ()  # e.g. ("born_abroad",): only to show the fairness gate refusing
    excluded_inputs: tuple[str, ...] = ()  # model inputs left out, e.g. features judged to be proxies
    params: dict = field(default_factory=dict)
    n_eval_dates: int = EVAL_DATES
    n_boot: int = N_BOOT
    engine: str = "pandas"
    register: bool = True
    fairness: str = "auto"  # "auto": fit the family of penalty weights and choose (fair_sweep.py); "off": unconstrained
    fairness_weight: float | None = None  # fix the penalty weight instead of choosing
    fairness_weights: tuple[float, ...] = DEFAULT_WEIGHTS
    unlabelled: UnlabelledConfig = field(default_factory=UnlabelledConfig)  # positive-unlabelled rows (rows=0: none)

    def family(self) -> tuple[float, ...]:
        if self.fairness == "off":
            return (0.0,)
        if self.fairness_weight is not None:
            return (float(self.fairness_weight),)
        return tuple(self.fairness_weights)


@dataclass
class TrainOutcome:
    run_id: str
    version: int | None
    metrics: dict[str, float]
    evaluation: Evaluation
    meta: dict
    training_set: TrainingSet
    fairness: FairnessChoice | None = None


@dataclass
class FairnessChoice:
    mode: str  # auto | off | fixed
    weight: float  # the chosen member's penalty weight
    reason: str
    trade_off: pd.DataFrame  # one row per member (fair_sweep.Member.row)
    proxies: pd.DataFrame  # proxies.proxy_report on the training rows


def _no_step(_: str) -> None:
    pass


def evaluation_population(world, training: TrainingSet, options: TrainOptions,
                          step: Step = _no_step) -> tuple[pd.DataFrame, dict[str, int], str]:
    """The evaluation population, its capacity per slot and a note on it; with a code per case (CLUSTER) so
    that its bootstraps resample cases."""
    pop, capacity, note = _population_of(world, training, options, step)
    return pop.assign(**{CLUSTER: pd.factorize(pop["case_id"])[0].astype(np.int32)}), capacity, note


def _population_of(world, training: TrainingSet, options: TrainOptions, step: Step) -> tuple[pd.DataFrame, dict[str, int], str]:
    test = training.investigated("test")
    if world.truth is None:
        pop, capacity = investigation_population(test)
        return pop, capacity, ("No truth table: capacity metrics rank the closed test investigations themselves "
                               "(k = half of each benefit's test investigations, label = action).")
    dates = evaluation_dates(training.bounds, options.n_eval_dates)
    step(f"features of all active cases on {len(dates)} test dates")
    pop, capacity = truth_population(world, training.bounds, dates, engine=options.engine)
    note = (f"Capacity metrics (`cap_*`): on {', '.join(str(d.date()) for d in dates)} every active case is ranked and the "
            "top k per benefit selected, k = investigations opened per month for that benefit in the test months. "
            "A hit is a case the world's truth table shows in error on that date. `cap_random_rate` is the share in "
            "error among all active cases (same k per benefit), `cap_oracle_hit_rate` the top k by the generator's "
            "true risk. `test_*` metrics are on closed test investigations (label = action), `_random` on the random "
            "control sample only.")
    return pop, capacity, note


def _calibrate(result: FitResult, training: TrainingSet) -> tuple[Calibration | None, dict[str, float]]:
    """Platt scaling on the random control sample of the validation and test months: the only sample of the
    population the model did not fit (its training rows would give a slope that is far too steep). A fit with
    unlabelled rows moves its intercept only (calibration.py says why); the slope Platt would fit is reported."""
    frame = training.frame
    held_out = frame.loc[(frame["selection"].astype(str) == "random") & (frame[SPLIT] != "train")]
    if held_out.empty:
        return None, {}
    p_action, labels = predict(result, held_out), held_out[LABEL].to_numpy()
    fitted_on = "random control sample, validation and test months"
    calibration = fit_platt(p_action, labels, fitted_on=fitted_on, free_slope=not training.has_unlabelled)
    free = fit_platt(p_action, labels, fitted_on=fitted_on) if training.has_unlabelled else calibration
    return calibration, ({"calibration_free_slope": free.a} if free.method == METHOD_PLATT else {})


def _class_prior(training: TrainingSet) -> dict[str, float]:
    """The random control sample's action rate in the training months: the share of active cases in error that the
    positive-unlabelled fit's unlabelled rows hold (the class prior), and what the calibration maps the score onto."""
    random = training.investigated("train")
    random = random.loc[random["selection"] == "random"]
    return {"class_prior_random": float(random[LABEL].mean()), "class_prior_n": float(len(random))} if len(random) else {}


def _calibration_metrics(calibration: Calibration | None, pop: pd.DataFrame, pop_scores: np.ndarray,
                         truth_known: bool) -> dict[str, float]:
    from riskrank.training.metrics import expected_calibration_error

    if calibration is None:
        return {}
    out = {"calibration_a": calibration.a, "calibration_b": calibration.b, "calibration_n": float(calibration.n),
           "calibration_events": float(calibration.events)}
    if truth_known:
        out["population_ece"] = expected_calibration_error(pop[LABEL].to_numpy(), calibration.apply(pop_scores))
        out["population_mean_score"] = float(calibration.apply(pop_scores).mean())
        out["population_error_share"] = float(pop[LABEL].mean())
    return out


def _population_artifact(pop: pd.DataFrame) -> pd.DataFrame:
    """What the promotion gates re-score: every registry feature and the labels, without case ids (CLUSTER only
    says which rows are one case, for the gate's bootstrap)."""
    from riskrank.features.registry import FEATURES

    keep = [SLOT, EVAL_DATE, CLUSTER, LABEL, VALUE, "risk_p"] + [f.name for f in FEATURES]
    return pop[[c for c in dict.fromkeys(keep) if c in pop.columns]].reset_index(drop=True)


POPULATION_ROWS_PER_GROUP = 1_000_000


def _write_population(frame: pd.DataFrame, file: Path) -> None:
    """The population as Parquet, a million rows at a time (one Arrow copy of the whole would double the peak)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(file, schema) as writer:
        for start in range(0, max(len(frame), 1), POPULATION_ROWS_PER_GROUP):
            writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + POPULATION_ROWS_PER_GROUP], schema=schema,
                                                    preserve_index=False))


def run_training(world_dir: str | Path, options: TrainOptions | None = None, settings: Settings | None = None,
                 step: Step = _no_step) -> TrainOutcome:
    import mlflow

    from riskrank.features.registry import FEATURE_SET_VERSION
    from riskrank.model.flavour import log_model
    from riskrank.world_blocks import open_world

    options = options or TrainOptions()
    settings = settings or get_settings()
    inputs = model_inputs(options.extra_inputs, options.excluded_inputs)
    step("reading the world (its signals stay on disk, read a block of persons at a time)")
    world = open_world(world_dir, with_truth=True)
    step("assembling the training set (features as of each opening date and of the unlabelled snapshots)")
    training = build_training_set(world, options.split, engine=options.engine, unlabelled=options.unlabelled)
    train, valid, test = (training.part(s) for s in ("train", "valid", "test"))
    n_unlabelled = int((train["selection"] == UNLABELLED).sum())
    pop, capacity, note = evaluation_population(world, training, options, step)
    family = options.family()
    step(f"fitting LightGBM on {len(train) - n_unlabelled:,} investigations and {n_unlabelled:,} unlabelled rows, "
         f"{len(inputs)} inputs, fairness weight(s) {', '.join(f'{w:g}' for w in family)}")
    members = fair_sweep.sweep(train, valid, inputs, pop, capacity, family, options.params,
                               row_weight=WEIGHT if training.weighted else None)
    chosen, why = fair_sweep.choose(members)
    result = chosen.fit
    step("evaluating")
    pop_scores = predict(result, pop)
    channels = agency_channels(world, training.bounds) if world.truth is not None else None
    evaluation = evaluate(test, predict(result, test), pop, pop_scores, capacity, n_boot=options.n_boot,
                          channels=channels)
    calibration, free_slope = _calibrate(result, training)
    metrics = evaluation.metrics | {"valid_auc": result.valid_auc, "best_iteration": float(result.best_iteration),
                                    "n_train": float(len(train) - n_unlabelled), "n_train_unlabelled": float(n_unlabelled),
                                    "n_valid": float(len(valid)), "n_test": float(len(test)),
                                    "fairness_weight": chosen.weight} | _class_prior(training) | free_slope
    metrics |= _calibration_metrics(calibration, pop, pop_scores, world.truth is not None)
    choice = FairnessChoice(options.fairness if options.fairness_weight is None else "fixed", chosen.weight, why,
                            fair_sweep.trade_off(members),
                            proxy_report(train, inputs, LABEL, dict(SENSITIVE_REFERENCES), stratum=STRATUM))
    meta = build_meta(result, FEATURE_SET_VERSION, training.data_hash, metrics, expected_value_by_benefit(train),
                      calibration.as_meta() if calibration else None)
    step("logging to MLflow")
    experiment_id = registry.configure(settings)
    with mlflow.start_run(experiment_id=experiment_id) as run, tempfile.TemporaryDirectory() as tmp:
        run_id = run.info.run_id
        _log_params(result, options, training, meta)
        mlflow.log_params({"fairness": choice.mode, "fairness_family": ",".join(f"{w:g}" for w in family),
                           "fairness_weight": chosen.weight})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
        importance, shap_summary = _log_artifacts(Path(tmp), result, evaluation, pop, capacity)
        _log_reliability(Path(tmp), calibration, evaluation, pop, pop_scores, world.truth is not None)
        _log_fairness_choice(Path(tmp), choice)
        info = log_model(result.booster, meta, registered_model_name=settings.model_name if options.register else None)
        registered = info.registered_model_version if options.register else None
        _log_model_card(result, evaluation, training, metrics, note, run_id, importance, shap_summary, registered, choice,
                        calibration)
    version = int(info.registered_model_version) if options.register and info.registered_model_version else None
    if version is not None:
        step(f"version {version} registered as {registry.CHALLENGER}")
        registry.move_alias(settings, registry.CHALLENGER, version, f"new version from training run {run_id}",
                            metrics=meta["metrics"])
    return TrainOutcome(run_id, version, metrics, evaluation, meta, training, choice)


def _log_params(result: FitResult, options: TrainOptions, training: TrainingSet, meta: dict) -> None:
    import mlflow

    params = {k: v for k, v in result.params.items() if k not in ("monotone_constraints", "metric")}
    mlflow.log_params(params | {
        "n_inputs": len(result.feature_names), "extra_inputs": ",".join(options.extra_inputs) or "none",
        "unlabelled_rows": options.unlabelled.rows, "unlabelled_weight": options.unlabelled.weight,
        "unlabelled_snapshots": options.unlabelled.snapshots, "unlabelled_gap_days": options.unlabelled.gap_days,
        "excluded_inputs": ",".join(options.excluded_inputs) or "none",
        "test_months": options.split.test_months, "valid_months": options.split.valid_months,
        "best_iteration": result.best_iteration, "n_eval_dates": options.n_eval_dates,
        "monotone_inputs": sum(1 for c in result.params["monotone_constraints"] if c != 0),
    } | {f"split_{k}": v for k, v in training.bounds.as_dict().items()})
    mlflow.set_tags({"feature_set_version": meta["feature_set_version"], "train_data_hash": meta["train_data_hash"],
                     "extra_inputs": ",".join(options.extra_inputs) or "none"})


def _log_artifacts(tmp: Path, result: FitResult, evaluation: Evaluation, pop: pd.DataFrame,
                   capacity: dict[str, int]) -> tuple[pd.Series, str | None]:
    """Plots, tables and the evaluation population; returns the global SHAP importance and the shap summary's
    artifact path (None where it was not drawn) for the model card."""
    import mlflow

    y, s = evaluation.test_labels, evaluation.test_scores
    metrics = evaluation.metrics
    plot_dir = tmp / "plots"
    plot_dir.mkdir()
    plots.roc_plot(y, s, plot_dir / "roc.png", metrics["test_auc"])
    plots.pr_plot(y, s, plot_dir / "pr.png", metrics["test_pr_auc"])
    rel = evaluation.reliability
    plots.calibration_plot(rel.mean_score, rel.observed_rate, rel.count, rel.ece, plot_dir / "calibration.png")
    plots.capacity_plot(evaluation.capacity_curve, plot_dir / "hit_rate_by_capacity.png")
    shap_rows = pop.sample(n=min(len(pop), 5000), random_state=0)
    shap_inputs = prepare(shap_rows, result.feature_names, result.categories)
    contributions = plots.tree_shap(result.booster, shap_inputs)
    importance = plots.shap_importance(contributions, shap_inputs.columns)
    plots.importance_plot(importance, plot_dir / "shap_importance.png")
    summary = plots.shap_summary_plot(contributions, shap_inputs, plot_dir / "shap_summary.png")

    mlflow.log_artifacts(str(plot_dir), "plots")

    tables = tmp / "tables"
    tables.mkdir()
    evaluation.per_benefit.to_csv(tables / "per_benefit.csv", index=False)
    evaluation.capacity_curve.to_csv(tables / "capacity_curve.csv", index=False)
    if not evaluation.channels.empty:
        evaluation.channels.to_csv(tables / "channels.csv", index=False)
    pd.DataFrame([r.as_dict() for r in evaluation.fairness]).to_csv(tables / "fairness.csv", index=False)
    importance.rename("mean_abs_shap").to_csv(tables / "shap_importance.csv")
    mlflow.log_artifacts(str(tables), "tables")

    eval_dir = tmp / registry.EVALUATION_DIR
    eval_dir.mkdir()
    _write_population(_population_artifact(pop), eval_dir / registry.POPULATION_FILE)
    (eval_dir / registry.CAPACITY_FILE).write_text(json.dumps(capacity, indent=1))
    mlflow.log_artifacts(str(eval_dir), registry.EVALUATION_DIR)
    return importance, f"plots/{summary.name}" if summary is not None else None


def _log_reliability(tmp: Path, calibration: Calibration | None, evaluation: Evaluation, pop: pd.DataFrame,
                     pop_scores: np.ndarray, truth_known: bool) -> None:
    """plots/reliability.png: the shown score against the share in error of all active cases (where the world's
    truth is known) and the probability of action against the closed test investigations."""
    import mlflow

    curves = [("probability of action | investigated, vs action (closed test investigations)", evaluation.test_labels,
               evaluation.test_scores)]
    if calibration is not None and truth_known:
        curves.insert(0, ("score (calibrated), vs in error (all active cases, test dates)", pop[LABEL].to_numpy(),
                          calibration.apply(pop_scores)))
    path = plots.reliability_plot(curves, tmp / "reliability.png")
    mlflow.log_artifact(str(path), "plots")


def _calibration_note(calibration: Calibration | None, metrics: dict[str, float]) -> str:
    if calibration is None:
        return ("Not calibrated: the data hold no random control sample, so the score is the probability that an "
                "investigation ends with action, which overstates the share of active cases in error.")
    if calibration.method == METHOD_PLATT:
        how = "slope and intercept"
    elif "n_train_unlabelled" in metrics and metrics["n_train_unlabelled"] > 0:
        how = ("intercept only, a prior shift: the fit's unlabelled rows are a sample of the population, so its "
               "log-odds differ from the population's by the class prior")
        if "calibration_free_slope" in metrics:
            how += f"; the slope the random sample alone would give is {metrics['calibration_free_slope']:.2f}"
    else:
        how = f"intercept only (slope kept at 1: fewer than {MIN_EVENTS_FOR_SLOPE} events on one side)"
    text = (f"The score shown to investigators is calibrated to the population of active cases: logit(score) = "
            f"{calibration.a:.3f} x logit(p_action) + {calibration.b:.3f}, Platt scaling ({how}) fitted on the random control "
            f"sample ({calibration.n} closed investigations, {calibration.events} with action). Rankings and percentiles "
            "are unchanged, and base_value + sum(contributions) = logit(score) still holds. The probability of action "
            "given an investigation (the model before calibration) is not shown to investigators.")
    if "population_ece" in metrics:
        text += (f" On the test dates the mean score is {metrics['population_mean_score']:.3f} against a share in error of "
                 f"{metrics['population_error_share']:.3f} (ECE {metrics['population_ece']:.3f}).")
    return text + " Reliability of both: plots/reliability.png."



def _log_fairness_choice(tmp: Path, choice: FairnessChoice) -> None:
    """The family's trade-off (table and plot) and the proxy screening, under fairness/."""
    import mlflow

    folder = tmp / "fairness"
    folder.mkdir()
    choice.trade_off.to_csv(folder / "trade_off.csv", index=False)
    choice.proxies.head(200).to_csv(folder / "proxies.csv", index=False)
    plots.trade_off_plot(choice.trade_off, choice.weight, folder / "trade_off.png")
    mlflow.log_artifacts(str(folder), "fairness")
    mlflow.log_table(choice.trade_off, artifact_file="fairness/trade_off.json")


def _log_model_card(result: FitResult, evaluation: Evaluation, training: TrainingSet, metrics: dict[str, float], note: str,
                    run_id: str, importance: pd.Series, shap_summary: str | None, version, choice: FairnessChoice,
                    calibration: Calibration | None = None) -> None:
    import mlflow

    from riskrank.features.registry import FEATURE_SET_VERSION

    frame = training.frame
    kind = np.where(frame["selection"] == UNLABELLED, " unlabelled", "")
    counts = (frame[SPLIT] + kind).value_counts().to_dict()
    card = model_card.render(version=version, run_id=run_id, feature_set_version=FEATURE_SET_VERSION,
                             data_hash=training.data_hash,
                             split=training.bounds.as_dict(), counts=counts, feature_names=result.feature_names,
                             metrics=metrics, per_benefit=evaluation.per_benefit, channels=evaluation.channels,
                             fairness=evaluation.fairness,
                             population_note=note, importance=importance,
                             calibration_note=_calibration_note(calibration, metrics), fairness_choice=choice.reason,
                             trade_off=choice.trade_off, proxies=choice.proxies.head(10),
                             shap_summary=shap_summary)
    mlflow.log_text(card, "model_card.md")


def check_inputs(extra: Sequence[str], exclude: Sequence[str] = ()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validate the CLI's input changes before any work starts; raises UserError naming an unknown column."""
    extra, exclude = tuple(dict.fromkeys(extra)), tuple(dict.fromkeys(exclude))
    model_inputs(extra, exclude)
    return extra, exclude


__all__ = ["TrainOptions", "TrainOutcome", "run_training", "check_inputs"]
