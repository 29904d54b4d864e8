"""Write the judgments' test fixture: windows of traffic and what NannyML 0.13.1 judges on them.

Run from the repository root, in the model's venv with NannyML installed
(`scripts/bootstrap.sh --test` installs model/requirements-nannyml.txt):

    model/.venv/bin/python model/make_judgment_fixtures.py [--out FILE]

It writes analyzer/test/fixtures/judgment-fixture.json (committed: the
analyzer's unit tests need no Python), and analyzer/test/judgment.int.test.ts
runs it again to a temporary file, so the comparison with NannyML is made with
NannyML itself on every run. Every expected figure comes from NannyML's CBPE and
DataReconstructionDriftCalculator, fitted as the analyzer fits them (on each
version's reference.json: the holdout it scored; the training rows), or, for
what NannyML lacks (the out-of-distribution rate, the univariate thresholds),
from numpy, scipy.stats.ks_2samp and the textbook PSI of make_fixtures.py;
never from mlmon's code.

Two variables are set before numpy loads:
- NML_DISABLE_USAGE_LOGGING=1: NannyML would otherwise send usage analytics to
  segment.io on every fit and estimate (no internet here: DNS errors, retries).
- NPY_DISABLE_CPU_FEATURES=X86_V3: on x86 with AVX2 or AVX-512, numpy's default
  argsort (behind NannyML's calibration decision and its ROC AUC sampling
  error) is x86-simd-sort, which orders tied values differently from numpy's
  portable introsort that every other CPU runs, so NannyML's own decision
  depends on the machine when scores tie. mlmon ports the portable introsort;
  its figures are compared with that path.
"""

from __future__ import annotations

import os
import sys

# Both are read when numpy and nannyml load (see above).
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
os.environ["NPY_DISABLE_CPU_FEATURES"] = "X86_V3"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

warnings.filterwarnings("ignore")  # NannyML's pandas and requests warnings
logging.disable(logging.CRITICAL)  # NannyML logs every fit

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
import nannyml as nml  # noqa: E402
from nannyml.calibration import IsotonicCalibrator, _calculate_expected_calibration_error, _get_bin_index_edges  # noqa: E402
from nannyml.chunk import SizeBasedChunker  # noqa: E402
from sklearn.model_selection import StratifiedShuffleSplit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures  # noqa: E402  (the textbook PSI, float32 rounding and the shifted features of the analyzer fixture)
import train  # noqa: E402  (the training split every committed version saw)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "model" / "artifacts"
OUT = ROOT / "analyzer" / "test" / "fixtures" / "judgment-fixture.json"
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]
FIELDS = ["value", "sampling_error", "lower_confidence_boundary", "upper_confidence_boundary", "lower_threshold", "upper_threshold", "alert"]
# NannyML's default chunker: n // 10 rows per reference chunk.
REFERENCE_CHUNKS = 10
# Toward the decision boundary: holdout rows drawn with replacement, weight exp(-((s - 0.5) / 0.3)^2) + 0.1 with s
# v1's score. The issue does not say how it resampled; with this seed the draw has its realized accuracy (0.958)
# and v1's mean confidence (0.869).
BOUNDARY = {"width": 0.3, "floor": 0.1, "rows": 500, "seed": 1568}
IID = {"rows": 300, "seed": 7}


def nan_to_none(v):
    v = float(v)
    return None if np.isnan(v) else v


def onnx_scores(version: str, x: np.ndarray):
    """P(positive) and the predicted label (1 = positive) exactly as a replica computes them: float32 ONNX."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(ARTIFACTS / version / "model.onnx"), sess_options=so, providers=["CPUExecutionProvider"])
    labels, proba = sess.run(["label", "probabilities"], {"input": x.astype(np.float32)})
    return np.asarray(proba, dtype=np.float64)[:, train.POSITIVE_INDEX], (np.asarray(labels) == train.POSITIVE_INDEX).astype(int)


def ece_pair(y: np.ndarray, p: np.ndarray):
    """NannyML's calibration decision step by step, with its own functions, to record both ECEs beside it."""
    if len(np.unique(y)) == 1:
        return None
    ys, ps, cs = [], [], []
    for tr, te in StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42).split(p, y):
        cal = IsotonicCalibrator()
        cal.fit(p[tr], y[tr])
        ys.append(y[te])
        ps.append(p[te])
        cs.append(cal.calibrate(p[te]))
    ys, ps, cs = map(np.concatenate, (ys, ps, cs))
    edges = _get_bin_index_edges(len(ps), 10)
    return float(_calculate_expected_calibration_error(ys, ps, edges)), float(_calculate_expected_calibration_error(ys, cs, edges))


