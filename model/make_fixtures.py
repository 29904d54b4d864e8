"""Write the analyzer's test fixture: traffic plus the values the analyzer must report.

Run from the repository root (the venv of README.md, with requirements.txt):

    model/.venv/bin/python model/make_fixtures.py

It writes analyzer/test/fixtures/analyzer-fixture.json, which is committed so the
tests need no Python. Every expected value comes from a reference implementation
(sklearn.metrics, scipy.stats, statsmodels) or, for PSI, the textbook formula on
the reference profile's bins, never from the analyzer's own code.

Precision: Elasticsearch stores features and the prediction score as float32
(`float` mapping). Feature values and scores are therefore written as the
shortest decimal of a float32, and every distribution statistic below (PSI, KS,
label-free score statistics, out-of-range) is computed on float32-rounded
values, on both sides: the window and the reference sample. Quality metrics use
the score at full precision, which the analyzer reads from the document source.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import special, stats  # noqa: E402
from sklearn import metrics  # noqa: E402
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "model" / "artifacts" / "reference_profile.json"
OUT = ROOT / "analyzer" / "test" / "fixtures" / "analyzer-fixture.json"

SEED = 9
POSITIVE, NEGATIVE = "malignant", "benign"
WINDOW_START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
WINDOW_END = WINDOW_START + timedelta(hours=1)
SHIFTED = ["mean_radius", "mean_perimeter", "mean_area", "worst_radius"]
PSI_FLOOR = 1e-4
ALPHA = 0.05
# Drift thresholds from the training reference: mean + 3 sd over the complete chunks of n // 10 rows of each feature's
# training sample, put in row order by numpy's legacy RandomState(42), one permutation per feature in feature order
# (per version's score, a fresh RandomState(42)); the drifted share's from the same chunks, at least 1/30.
REFERENCE_CHUNKS = 10
UNIVARIATE_SEED = 42
SCORE_HIST_BINS = 10

rng = np.random.default_rng(SEED)
profile = json.loads(PROFILE.read_text(encoding="utf-8"))
FEATURES = profile["feature_names"]


def f32(x) -> float:
    return float(np.float32(x))


def f32_text(x) -> float:
    # The shortest decimal that rounds to this float32: short JSON, and ES stores exactly that float32.
    return float(repr(np.float32(x)).replace("np.float32(", "").rstrip(")"))


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uuid7(t: datetime) -> str:
    ms = int(t.timestamp() * 1000)
    rand = int.from_bytes(rng.bytes(10), "big")
    value = (ms << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def make_rows(n: int, version: str, role: str, shift: bool, noise: float, start: datetime, span_s: float):
    rows = []
    for _ in range(n):
        t = start + timedelta(milliseconds=int(rng.uniform(0, span_s * 1000)))
        y = rng.random() < 0.37
        # Scores from a noisy logit: `noise` sets how often the model is wrong.
        logit = (2.5 if y else -2.5) + rng.normal(0, noise)
        score = f32_text(1 / (1 + math.exp(-logit)))
        feats = []
        for name in FEATURES:
            p = profile["features"][name]
            # A fifth of the values are training values exactly: ties with the reference, which KS must handle.
            v = rng.choice(p["sample"]) * (1 + (rng.normal(0, 0.03) if rng.random() >= 0.2 else 0.0))
            if shift and name in SHIFTED:
                v += 2 * p["std"]
            feats.append(f32_text(max(v, 0.0)))
        rows.append({
            "id": uuid7(t), "time": iso(t), "request_id": rng.bytes(8).hex(), "version": version, "role": role,
            "label": POSITIVE if score >= 0.5 else NEGATIVE, "score": score, "features": feats,
            "true_label": POSITIVE if y else NEGATIVE,
        })
    return rows


def main() -> int:
    span = (WINDOW_END - WINDOW_START).total_seconds()
    active = make_rows(300, "v1", "active", True, 2.0, WINDOW_START, span)
    canary = make_rows(150, "v2", "canary", False, 4.5, WINDOW_START, span)
    # Outside [start, end): just before, and exactly at the end (the window is half-open).
    outside = make_rows(8, "v1", "active", False, 2.0, WINDOW_START - timedelta(minutes=5), 299)
    outside += make_rows(1, "v1", "active", False, 2.0, WINDOW_END, 0)
    # A request nginx replayed: the first replica logged a prediction and failed; the client got the second.
    first = active[0]
    replay = dict(first, id=uuid7(datetime.fromisoformat(first["time"]) + timedelta(milliseconds=3)))
    replay["replay_of"] = first["id"]
    active.append(replay)

    feedback = []
    labeled_ids = set()
    for r in active + canary + outside:
        if r is first or rng.random() >= 0.7:
            continue  # the client never saw `first`'s id, so no feedback names it
        t = datetime.fromisoformat(r["time"]) + timedelta(seconds=float(rng.uniform(1, 900)))
        feedback.append({"prediction_id": r["id"], "true_label": r["true_label"], "time": iso(t)})
        labeled_ids.add(r["id"])
    # Duplicate feedback: an earlier, wrong label and a later, corrected one; the latest wins.
    duplicated = [r for r in active if r["id"] in labeled_ids][:10]
    for r in duplicated:
        fb = next(f for f in feedback if f["prediction_id"] == r["id"])
        wrong = NEGATIVE if r["true_label"] == POSITIVE else POSITIVE
        earlier = datetime.fromisoformat(fb["time"]) - timedelta(milliseconds=500)
        feedback.append({"prediction_id": r["id"], "true_label": wrong, "time": iso(earlier)})
    # Predictions whose feedback arrives before they are indexed: orphaned first, joined once they land.
    late_ids = [r["id"] for r in active[1:] if r["id"] in labeled_ids and r not in duplicated][:5]
    # Feedback for a prediction that never exists: orphaned for good.
    ghost_t = WINDOW_START + timedelta(minutes=30)
    feedback.append({"prediction_id": uuid7(ghost_t), "true_label": POSITIVE, "time": iso(ghost_t + timedelta(seconds=5))})

    # Rejected requests (the api's mlmon.app warnings): two feature codes count, other codes do not.
    rejected = []
    for code, field, n in [("missing_feature", "features.mean_radius", 5), ("invalid_feature_value", "instances[1].worst_area", 4),
                           ("unknown_field", "colour", 3)]:
        for _ in range(n):
            t = WINDOW_START + timedelta(seconds=float(rng.uniform(0, span)))
            rejected.append({"time": iso(t), "code": code, "field": field})

    truth = {f["prediction_id"]: f for f in sorted(feedback, key=lambda f: f["time"])}  # latest wins
    thresholds = univariate_thresholds()
    ref32 = {name: np.array([f32(v) for v in profile["features"][name]["sample"]]) for name in FEATURES}
    all_in_window = active + canary
    groups = {}
    for key, rows in [("v1/active", active), ("v2/canary", canary)]:
        groups[key] = expected_group(rows, truth, ref32, rows[0]["version"], thresholds)
    a, c = groups["v1/active"]["quality"], groups["v2/canary"]["quality"]
    ca, na = a["confusion"]["tp"] + a["confusion"]["tn"], a["labeled"]
    cc, nc = c["confusion"]["tp"] + c["confusion"]["tn"], c["labeled"]
    low, high = confint_proportions_2indep(cc, nc, ca, na, method="newcomb", compare="diff", alpha=ALPHA)
    _, p_value = proportions_ztest([cc, ca], [nc, na])
    vs_active = {
        "accuracy_diff": cc / nc - ca / na, "accuracy_diff_low": float(low), "accuracy_diff_high": float(high),
        "p_value": float(p_value), "significantly_worse": bool(high < 0), "avg_score_diff": c["avg_score"] - a["avg_score"],
        "active_labeled": na, "canary_labeled": nc,
    }
    # Fewer labels than the analyzer's minimum (30): the predictions just before the window, whose ratios it still reports.
    before = [r for r in outside if datetime.fromisoformat(r["time"]) < WINDOW_START]
    few_labels = {"window": {"start": iso(WINDOW_START - timedelta(minutes=5)), "end": iso(WINDOW_START)}, "group": "v1/active",
                  "quality": expected_group(before, truth, ref32, "v1", thresholds)["quality"]}
    # Data quality: rejections cannot be attributed to a version, so their rates are service-wide.
    feature_rejections = [r for r in rejected if r["code"] in ("missing_feature", "invalid_feature_value")]
    received = len(all_in_window) + len(feature_rejections)
    rejected_rates = {}
    for name in FEATURES:
        miss = sum(1 for r in feature_rejections if r["code"] == "missing_feature" and r["field"].split(".")[-1] == name)
        bad = sum(1 for r in feature_rejections if r["code"] == "invalid_feature_value" and r["field"].split(".")[-1] == name)
        rejected_rates[name] = {"missing_rate": miss / received, "invalid_rate": bad / received}
    for g in groups.values():
        for name in FEATURES:
            g["data_quality"][name].update(rejected_rates[name])
        g["data_quality"]["_all"].update({"rejected_count": len(feature_rejections), "rejected_rate": len(feature_rejections) / received})

    fixture = {
        "description": __doc__.split("\n\n")[0],
        "generated_by": "model/make_fixtures.py",
        "seed": SEED,
        "window": {"start": iso(WINDOW_START), "end": iso(WINDOW_END)},
        "positive_label": POSITIVE,
        "feature_names": FEATURES,
        "shifted_features": SHIFTED,
        "settings": {"psi_floor": PSI_FLOOR, "alpha": ALPHA, "score_histogram_bins": SCORE_HIST_BINS},
        "univariate_thresholds": thresholds,
        "predictions": [{k: v for k, v in r.items() if k != "true_label"} for r in all_in_window + outside],
        "late_prediction_ids": late_ids,
        "feedback": feedback,
        "rejected": rejected,
        "expected": {"groups": groups, "vs_active": vs_active, "few_labels": few_labels, "ks_cases": ks_cases()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, allow_nan=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"[fixtures] wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes): "
          f"{len(fixture['predictions'])} predictions, {len(feedback)} feedback, {len(rejected)} rejected")
    return 0


def expected_group(rows, truth, ref32, version, thresholds):
    scores32 = np.array([f32(r["score"]) for r in rows])
    labeled = [r for r in rows if r["id"] in truth]
    y = np.array([1 if truth[r["id"]]["true_label"] == POSITIVE else 0 for r in labeled])
    p = np.array([r["score"] for r in labeled])
    pred = np.array([1 if r["label"] == POSITIVE else 0 for r in labeled])
    tn, fp, fn, tp = metrics.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    edges = np.linspace(0, 1, SCORE_HIST_BINS + 1)
    quality = {
        "count": len(rows), "labeled": len(labeled), "label_coverage": len(labeled) / len(rows),
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred), "recall": metrics.recall_score(y, pred), "f1": metrics.f1_score(y, pred),
        "roc_auc": metrics.roc_auc_score(y, p), "log_loss": metrics.log_loss(y, p, labels=[0, 1]),
        "brier": metrics.brier_score_loss(y, p, pos_label=1),
        "confusion": {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
        "avg_score": float(scores32.mean()), "min_score": float(scores32.min()), "max_score": float(scores32.max()),
        "positive_rate": float(np.mean([r["label"] == POSITIVE for r in rows])),
        "score_histogram": bin_counts(scores32, edges)[1:-1],
    }
    quality = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in quality.items()}
    drift, p_values = {}, []
    for j, name in enumerate(FEATURES):
        w = np.array([f32(r["features"][j]) for r in rows])
        drift[name] = drift_of(w, ref32[name], profile["features"][name]["histogram"]["edges"])
        p_values.append(drift[name]["p_value"])
    adjusted = stats.false_discovery_control(p_values, method="bh")
    for name, adj in zip(FEATURES, adjusted):
        drift[name]["p_value_adjusted"] = float(adj)
        drift[name].update(verdict(drift[name], thresholds["features"][name]))
    score_ref = np.array([f32(v) for v in profile["scores"][version]["sample"]])
    drift["score"] = drift_of(scores32, score_ref, profile["scores"][version]["histogram"]["edges"])
    drift["score"].update(verdict(drift["score"], thresholds["scores"][version]))
    flagged = [n for n in FEATURES if drift[n]["drifted"]]
    top = max(FEATURES, key=lambda n: drift[n]["psi"])
    share = len(flagged) / len(FEATURES)
    drift["_all"] = {"count": len(rows), "features": len(FEATURES), "drifted_count": len(flagged), "drifted_share": share,
                     "drifted_share_threshold": thresholds["drifted_share_threshold"], "drifted_share_alert": share > thresholds["drifted_share_threshold"],
                     "max_psi": drift[top]["psi"], "max_psi_feature": top, "drifted_features": flagged}
    dq = {}
    any_out = np.zeros(len(rows), dtype=bool)
    for j, name in enumerate(FEATURES):
        w = np.array([f32(r["features"][j]) for r in rows])
        out = (w < ref32[name].min()) | (w > ref32[name].max())
        any_out |= out
        dq[name] = {"count": len(rows), "out_of_range_rate": float(out.mean())}
    dq["_all"] = {"count": len(rows), "out_of_range_rate": float(any_out.mean())}
    return {"quality": quality, "drift": drift, "data_quality": dq}


def bin_counts(values, edges):
    """Underflow, one count per bin [e_i, e_i+1) with the last bin closed, overflow."""
    e = np.array([f32(x) for x in edges]) if values.dtype == np.float64 else edges
    inner = [int(np.sum((values >= e[i]) & (values < e[i + 1]))) for i in range(len(e) - 2)]
    inner.append(int(np.sum((values >= e[-2]) & (values <= e[-1]))))
    return [int(np.sum(values < e[0]))] + inner + [int(np.sum(values > e[-1]))]


def drift_of(w, ref, edges):
    edges32 = np.array([f32(x) for x in edges])
    actual = np.array(bin_counts(w, edges32)) / len(w)
    expected = np.array(bin_counts(ref, edges32)) / len(ref)
    a, e = np.maximum(actual, PSI_FLOOR), np.maximum(expected, PSI_FLOOR)
    psi = float(np.sum((a - e) * np.log(a / e)))
    ks = stats.ks_2samp(w, ref)
    return {"count": len(w), "psi": psi, "ks": float(ks.statistic), "p_value": float(ks.pvalue)}


def verdict(d, t):
    """Drifted when the KS distance exceeds the reference's threshold; PSI judged beside it."""
    return {"ks_threshold": t["ks_threshold"], "psi_threshold": t["psi_threshold"], "psi_alert": bool(d["psi"] > t["psi_threshold"]),
            "drifted": bool(d["ks"] > t["ks_threshold"])}


