"""Write the paired-analysis fixture: shadow traffic plus what the analyzer must report on it.

Run from the repository root:

    model/.venv/bin/python model/make_shadow_fixture.py

It writes analyzer/test/fixtures/shadow-fixture.json (committed, so the tests need no Python). One hour of
requests answered by v1 and copied to v2 as its shadow: each shadow line carries the active answer as the
replica writes it (api/src/shadow/copies.ts); feedback names the active prediction. Some copies never come
(failed or timed out), and one lands after its feedback was first joined. The expected figures come from
statsmodels (mcnemar(exact=True)) and numpy, never from the analyzer's code.

Elasticsearch stores mlmon.shadow.score_diff as float32, so the mean score difference is the mean of the
float32-rounded differences; the latency percentiles are numpy's inverted_cdf order statistics, which the
analyzer reads from buckets 5% wide (paired.ts), so they are held to that bucket's width.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from statsmodels.stats.contingency_tables import mcnemar

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "analyzer" / "test" / "fixtures" / "shadow-fixture.json"
SEED = 23
POSITIVE, NEGATIVE = "malignant", "benign"
START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
REQUESTS = 400
LABELED_SHARE = 0.7
LOST_COPIES = 12
ALPHA = 0.05
MIN_DISCORDANT = 20

rng = np.random.default_rng(SEED)


def iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uuid7(t: datetime) -> str:
    ms = int(t.timestamp() * 1000)
    rand = rng.integers(0, 2**62, dtype=np.int64)
    h = f"{ms:012x}7{int(rng.integers(0, 4096)):03x}{(0x8 | int(rand) >> 60 & 0x3):x}{int(rand) & (2**60 - 1):015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def label(score: float) -> str:
    return POSITIVE if score >= 0.5 else NEGATIVE


def main() -> None:
    truth = rng.random(REQUESTS) < 0.4
    # The active version is right about 80% of the time, the shadow about 86%, mostly on the same rows.
    active_right = rng.random(REQUESTS) < 0.8
    shadow_right = np.where(rng.random(REQUESTS) < 0.6, active_right, rng.random(REQUESTS) < 0.95)

    def score(right: np.ndarray) -> np.ndarray:
        confident = rng.uniform(0.55, 0.99, REQUESTS)
        positive = np.where(right, truth, ~truth)
        return np.where(positive, confident, 1 - confident)

    active_score, shadow_score = score(active_right), score(shadow_right)
    active_ns = rng.lognormal(np.log(2e6), 0.3, REQUESTS).astype(np.int64)
    shadow_ns = rng.lognormal(np.log(3e6), 0.5, REQUESTS).astype(np.int64)
    lost = set(rng.choice(REQUESTS, LOST_COPIES, replace=False).tolist())
    labeled = rng.random(REQUESTS) < LABELED_SHARE

    predictions, feedback, pairs = [], [], []
    late_shadow_id = None
    for i in range(REQUESTS):
        t = START + timedelta(seconds=float(i) * 3600 / REQUESTS + 0.5)
        active_id, shadow_id = uuid7(t), uuid7(t)
        a_label, s_label = label(active_score[i]), label(shadow_score[i])
        request_id = f"req-{i}"
        predictions.append(
            {"id": active_id, "time": iso(t), "request_id": request_id, "version": "v1", "role": "active",
             "label": a_label, "score": float(active_score[i]), "duration_ns": int(active_ns[i]), "shadow_id": shadow_id}
        )
        if i not in lost:
            diff = float(shadow_score[i] - active_score[i])
            predictions.append(
                {"id": shadow_id, "time": iso(t + timedelta(milliseconds=5)), "request_id": request_id, "version": "v2",
                 "role": "shadow", "label": s_label, "score": float(shadow_score[i]), "duration_ns": int(shadow_ns[i]),
                 "shadow": {"active": {"prediction_id": active_id, "version": "v1", "label": a_label,
                                       "score": float(active_score[i]), "duration_ns": int(active_ns[i])},
                            "agree": a_label == s_label, "score_diff": diff,
                            "latency_diff_ns": int(shadow_ns[i] - active_ns[i])}}
            )
            if late_shadow_id is None and labeled[i]:
                late_shadow_id = shadow_id
        true_label = POSITIVE if truth[i] else NEGATIVE
        if labeled[i]:
            feedback.append({"prediction_id": active_id, "true_label": true_label, "time": iso(t + timedelta(minutes=2))})
        if i not in lost:
            pairs.append({"a": a_label, "s": s_label, "diff": diff, "lat": int(shadow_ns[i] - active_ns[i]),
                          "truth": true_label if labeled[i] else None})

    agree = np.array([p["a"] == p["s"] for p in pairs])
    diffs32 = np.array([p["diff"] for p in pairs], dtype=np.float32).astype(np.float64)
    lat = np.array([p["lat"] for p in pairs], dtype=np.float64)
    lab = [p for p in pairs if p["truth"] is not None]
    a_ok = np.array([p["a"] == p["truth"] for p in lab])
    s_ok = np.array([p["s"] == p["truth"] for p in lab])
    b = int(np.sum(a_ok & ~s_ok))
    c = int(np.sum(~a_ok & s_ok))
    table = [[int(np.sum(a_ok & s_ok)), b], [c, int(np.sum(~a_ok & ~s_ok))]]
    p_value = float(mcnemar(table, exact=True).pvalue)
    significant = p_value < ALPHA and b + c >= MIN_DISCORDANT

    # McNemar's p over a grid of discordant counts, down to p-values far below any rounding.
    cases = [(0, 0), (0, 1), (3, 10), (10, 30), (20, 20), (5, 60), (40, 100), (100, 130), (400, 480),
             (1000, 1100), (2000, 2300), (5000, 5200), (0, 50), (1, 200), (30, 300), (7, 3), (25, 24)]
    mcnemar_cases = [{"b": x, "c": y, "p_value": float(mcnemar([[0, x], [y, 0]], exact=True).pvalue)} for x, y in cases]

    OUT.write_text(json.dumps({
        "window": {"start": iso(START), "end": iso(START + timedelta(hours=1))},
        "positive_label": POSITIVE,
        "settings": {"alpha": ALPHA, "min_discordant": MIN_DISCORDANT},
        "predictions": predictions,
        "late_shadow_id": late_shadow_id,
        "feedback": feedback,
        "expected": {
            "active_version": "v1",
            "pairs": len(pairs),
            "agreement": float(agree.mean()),
            "labeled_pairs": len(lab),
            "active_only_correct": b,
            "shadow_only_correct": c,
            "mcnemar_p_value": p_value,
            "active_accuracy": float(a_ok.mean()),
            "shadow_accuracy": float(s_ok.mean()),
            "score_diff_mean": float(diffs32.mean()),
            "latency_diff_p50_ms": float(np.percentile(lat, 50, method="inverted_cdf")) / 1e6,
            "latency_diff_p99_ms": float(np.percentile(lat, 99, method="inverted_cdf")) / 1e6,
            "significantly_better": significant and c > b,
            "significantly_worse": significant and b > c,
        },
        "mcnemar_cases": mcnemar_cases,
    }, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(predictions)} predictions, {len(feedback)} feedback, b={b} c={c} p={p_value:.3g}")


if __name__ == "__main__":
    main()