def cbpe_case(name: str, reference: pd.DataFrame, windows: list[dict], artifact: str | None = None) -> dict:
    """NannyML's CBPE fitted on `reference` (default chunker), then each window estimated as one chunk."""
    est = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", problem_type="classification_binary", metrics=METRICS)
    est.fit(reference)
    eces = ece_pair(reference.y_true.to_numpy(), reference.y_pred_proba.to_numpy())
    if eces is not None and bool(est.needs_calibration) != (eces[0] > eces[1]):
        raise SystemExit(f"FATAL: {name}: NannyML's decision differs from the ECEs recorded beside it")
    out = []
    for w in windows:
        frame = pd.DataFrame({k: w[k] for k in ("y_pred_proba", "y_pred", "y_true") if k in w})
        # One analysis chunk per window; the thresholds stay those fitted on the reference's default chunks.
        est.chunker = SizeBasedChunker(chunk_size=len(frame))
        res = est.estimate(frame).filter(period="analysis").to_df()
        assert len(res) == 1, (name, w["name"])
        expected = {m: {f: bool(res[(m, f)].iloc[0]) if f == "alert" else nan_to_none(res[(m, f)].iloc[0]) for f in FIELDS} for m in METRICS}
        out.append({**w, "expected": expected})
    thresholds = {m.column_name.removeprefix("estimated_"): m for m in est.metrics}
    return {
        "name": name,
        "reference": {"artifact": artifact} if artifact else {k: reference[k].tolist() for k in ("y_true", "y_pred_proba", "y_pred")},
        "fit": {
            "calibrated": bool(est.needs_calibration),
            **({"ece_before": eces[0], "ece_after": eces[1]} if eces else {}),
            "chunk_size": len(reference) // REFERENCE_CHUNKS,
            "thresholds": {
                m: {"lower": nan_to_none(t.lower_threshold_value if t.lower_threshold_value is not None else np.nan),
                    "upper": nan_to_none(t.upper_threshold_value if t.upper_threshold_value is not None else np.nan)}
                for m, t in thresholds.items()
            },
        },
        "windows": out,
    }


def synthetic(seed: int, n: int, decimals: int | None = None) -> pd.DataFrame:
    """Scores from a Beta(2, 2), labels drawn with those probabilities: a well-calibrated model (verify.py of the spec)."""
    rs = np.random.RandomState(seed)
    p = rs.beta(2, 2, n)
    y = (rs.rand(n) < p).astype(int)
    if decimals is not None:
        p = np.round(p, decimals)
    # float32, as the analyzer reads scores from Elasticsearch.
    p = p.astype(np.float32).astype(np.float64)
    return pd.DataFrame({"y_pred_proba": p, "y_true": y, "y_pred": (p >= 0.5).astype(int)})


def score_window(name: str, frame: pd.DataFrame) -> dict:
    return {"name": name, **{k: frame[k].tolist() for k in ("y_pred_proba", "y_pred", "y_true")}}


def chunk_bounds(n: int, keep_incomplete: bool):
    size = n // REFERENCE_CHUNKS
    bounds = [(a, a + size) for a in range(0, n - size + 1, size)]
    return bounds + ([(n - n % size, n)] if keep_incomplete and n % size else [])


def univariate(profile: dict, feature_names: list[str], windows: dict[str, np.ndarray]) -> dict:
    """The reference drift thresholds (make_fixtures.univariate_thresholds) and each window's verdicts against them."""
    t = make_fixtures.univariate_thresholds()
    judged = {}
    for name, x in windows.items():
        per = {}
        for j, f in enumerate(feature_names):
            sample = np.array([make_fixtures.f32(v) for v in profile["features"][f]["sample"]])
            d = make_fixtures.drift_of(np.array([make_fixtures.f32(v) for v in x[:, j]]), sample, profile["features"][f]["histogram"]["edges"])
            per[f] = {"ks": d["ks"], "psi": d["psi"], **make_fixtures.verdict(d, t["features"][f])}
        share = float(np.mean([per[f]["drifted"] for f in feature_names]))
        judged[name] = {"count": len(x), "features": per, "drifted_share": share, "drifted_share_alert": bool(share > t["drifted_share_threshold"])}
    return {**t, "windows": judged}