def mean_plus_3sd(values) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean() + 3 * v.std())


def univariate_thresholds() -> dict:
    """The reference thresholds of KS and PSI per feature and per version's score, and of the drifted share."""
    def fit(sample, edges, rs):
        s = np.array([f32(v) for v in sample])
        shuffled = s[rs.permutation(len(s))]
        size = len(s) // REFERENCE_CHUNKS
        stats_ = [drift_of(shuffled[a:a + size], s, edges) for a in range(0, len(s) - size + 1, size)]
        return {"ks_threshold": mean_plus_3sd([d["ks"] for d in stats_]), "psi_threshold": mean_plus_3sd([d["psi"] for d in stats_])}, [d["ks"] for d in stats_]

    rs = np.random.RandomState(UNIVARIATE_SEED)
    features, chunk_ks = {}, {}
    for name in FEATURES:
        features[name], chunk_ks[name] = fit(profile["features"][name]["sample"], profile["features"][name]["histogram"]["edges"], rs)
    shares = [np.mean([chunk_ks[f][i] > features[f]["ks_threshold"] for f in FEATURES]) for i in range(REFERENCE_CHUNKS)]
    scores = {v: fit(d["sample"], d["histogram"]["edges"], np.random.RandomState(UNIVARIATE_SEED))[0] for v, d in profile["scores"].items()}
    return {"seed": UNIVARIATE_SEED, "chunk_size": len(profile["features"][FEATURES[0]]["sample"]) // REFERENCE_CHUNKS, "features": features,
            "scores": scores, "drifted_share_threshold": max(mean_plus_3sd(shares), 1 / len(FEATURES))}


def ks_cases():
    """p-values for given sizes and statistics: scipy's exact method up to 10,000 rows, Kolmogorov's limit above."""
    cases = []
    for n1, n2 in [(455, 455), (455, 300), (455, 1234), (455, 9999), (120, 455)]:
        a, b = rng.normal(0, 1, n1), rng.normal(0.15, 1, n2)
        r = stats.ks_2samp(a, b, method="exact")
        cases.append({"n1": n1, "n2": n2, "d": float(r.statistic), "p_value": float(r.pvalue), "method": "exact"})
    for n1, n2, d in [(455, 50000, 0.04), (455, 1000000, 0.08), (455, 20000, 0.2)]:
        en = n1 * n2 / (n1 + n2)
        cases.append({"n1": n1, "n2": n2, "d": d, "p_value": float(special.kolmogorov(math.sqrt(en) * d)), "method": "asymptotic"})
    return cases


if __name__ == "__main__":
    sys.exit(main())
