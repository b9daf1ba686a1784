"""Where the time of `GET /v1/cases/{id}/score?top=5` goes, in process, step by step (no HTTP, no event loop).

Reuses the world, model and nightly scores of bench/bench_serving.py (run that first, or once with `--reuse`
afterwards) and times each step the route takes for cases the nightly run did not rank (scored and explained on
request) and for ranked ones (stored explanations), over `--n` requests (different cases, round robin), as the
median and mean of time.perf_counter per step. CPU-bound steps on a loaded machine read high; compare shares.

Run:  .venv/bin/python bench/profile_case_score.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import orjson
from bench_serving import WORK, environment, sample_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--old", action="store_true", help="the lookup before issue 25: get() and row_array")
    args = parser.parse_args()

    from riskrank.db import get_engine
    from riskrank.serving import audit_chain
    from riskrank.serving.audit_writer import GroupWriter
    from riskrank.serving.featuresource import model_row
    from riskrank.serving.holder import ModelHolder
    from riskrank.serving.pseudonym import pseudonymise
    from riskrank.serving.scoring import audit_reasons, explained_payload
    from riskrank.settings import Settings

    env = environment(WORK)
    settings = Settings(database_url=env["RISKRANK_DATABASE_URL"], mlflow_tracking_uri=env["RISKRANK_MLFLOW_TRACKING_URI"],
                        pseudonym_key="bench-key")
    engine = get_engine(settings.database_url)
    from riskrank.features.store import FeatureStore

    source = FeatureStore(engine)
    holder = ModelHolder(settings, source)
    holder.refresh()
    snapshot = holder.current
    assert snapshot is not None
    model = snapshot.model
    writer = GroupWriter(engine)
    ranked_ids = [int(c) for c in sample_frame(WORK, 500, ranked=True)["case_id"]]
    any_ids = [c for c in (int(c) for c in sample_frame(WORK, 2000, ranked=False)["case_id"])
               if snapshot.stored_explanation(c) is None][:500]

    steps: dict[str, dict[str, list[float]]] = {"not ranked": defaultdict(list), "ranked": defaultdict(list)}
    clock = time.perf_counter
    for i in range(args.n):
        for kind, ids in (("not ranked", any_ids), ("ranked", ranked_ids)):
            case_id = ids[i % len(ids)]
            t = steps[kind]
            t0 = clock()
            position = snapshot.position(case_id)
            stored = snapshot.stored_explanation(case_id)
            t1 = clock()
            t["position + stored lookup"].append(t1 - t0)
            if stored is None:
                if args.old:
                    features = source.get(case_id)
                    t2 = clock()
                    t["feature store get (SQL, every feature)"].append(t2 - t1)
                    row = model.row_array(features)
                    t3 = clock()
                    t["row_array (dict -> float64)"].append(t3 - t2)
                    benefit = str(features["benefit"])
                else:
                    _, benefit, row = model_row(source, model, case_id)
                    t3 = clock()
                    t["model_row (SQL, model columns -> float64)"].append(t3 - t1)
                base, contributions = model.contributions(row)
                t4 = clock()
                t["contributions, one row (TreeSHAP tables)"].append(t4 - t3)
                score = float(snapshot.scores[position])
                row, contributions = row[0], contributions[0]
            else:
                row, contributions = stored
                base, score, benefit = snapshot.base_value, float(snapshot.scores[position]), str(snapshot.benefits[position])
                t4 = clock()
            body = explained_payload(snapshot, row, contributions, base, score, benefit, 5)
            t5 = clock()
            t["explain + body (reasons, words)"].append(t5 - t4)
            subject = pseudonymise(case_id, settings.pseudonym_key)
            reasons = audit_reasons(body)
            t6 = clock()
            t["pseudonym + audit reasons"].append(t6 - t5)
            writer.append(actor="bench", action="score", subject=subject, model_version=snapshot.version,
                          score=body["score"], details={"reasons": reasons})
            t7 = clock()
            t["audit append (group writer, 1 caller)"].append(t7 - t6)
            orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
            t8 = clock()
            t["orjson body"].append(t8 - t7)
            t["total"].append(t8 - t0)
    writer.stop()
    # The audit append without the writer's thread hand-off, for its share.
    direct = []
    for i in range(min(args.n, 1000)):
        t0 = clock()
        audit_chain.append(engine, actor="bench", action="score", subject=f"p-{i}", model_version=1, score=0.5,
                           details={"reasons": []})
        direct.append(clock() - t0)

    out = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
           "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
           "load_average": os.getloadavg(), "n": args.n, "trees": int(model.booster.num_trees()),
           "model_features": len(model.feature_names), "steps_us": {}}
    for kind, t in steps.items():
        print(f"\n{kind}: step, median us, mean us, share of mean total")
        total = float(np.mean(t["total"]))
        out["steps_us"][kind] = {}
        for name, values in t.items():
            us = np.array(values) * 1e6
            out["steps_us"][kind][name] = {"median": round(float(np.median(us)), 1), "mean": round(float(us.mean()), 1)}
            print(f"  {name:42s} {np.median(us):8.1f} {us.mean():8.1f} {us.mean() / total / 1e6:6.1%}")
    d = np.array(direct) * 1e6
    out["audit_append_direct_us"] = {"median": round(float(np.median(d)), 1), "mean": round(float(d.mean()), 1)}
    print(f"\naudit_chain.append direct: median {np.median(d):.1f} us, mean {d.mean():.1f} us")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
