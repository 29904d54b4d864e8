"""Write the fixture of the replica's out-of-distribution score, from scikit-learn and numpy.

Run from the repository root:

    model/.venv/bin/python model/make_ood_fixture.py

It writes api/test/fixtures/ood-fixture.json (committed, so the tests need no
Python):
- `reference`: a reference.json for v1 in the format model/train.py writes
  (its `reconstruction` is NannyML's DataReconstructionDriftCalculator fit:
  SimpleImputer(mean), StandardScaler, PCA(n_components=0.65, random_state=16)
  on the training rows), fitted here independently of train.py;
- `threshold`: numpy's default 99th percentile of the training rows' errors;
- `rows`: the holdout rows and shifted copies of some of them, each with the
  reconstruction error scikit-learn computes (|z - PCA.inverse_transform(PCA.transform(z))|
  in standardized space);
- `percentiles`: numpy.percentile on random arrays, for the TypeScript port.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "model"))
import train  # noqa: E402  (the split and the names, so the fixture's training rows are the model's)

HOLDOUT = ROOT / "model" / "artifacts" / "holdout.json"
OUT = ROOT / "api" / "test" / "fixtures" / "ood-fixture.json"
SHIFTED = ["mean_radius", "mean_perimeter", "mean_area", "worst_radius"]


def main() -> int:
    data = load_breast_cancer()
    names = [train.snake_case(n) for n in data.feature_names]
    x = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target, dtype=np.int64)
    x_train, _, _, _ = train_test_split(x, y, test_size=train.HOLDOUT_FRACTION, stratify=y, random_state=train.SEED)

    imputer = SimpleImputer(strategy="mean").fit(x_train)
    scaler = StandardScaler().fit(imputer.transform(x_train))
    z_train = scaler.transform(imputer.transform(x_train))
    pca = PCA(n_components=0.65, random_state=16).fit(z_train)

    def errors(rows: np.ndarray) -> np.ndarray:
        z = scaler.transform(imputer.transform(rows))
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)

    reference_errors = errors(x_train)
    holdout_text = HOLDOUT.read_text()
    holdout = json.loads(holdout_text)
    assert holdout["feature_names"] == names
    positive = holdout["positive_label"]
    hold_rows = np.array([[r["features"][n] for n in names] for r in holdout["rows"]], dtype=np.float64)
    shifted = hold_rows[:20].copy()
    for n in SHIFTED:
        j = names.index(n)
        shifted[:, j] += 2 * x_train[:, j].std()

    probs = [r["expected"]["v1"]["probabilities"][holdout["class_labels"].index(positive)] for r in holdout["rows"]]
    reference = {
        "version": "v1",
        "model": train.MODEL_NAME,
        "positive_label": positive,
        "feature_names": names,
        "holdout": {
            "source": "model/artifacts/holdout.json",
            "sha256": hashlib.sha256(holdout_text.encode()).hexdigest(),
            "y_true": [int(r["label"] == positive) for r in holdout["rows"]],
            "y_pred_proba": probs,
            "y_pred": [int(r["expected"]["v1"]["label"] == positive) for r in holdout["rows"]],
        },
        "reconstruction": {
            "n_components_ratio": 0.65,
            "k": int(pca.n_components_),
            "imputer_mean": imputer.statistics_.tolist(),
            "scaler_mean": scaler.mean_.tolist(),
            "scaler_scale": scaler.scale_.tolist(),
            "pca_mean": pca.mean_.tolist(),
            "components": pca.components_.tolist(),
            "reference_errors": reference_errors.tolist(),
        },
    }
    rows = [
        {"features": dict(zip(names, map(float, r))), "error": float(e)}
        for r, e in zip(np.vstack([hold_rows, shifted]), errors(np.vstack([hold_rows, shifted])))
    ]
    rng = np.random.default_rng(21)
    percentiles = []
    for n, p in [(1, 99), (2, 50), (7, 99), (100, 99), (455, 99), (455, 50), (1000, 12.5), (33, 0), (33, 100)]:
        values = rng.lognormal(size=n)
        percentiles.append({"values": values.tolist(), "p": p, "expected": float(np.percentile(values, p))})
    fixture = {
        "generated_by": "model/make_ood_fixture.py",
        "reference": reference,
        "threshold": float(np.percentile(reference_errors, 99)),
        "shifted_features": SHIFTED,
        "rows": rows,
        "percentiles": percentiles,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: k={pca.n_components_}, threshold {fixture['threshold']:.4f}, {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