def numpy_cases() -> dict:
    """The exact sequences CBPE inherits from numpy and scikit-learn, for the analyzer's ports of them."""
    rs = np.random.RandomState(11)
    permutations = [{"seed": seed, "n": n, "permutation": np.random.RandomState(seed).permutation(n).tolist()} for seed, n in [(42, 10), (42, 1000), (7, 3)]]
    splits = []
    for n, positives in [(17, 5), (30, 12), (114, 42), (569, 212)]:
        y = np.zeros(n, dtype=int)
        y[rs.choice(n, positives, replace=False)] = 1
        sss = StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
        splits.append({"y": y.tolist(), "splits": [[tr.tolist(), te.tolist()] for tr, te in sss.split(np.zeros(n), y)]})
    # Tie-heavy arrays: the portable introsort's order of ties (NPY_DISABLE_CPU_FEATURES is set, so np.argsort is it).
    arrays = [np.round(rs.rand(n), d) for n, d in [(5, 1), (16, 1), (17, 1), (40, 1), (300, 2), (3000, 2), (1000, 0)]]
    arrays.append(np.array([0.5] * 50 + [np.nan] * 3 + [0.1] * 20))
    argsorts = [{"values": [None if np.isnan(v) else float(v) for v in a], "order": np.argsort(a).tolist()} for a in arrays]
    isotonic = []
    for n, ties in [(50, False), (200, True)]:
        x = rs.rand(n)
        if ties:
            x = np.round(x, 1)
        y = (rs.rand(n) < x).astype(int)
        t = np.concatenate([rs.rand(40) * 1.2 - 0.1, x[:10]])
        cal = IsotonicCalibrator()
        cal.fit(x, y)
        isotonic.append({"x": x.tolist(), "y": y.tolist(), "t": t.tolist(), "calibrated": cal.calibrate(t).tolist()})
    return {"permutations": permutations, "splits": splits, "argsorts": argsorts, "isotonic": isotonic}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(OUT))
    out_path = Path(parser.parse_args().out)

    feature_names, x_train, x_hold, _, y_hold = train.training_split()
    profile = make_fixtures.profile
    assert feature_names == profile["feature_names"] == make_fixtures.FEATURES
    y_true = (y_hold == train.POSITIVE_INDEX).astype(int)
    v1 = json.loads((ARTIFACTS / "v1" / "reference.json").read_text(encoding="utf-8"))
    v1_scores = np.array(v1["holdout"]["y_pred_proba"])
    weights = np.exp(-(((v1_scores - 0.5) / BOUNDARY["width"]) ** 2)) + BOUNDARY["floor"]
    shift = {f: 2 * profile["features"][f]["std"] for f in make_fixtures.SHIFTED}
    # Traffic windows, as holdout rows (with a shift): the integration test rebuilds them from holdout.json.
    windows = {
        "holdout-replay": {"rows": list(range(len(y_true))), "note": "the holdout itself, as `simulate steady` replays it"},
        "boundary-resample": {
            "rows": np.random.RandomState(BOUNDARY["seed"]).choice(len(y_true), BOUNDARY["rows"], replace=True, p=weights / weights.sum()).tolist(),
            "note": f"{BOUNDARY['rows']} holdout rows drawn toward v1's decision boundary (weight exp(-((s-0.5)/{BOUNDARY['width']})^2)+{BOUNDARY['floor']}), true labels kept",
        },
        "iid-resample": {"rows": np.random.RandomState(IID["seed"]).choice(len(y_true), IID["rows"], replace=True).tolist(), "note": "holdout rows drawn uniformly"},
        "covariate-shift-2sd": {"rows": list(range(len(y_true))), "shift": shift, "note": f"the holdout with {', '.join(shift)} + 2 training sd"},
        "small": {"rows": list(range(15)), "note": "15 rows: fewer than a reference chunk"},
    }
    features = {}
    for name, w in windows.items():
        x = x_hold[w["rows"]].copy()
        for f, amount in w.get("shift", {}).items():
            x[:, feature_names.index(f)] += amount
        features[name] = x
        w["y_true"] = y_true[w["rows"]].tolist()

    cases = []
    for version in ("v1", "v2"):
        ref = json.loads((ARTIFACTS / version / "reference.json").read_text(encoding="utf-8"))
        reference = pd.DataFrame({k: ref["holdout"][k] for k in ("y_true", "y_pred_proba", "y_pred")})
        scored = []
        for name, w in windows.items():
            p, yp = onnx_scores(version, features[name])
            scored.append({"name": name, "y_pred_proba": p.tolist(), "y_pred": yp.tolist(), "y_true": w["y_true"]})
        cases.append(cbpe_case(version, reference, scored, artifact=version))
    # Scores only (no model): a well-calibrated reference NannyML does not calibrate, the same rounded to two
    # decimals (ties everywhere: the sorts' tie order matters), and a reference of one class.
    for name, ref, analysis in [
        ("well-calibrated", synthetic(0, 2000), [synthetic(1000, 1500), synthetic(1001, 60)]),
        ("rounded-2dp", synthetic(3, 600, decimals=2), [synthetic(1003, 400, decimals=2)]),
        ("one-class", synthetic(5, 300).assign(y_true=0), [synthetic(1005, 200)]),
    ]:
        cases.append(cbpe_case(name, ref, [score_window(f"{name}-{i}", a) for i, a in enumerate(analysis)]))

    # Reconstruction drift: NannyML fitted on the training rows (default chunker), each window one chunk.
    train_frame = pd.DataFrame(x_train, columns=feature_names)
    drc = nml.DataReconstructionDriftCalculator(column_names=feature_names).fit(train_frame)
    # Row errors from NannyML's own fitted imputer, scaler and PCA, as its _calculate_dre_results computes them.
    def row_errors(x: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(x, columns=feature_names)
        cont = drc.continuous_column_names
        frame[cont] = drc._imputer_continuous.transform(frame[cont])
        z = drc._scaler.transform(frame[feature_names].to_numpy())
        return np.linalg.norm(z - drc._pca.inverse_transform(drc._pca.transform(z)), axis=1)
    reference_errors = np.array(v1["reconstruction"]["reference_errors"])
    train_diff = float(np.max(np.abs(row_errors(x_train) - reference_errors)))
    if train_diff > 1e-9:
        raise SystemExit(f"FATAL: reference.json's reference_errors differ from NannyML's by {train_diff}")
    reconstruction = {"lower_threshold": nan_to_none(drc.lower_threshold_value if drc.lower_threshold_value is not None else np.nan),
                      "upper_threshold": nan_to_none(drc.upper_threshold_value), "k": int(drc._pca.n_components_),
                      "reference_errors_max_diff": train_diff, "windows": {}}
    for name, x in features.items():
        drc.chunker = SizeBasedChunker(chunk_size=len(x))
        res = drc.calculate(pd.DataFrame(x, columns=feature_names)).filter(period="analysis").to_df()
        col = "reconstruction_error"
        reconstruction["windows"][name] = {
            "row_errors": row_errors(x).tolist(),
            "expected": {f: bool(res[(col, f)].iloc[0]) if f == "alert" else nan_to_none(res[(col, f)].iloc[0]) for f in FIELDS},
        }

    # Out-of-distribution rate: the share of rows above the 99th percentile of the training errors, judged against
    # mean + 3 sd of that share over the complete reference chunks, and at least one row of a chunk.
    threshold = float(np.percentile(reference_errors, v1["reconstruction"]["ood_percentile"]))
    rates = [float(np.mean(reference_errors[a:b] > threshold)) for a, b in chunk_bounds(len(reference_errors), keep_incomplete=False)]
    chunk_size = len(reference_errors) // REFERENCE_CHUNKS
    upper = max(make_fixtures.mean_plus_3sd(rates), 1 / chunk_size)
    ood = {"threshold": threshold, "chunk_size": chunk_size, "rate_threshold_upper": upper, "windows": {}}
    for name in features:
        rate = float(np.mean(np.array(reconstruction["windows"][name]["row_errors"]) > threshold))
        ood["windows"][name] = {"ood_rate": rate, "alert": bool(rate > upper)}

    fixture = {
        "description": __doc__.split("\n\n")[0],
        "generated_by": "model/make_judgment_fixtures.py",
        "environment": {"nannyml": nml.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                        "NPY_DISABLE_CPU_FEATURES": os.environ["NPY_DISABLE_CPU_FEATURES"]},
        "feature_names": feature_names,
        "boundary_resample": BOUNDARY,
        "windows": windows,
        "cbpe": cases,
        "reconstruction": reconstruction,
        "ood": ood,
        "univariate": univariate(profile, feature_names, features),
        "numpy": numpy_cases(),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(fixture, allow_nan=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"[judgment-fixtures] wrote {out_path} ({out_path.stat().st_size} bytes): {len(cases)} CBPE references, {len(windows)} traffic windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
