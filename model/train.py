"""Train the breast-cancer classifier versions and write the committed artifacts.

Run from the repository root:

    model/.venv/bin/python model/train.py

Everything is written under model/artifacts/. Re-running with the same pinned
environment reproduces the same models; see README.md for the artifact layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

# Pin BLAS/OpenMP threading before numpy/onnxruntime load: multi-threaded
# reductions can change the last bits of results between machines.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import scipy  # noqa: E402
import skl2onnx  # noqa: E402
import sklearn  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import GradientBoostingClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

MODEL_NAME = "breast-cancer-classifier"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

SEED = 42
HOLDOUT_FRACTION = 0.2
# sklearn's target encoding, kept as-is so class index == ONNX probability column.
CLASS_LABELS = ["malignant", "benign"]
POSITIVE_LABEL = "malignant"
POSITIVE_INDEX = CLASS_LABELS.index(POSITIVE_LABEL)

# The downstream Node consumer must match sklearn within 1e-5; holding the
# Python ONNX runtime to a tighter bound leaves headroom for that.
MAX_ABS_DIFF = 1e-6

# Conservative opsets keep the models loadable by older onnxruntime-node builds
# and make the exported bytes independent of skl2onnx's moving default.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

HIST_BINS = 20
# The reconstruction fit behind multivariate drift and the replicas' out-of-distribution score: NannyML's
# DataReconstructionDriftCalculator defaults (PCA keeping 65% of the variance, its random_state 16).
RECONSTRUCTION_VARIANCE = 0.65
RECONSTRUCTION_PCA_SEED = 16
# A request is flagged out of distribution above this percentile of the training rows' errors.
OOD_PERCENTILE = 99
QUANTILES = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99]
PROFILE_SIG_DIGITS = 10

TRAINING_DATA_SHA256_METHOD = (
    "sha256 over the concatenation of: the training feature matrix X_train as "
    "C-contiguous little-endian float64 bytes (rows in split order, columns in "
    "feature_names order), followed by the training labels y_train as "
    "little-endian int64 bytes (0=malignant, 1=benign)"
)

V1_HYPERPARAMETERS = {
    "standard_scaler": {"with_mean": True, "with_std": True},
    "logistic_regression": {"C": 1.0, "solver": "lbfgs", "max_iter": 1000, "tol": 1e-4},
}
V2_HYPERPARAMETERS = {
    "n_estimators": 100,
    "learning_rate": 0.1,
    "max_depth": 3,
    "subsample": 1.0,
    "min_samples_leaf": 1,
    "random_state": SEED,
}



def library_versions():
    """The versions a model card records: its artifacts depend on them."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }

def log(msg: str) -> None:
    print(f"[train] {msg}", flush=True)


def snake_case(name: str) -> str:
    return "_".join(name.strip().lower().split())


def make_logreg_pipeline() -> Pipeline:
    lr = V1_HYPERPARAMETERS["logistic_regression"]
    sc = V1_HYPERPARAMETERS["standard_scaler"]
    return Pipeline(
        [
            ("scaler", StandardScaler(**sc)),
            ("classifier", LogisticRegression(random_state=SEED, **lr)),
        ]
    )


def make_gbm() -> GradientBoostingClassifier:
    return GradientBoostingClassifier(**V2_HYPERPARAMETERS)


# Each entry: how to build the estimator, which labels it learns from, and
# what goes into its card. "broken" reuses v1's recipe on inverted labels so it
# differs from v1 only in what it learned, never in its interface.
VERSIONS = {
    "v1": {
        "build": make_logreg_pipeline,
        "invert_labels": False,
        "algorithm": "StandardScaler + LogisticRegression (sklearn Pipeline)",
        "hyperparameters": V1_HYPERPARAMETERS,
        "description": "Baseline production model.",
    },
    "v2": {
        "build": make_gbm,
        "invert_labels": False,
        "algorithm": "GradientBoostingClassifier",
        "hyperparameters": V2_HYPERPARAMETERS,
        "description": "Challenger model with a different algorithm (gradient-boosted trees).",
    },
    "broken": {
        "build": make_logreg_pipeline,
        "invert_labels": True,
        "algorithm": "StandardScaler + LogisticRegression (sklearn Pipeline)",
        "hyperparameters": V1_HYPERPARAMETERS,
        "description": (
            "Deliberately bad model: v1's pipeline trained on inverted labels (1 - y), "
            "so its probabilities are inverted. For demonstrating alerting/rollback."
        ),
    },
}


def sig(x: float, digits: int = PROFILE_SIG_DIGITS) -> float:
    return float(f"{float(x):.{digits}g}")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def training_data_sha256(x_train: np.ndarray, y_train: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x_train, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(y_train, dtype="<i8").tobytes())
    return h.hexdigest()


def final_estimator(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def to_onnx(model, tensor_type) -> onnx.ModelProto:
    # zipmap off so probabilities are a plain [N, 2] tensor instead of a
    # sequence of dicts, which onnxruntime-node cannot consume conveniently.
    options = {id(final_estimator(model)): {"zipmap": False}}
    onx = convert_sklearn(
        model,
        name=MODEL_NAME,
        initial_types=[("input", tensor_type([None, 30]))],
        options=options,
        target_opset=TARGET_OPSET,
    )
    # skl2onnx collects opset imports in a hash-ordered container, so their
    # order (and thus the file's sha256) would vary between interpreter runs.
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    onnx.checker.check_model(onx)
    return onx


def ort_session(onnx_bytes: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, sess_options=so, providers=["CPUExecutionProvider"])


def run_onnx(sess: ort.InferenceSession, x: np.ndarray, np_dtype) -> tuple[np.ndarray, np.ndarray]:
    label, proba = sess.run(["label", "probabilities"], {"input": x.astype(np_dtype)})
    return np.asarray(label), np.asarray(proba, dtype=np.float64)


def max_abs_diff(model, sess, x: np.ndarray, np_dtype) -> tuple[float, bool]:
    labels, proba = run_onnx(sess, x, np_dtype)
    diff = float(np.max(np.abs(proba - model.predict_proba(x))))
    return diff, bool(np.array_equal(labels, model.predict(x)))


ONNX_ELEM_TYPES = {
    onnx.TensorProto.FLOAT: "float32",
    onnx.TensorProto.DOUBLE: "float64",
    onnx.TensorProto.INT64: "int64",
}


def io_signature(onx: onnx.ModelProto) -> dict:
    def describe(value_info):
        t = value_info.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        return {"name": value_info.name, "dtype": ONNX_ELEM_TYPES.get(t.elem_type, str(t.elem_type)), "shape": dims}

    return {
        "inputs": [describe(v) for v in onx.graph.input],
        "outputs": [describe(v) for v in onx.graph.output],
    }


def holdout_metrics(model, x: np.ndarray, y: np.ndarray) -> dict:
    proba = model.predict_proba(x)
    pred = model.predict(x)
    # Binarise around the positive class so precision/recall/F1/AUC describe
    # detection of malignancy rather than sklearn's default positive (index 1).
    y_pos = (y == POSITIVE_INDEX).astype(int)
    pred_pos = (pred == POSITIVE_INDEX).astype(int)
    score = proba[:, POSITIVE_INDEX]
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y_pos, pred_pos, zero_division=0)),
        "recall": float(recall_score(y_pos, pred_pos, zero_division=0)),
        "f1": float(f1_score(y_pos, pred_pos, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_pos, score)),
        "log_loss": float(log_loss(y, proba, labels=[0, 1])),
    }


def holdout_scored(sess: ort.InferenceSession, x_hold: np.ndarray, y_hold: np.ndarray, np_dtype) -> dict:
    """The holdout as the replica scores it: CBPE's reference (1 = the positive label).

    The probabilities are the ONNX output (float32 for the served models), written as the float64 of
    that value, so they equal the `score` the replica logs and Elasticsearch stores bit for bit.
    """
    labels, proba = run_onnx(sess, x_hold, np_dtype)
    return {
        "y_true": [int(v) for v in (y_hold == POSITIVE_INDEX)],
        "y_pred_proba": [float(v) for v in proba[:, POSITIVE_INDEX]],
        "y_pred": [int(v) for v in (labels == POSITIVE_INDEX)],
    }


def reconstruction_fit(x_train: np.ndarray) -> dict:
    """NannyML's DataReconstructionDriftCalculator fit on the training rows, as its parameters.

    Mean imputation, standard scaling (population std; sklearn sets a constant column's scale to 1) and a
    PCA keeping the smallest number of components that explains more than 65% of the variance. A row's
    reconstruction error is ||d - d V V^T|| with d = the scaled row minus the PCA mean and V the components
    (p x k): the distance between the row and its projection, in standardized units. `reference_errors` are
    the training rows' own errors, in training row order (the reference chunks for thresholds).
    """
    imputer = SimpleImputer(strategy="mean").fit(x_train)
    scaler = StandardScaler().fit(imputer.transform(x_train))
    z = scaler.transform(imputer.transform(x_train))
    pca = PCA(n_components=RECONSTRUCTION_VARIANCE, random_state=RECONSTRUCTION_PCA_SEED).fit(z)
    errors = np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)
    return {
        "n_components_ratio": RECONSTRUCTION_VARIANCE,
        "k": int(pca.n_components_),
        "imputer_mean": [float(v) for v in imputer.statistics_],
        "scaler_mean": [float(v) for v in scaler.mean_],
        "scaler_scale": [float(v) for v in scaler.scale_],
        "pca_mean": [float(v) for v in pca.mean_],
        "components": [[float(v) for v in row] for row in pca.components_],
        "ood_percentile": OOD_PERCENTILE,
        "ood_threshold": float(np.percentile(errors, OOD_PERCENTILE)),
        "reference_errors": [float(v) for v in errors],
    }


def write_reference(path: Path, version: str, feature_names, holdout_path: Path, scored: dict, reconstruction: dict) -> None:
    """`reference.json` beside a version's model: what the analyzer's judgments and the replica's OOD score are fitted on."""
    try:
        source = str(holdout_path.resolve().relative_to(ARTIFACTS.parent.parent))
    except ValueError:
        source = str(holdout_path)
    write_json(path, {
        "version": version,
        "model": MODEL_NAME,
        "positive_label": POSITIVE_LABEL,
        "feature_names": list(feature_names),
        "holdout": {"source": source, "sha256": sha256_bytes(holdout_path.read_bytes()), **scored},
        "reconstruction": reconstruction,
    })


def quantile_dict(values: np.ndarray) -> dict:
    qs = np.quantile(values, QUANTILES, method="linear")
    return {f"p{int(round(q * 100)):02d}": sig(v) for q, v in zip(QUANTILES, qs)}


def histogram(values: np.ndarray, edges: np.ndarray) -> dict:
    # Counts are taken against the already-rounded edges so that a consumer who
    # re-bins the training data with the published edges gets the same counts.
    inside = values[(values >= edges[0]) & (values <= edges[-1])]
    counts, _ = np.histogram(inside, bins=edges)
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "underflow": int(np.sum(values < edges[0])),
        "overflow": int(np.sum(values > edges[-1])),
    }


def feature_profile(values: np.ndarray) -> dict:
    missing = ~np.isfinite(values)
    present = values[~missing]
    lo, hi = float(present.min()), float(present.max())
    edges = np.array([sig(e) for e in np.linspace(lo, hi, HIST_BINS + 1)])
    # Rounding must not pull the outer edges inside the observed range.
    edges[0] = min(edges[0], lo)
    edges[-1] = max(edges[-1], hi)
    return {
        "min": sig(lo),
        "max": sig(hi),
        "mean": sig(present.mean()),
        "std": sig(present.std(ddof=0)),
        "missing_rate": float(missing.mean()),
        "quantiles": quantile_dict(present),
        "histogram": histogram(present, edges),
        # The training values themselves (sorted, full precision): a two-sample KS
        # test needs the reference sample, not only its binned summary.
        "sample": sorted(float(v) for v in present),
    }


def score_profile(scores: np.ndarray) -> dict:
    edges = np.array([sig(e) for e in np.linspace(0.0, 1.0, HIST_BINS + 1)])
    return {
        "histogram": histogram(scores, edges),
        "quantiles": quantile_dict(scores),
        "mean": sig(scores.mean()),
        "std": sig(scores.std(ddof=0)),
        "sample": sorted(float(v) for v in scores),
    }


def format_json(value, indent: int = 0) -> str:
    # Like json.dumps(indent=2), except arrays of scalars (edges, counts,
    # shapes, names) stay on one line: shorter files, readable diffs.
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {format_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in value) + "]"
        return "[\n" + ",\n".join(inner + format_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def write_json(path: Path, obj) -> None:
    text = format_json(obj)
    if json.loads(text) != json.loads(json.dumps(obj, allow_nan=False)):
        raise SystemExit(f"FATAL: JSON formatting changed the content of {path}")
    write_text(path, text + "\n")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Leaving an unchanged file alone keeps its mtime and avoids churn for tools
    # that watch the artifacts directory.
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def previous_training_date(card_path: Path, onnx_sha: str, data_sha: str, libs: dict) -> str | None:
    # A retrain that reproduces the exact same model keeps the original date, so
    # re-running the script does not rewrite committed cards for no reason.
    try:
        old = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        old.get("onnx_sha256") == onnx_sha
        and old.get("training_data_sha256") == data_sha
        and old.get("library_versions") == libs
    ):
        return old.get("training_date")
    return None


def holdout_json_text(feature_names, x_hold, y_hold, expected) -> str:
    # One row per line: compact enough to stay small, yet diffs stay readable.
    header = {
        "feature_names": feature_names,
        "class_labels": CLASS_LABELS,
        "positive_label": POSITIVE_LABEL,
    }
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False)},")
    lines.append('  "rows": [')
    row_lines = []
    for i in range(len(y_hold)):
        row = {
            "features": {n: float(v) for n, v in zip(feature_names, x_hold[i])},
            "label": CLASS_LABELS[int(y_hold[i])],
            "expected": {
                version: {
                    "label": CLASS_LABELS[int(labels[i])],
                    "probabilities": [float(p) for p in proba[i]],
                }
                for version, (labels, proba) in expected.items()
            },
        }
        row_lines.append("    " + json.dumps(row, allow_nan=False, separators=(",", ":")))
    lines.append(",\n".join(row_lines))
    lines.append("  ]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # the hand-assembled layout must still be valid JSON
    return text


def main() -> int:
    np.random.seed(SEED)
    log(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"skl2onnx {skl2onnx.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}")

    data = load_breast_cancer()
    feature_names = [snake_case(n) for n in data.feature_names]
    assert len(feature_names) == 30 and len(set(feature_names)) == 30
    assert list(data.target_names) == CLASS_LABELS, data.target_names
    x = np.asarray(data.data, dtype=np.float64)
    y = np.asarray(data.target, dtype=np.int64)
    log(f"loaded bundled breast-cancer dataset: {x.shape[0]} rows x {x.shape[1]} features")

    x_train, x_hold, y_train, y_hold = train_test_split(
        x, y, test_size=HOLDOUT_FRACTION, stratify=y, random_state=SEED
    )
    data_sha = training_data_sha256(x_train, y_train)
    log(f"stratified split: n_train={len(y_train)} n_holdout={len(y_hold)} training_data_sha256={data_sha[:16]}...")

    models = {}
    for version, spec in VERSIONS.items():
        y_fit = 1 - y_train if spec["invert_labels"] else y_train
        log(f"training {version}: {spec['algorithm']}{' on INVERTED labels' if spec['invert_labels'] else ''}")
        models[version] = spec["build"]().fit(x_train, y_fit)

    # float32 is the natural input type for onnxruntime-node, but only if the
    # real models (not the deliberately broken one) survive the precision loss.
    log("checking float32 ONNX parity with sklearn on the holdout set")
    dtype_name, tensor_type, np_dtype = "float32", FloatTensorType, np.float32
    for version in ("v1", "v2"):
        sess = ort_session(to_onnx(models[version], FloatTensorType).SerializeToString())
        diff, _ = max_abs_diff(models[version], sess, x_hold, np.float32)
        log(f"  {version} float32 max|onnx - sklearn| = {diff:.3e}")
        if diff > MAX_ABS_DIFF:
            dtype_name, tensor_type, np_dtype = "float64", DoubleTensorType, np.float64
    log(f"chosen ONNX input dtype: {dtype_name}")

    exported, verification, signatures, scored = {}, {}, {}, {}
    for version, model in models.items():
        onx = to_onnx(model, tensor_type)
        onnx_bytes = onx.SerializeToString()
        sess = ort_session(onnx_bytes)
        hold_diff, hold_labels_ok = max_abs_diff(model, sess, x_hold, np_dtype)
        train_diff, train_labels_ok = max_abs_diff(model, sess, x_train, np_dtype)
        log(f"exported {version}: {len(onnx_bytes)} bytes, max|onnx - sklearn| holdout={hold_diff:.3e} "
            f"train={train_diff:.3e}, labels match={hold_labels_ok and train_labels_ok}")
        if max(hold_diff, train_diff) > MAX_ABS_DIFF or not (hold_labels_ok and train_labels_ok):
            raise SystemExit(
                f"FATAL: {version} ONNX output deviates from sklearn (holdout {hold_diff:.3e}, train {train_diff:.3e}, "
                f"labels ok: {hold_labels_ok}/{train_labels_ok}); limit is {MAX_ABS_DIFF:g}"
            )
        exported[version] = (onx, onnx_bytes)
        verification[version] = {"holdout": hold_diff, "train": train_diff}
        scored[version] = holdout_scored(sess, x_hold, y_hold, np_dtype)
        signatures[version] = io_signature(onx)

    reference_sig = signatures["v1"]
    for version, signature in signatures.items():
        if signature != reference_sig:
            raise SystemExit(f"FATAL: {version} ONNX signature {signature} differs from v1 {reference_sig}")
    expected_inputs = [{"name": "input", "dtype": dtype_name, "shape": [None, 30]}]
    if reference_sig["inputs"] != expected_inputs:
        raise SystemExit(f"FATAL: unexpected ONNX input signature {reference_sig['inputs']}")
    out_names = [o["name"] for o in reference_sig["outputs"]]
    if out_names != ["label", "probabilities"]:
        raise SystemExit(f"FATAL: unexpected ONNX outputs {out_names}")
    log(f"signature identical across versions: {json.dumps(reference_sig)}")

    libs = library_versions()
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    for version, spec in VERSIONS.items():
        model = models[version]
        onx, onnx_bytes = exported[version]
        onnx_sha = sha256_bytes(onnx_bytes)
        out_dir = ARTIFACTS / version
        card_path = out_dir / "model_card.json"
        metrics = holdout_metrics(model, x_hold, y_hold)
        log(f"{version} holdout metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
        card = {
            "name": MODEL_NAME,
            "version": version,
            "description": spec["description"],
            "algorithm": spec["algorithm"],
            "hyperparameters": spec["hyperparameters"],
            "trained_on_inverted_labels": spec["invert_labels"],
            "feature_names": feature_names,
            "input": reference_sig["inputs"][0],
            "outputs": reference_sig["outputs"],
            "class_labels": CLASS_LABELS,
            "positive_label": POSITIVE_LABEL,
            "score": f"probabilities[:, {POSITIVE_INDEX}] = P({POSITIVE_LABEL})",
            "training_date": previous_training_date(card_path, onnx_sha, data_sha, libs) or now,
            "training_data": {
                "source": "sklearn.datasets.load_breast_cancer (bundled with scikit-learn)",
                "split": {
                    "method": "sklearn.model_selection.train_test_split",
                    "test_size": HOLDOUT_FRACTION,
                    "stratify": "y",
                    "random_state": SEED,
                },
            },
            "training_data_sha256": data_sha,
            "training_data_sha256_method": TRAINING_DATA_SHA256_METHOD,
            "n_train": int(len(y_train)),
            "n_holdout": int(len(y_hold)),
            "holdout_metrics": metrics,
            "onnx": {
                "ir_version": int(onx.ir_version),
                "opset": {(o.domain or "ai.onnx"): int(o.version) for o in onx.opset_import},
                "max_abs_diff_vs_sklearn": verification[version],
            },
            "onnx_sha256": onnx_sha,
            "library_versions": libs,
        }
        write_bytes(out_dir / "model.onnx", onnx_bytes)
        write_json(card_path, card)
        log(f"wrote {out_dir.relative_to(ARTIFACTS.parent)}/model.onnx and model_card.json")

    log("building reference profile from the training set")
    labels_count = {name: int(np.sum(y_train == i)) for i, name in enumerate(CLASS_LABELS)}
    profile = {
        "name": MODEL_NAME,
        "description": (
            "Training-set baseline for drift detection. Feature histograms use 20 equal-width bins between the "
            "training min and max; bins are [edge_i, edge_i+1) except the last, which also includes its right "
            "edge. Values below edges[0] count in 'underflow', values above edges[-1] in 'overflow' (both 0 for "
            "the training data itself). Quantiles use linear interpolation; std is the population std (ddof=0). "
            "score = P(malignant) from sklearn predict_proba on the training set; score histograms use 20 "
            "equal-width bins over [0, 1]. Values are rounded to 10 significant digits, except 'sample': the sorted "
            "training values (or training scores) at full float64 precision, the reference sample of the KS test."
        ),
        "n": int(len(y_train)),
        "training_data_sha256": data_sha,
        "feature_names": feature_names,
        "features": {name: feature_profile(x_train[:, j]) for j, name in enumerate(feature_names)},
        "class_balance": {
            "counts": labels_count,
            "shares": {k: sig(v / len(y_train)) for k, v in labels_count.items()},
        },
        "positive_label": POSITIVE_LABEL,
        "scores": {
            version: score_profile(model.predict_proba(x_train)[:, POSITIVE_INDEX])
            for version, model in models.items()
        },
    }
    write_json(ARTIFACTS / "reference_profile.json", profile)
    log("wrote artifacts/reference_profile.json")

    expected = {version: (model.predict(x_hold), model.predict_proba(x_hold)) for version, model in models.items()}
    write_text(ARTIFACTS / "holdout.json", holdout_json_text(feature_names, x_hold, y_hold, expected))
    log(f"wrote artifacts/holdout.json ({len(y_hold)} rows)")

    reconstruction = reconstruction_fit(x_train)
    log(f"reconstruction fit on the training rows: k={reconstruction['k']} components, "
        f"OOD threshold (p{OOD_PERCENTILE} of the training rows' errors) {reconstruction['ood_threshold']:.4f}")
    for version in VERSIONS:
        write_reference(ARTIFACTS / version / "reference.json", version, feature_names, ARTIFACTS / "holdout.json", scored[version], reconstruction)
        log(f"wrote artifacts/{version}/reference.json")

    for path in sorted(ARTIFACTS.rglob("*")):
        if path.is_file():
            log(f"  {path.relative_to(ARTIFACTS.parent)}: {path.stat().st_size} bytes")
    log("done")
    return 0


ALGORITHMS = {
    "logreg": ("StandardScaler + LogisticRegression (sklearn Pipeline)", make_logreg_pipeline, V1_HYPERPARAMETERS),
    "gbt": ("GradientBoostingClassifier", make_gbm, V2_HYPERPARAMETERS),
}


def train_from_data(args) -> int:
    """Retraining on production data (the remediator's retrain job).

    Trains one new version from a JSON file of labeled rows
    (`{feature_names, class_labels, rows: [{features: {name: value}, label}], lineage: {...}}`),
    evaluates it on the committed holdout (the same rows every version's card is
    measured on, so accuracies compare), and writes `<out-dir>/model.onnx` and
    `model_card.json` with the data's lineage. The committed artifacts are not
    touched. The last line of stdout is a JSON summary for the caller.
    """
    data = json.loads(Path(args.from_data).read_text(encoding="utf-8"))
    holdout = json.loads(Path(args.holdout).read_text(encoding="utf-8"))
    feature_names = holdout["feature_names"]
    if data["feature_names"] != feature_names:
        raise SystemExit(f"FATAL: the data's feature_names differ from the holdout's: {data['feature_names']}")
    unknown = sorted({r["label"] for r in data["rows"]} - set(CLASS_LABELS))
    if unknown:
        raise SystemExit(f"FATAL: labels {unknown} are not among {CLASS_LABELS}")

    def matrix(rows):
        x = np.asarray([[float(r["features"][n]) for n in feature_names] for r in rows], dtype=np.float64)
        y = np.asarray([CLASS_LABELS.index(r["label"]) for r in rows], dtype=np.int64)
        return x, y

    x_train, y_train = matrix(data["rows"])
    x_hold, y_hold = matrix(holdout["rows"])
    if len(set(y_train.tolist())) < 2:
        raise SystemExit(f"FATAL: the {len(y_train)} rows hold one class only; nothing to learn")
    algorithm, build, hyperparameters = ALGORITHMS[args.algorithm]
    data_sha = training_data_sha256(x_train, y_train)
    log(f"training {args.version}: {algorithm} on {len(y_train)} production rows (training_data_sha256={data_sha[:16]}...)")
    model = build().fit(x_train, y_train)

    onx = to_onnx(model, FloatTensorType)
    onnx_bytes = onx.SerializeToString()
    sess = ort_session(onnx_bytes)
    hold_diff, labels_ok = max_abs_diff(model, sess, x_hold, np.float32)
    if hold_diff > MAX_ABS_DIFF or not labels_ok:
        raise SystemExit(f"FATAL: ONNX output deviates from sklearn on the holdout ({hold_diff:.3e}, labels ok: {labels_ok})")
    metrics = holdout_metrics(model, x_hold, y_hold)
    log(f"{args.version} holdout metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    signature = io_signature(onx)
    libs = library_versions()
    lineage = data.get("lineage", {})
    card = {
        "name": MODEL_NAME,
        "version": args.version,
        "description": f"Retrained on labeled production data by the remediator ({lineage.get('job_id', 'manual')}).",
        "algorithm": algorithm,
        "hyperparameters": hyperparameters,
        "trained_on_inverted_labels": False,
        "feature_names": feature_names,
        "input": signature["inputs"][0],
        "outputs": signature["outputs"],
        "class_labels": CLASS_LABELS,
        "positive_label": POSITIVE_LABEL,
        "score": f"probabilities[:, {POSITIVE_INDEX}] = P({POSITIVE_LABEL})",
        "training_date": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "training_data": {
            "source": lineage.get("source", str(args.from_data)),
            "window": lineage.get("window"),
            "rows": int(len(y_train)),
            "class_counts": {name: int(np.sum(y_train == i)) for i, name in enumerate(CLASS_LABELS)},
            "data_file_sha256": sha256_bytes(Path(args.from_data).read_bytes()),
        },
        "training_data_sha256": data_sha,
        "training_data_sha256_method": TRAINING_DATA_SHA256_METHOD,
        "n_train": int(len(y_train)),
        "n_holdout": int(len(y_hold)),
        "holdout_metrics": metrics,
        "holdout": {"source": "model/artifacts/holdout.json (the committed holdout every version is measured on)", "sha256": sha256_bytes(Path(args.holdout).read_bytes())},
        "lineage": lineage,
        "onnx": {
            "ir_version": int(onx.ir_version),
            "opset": {(o.domain or "ai.onnx"): int(o.version) for o in onx.opset_import},
            "max_abs_diff_vs_sklearn": {"holdout": hold_diff},
        },
        "onnx_sha256": sha256_bytes(onnx_bytes),
        "library_versions": libs,
    }
    # Written beside the target and renamed into place: a replica that looks for
    # the version sees all of it or nothing.
    out_dir = Path(args.out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    write_bytes(staging / "model.onnx", onnx_bytes)
    write_json(staging / "model_card.json", card)
    # Its holdout is the committed one scored by this version; its reconstruction is fitted on the rows it learned from.
    write_reference(staging / "reference.json", args.version, feature_names, Path(args.holdout), holdout_scored(sess, x_hold, y_hold, np.float32), reconstruction_fit(x_train))
    staging.replace(out_dir)
    log(f"wrote {out_dir}/model.onnx, model_card.json and reference.json")
    print(json.dumps({"version": args.version, "holdout_metrics": metrics, "training_data_sha256": data_sha, "n_train": int(len(y_train)), "dir": str(out_dir)}), flush=True)
    return 0


def parse_args(argv):
    import argparse

    parser = argparse.ArgumentParser(description="Without options: train v1, v2 and broken into model/artifacts. With --from-data: train one new version from labeled rows.")
    parser.add_argument("--from-data", help="JSON file of labeled rows to train a new version from")
    parser.add_argument("--version", help="name of the new version (with --from-data)")
    parser.add_argument("--out-dir", help="directory to write the new version to (with --from-data); must not exist")
    parser.add_argument("--holdout", default=str(ARTIFACTS / "holdout.json"), help="holdout to evaluate on")
    parser.add_argument("--algorithm", choices=sorted(ALGORITHMS), default="logreg")
    args = parser.parse_args(argv)
    if args.from_data and not (args.version and args.out_dir):
        parser.error("--from-data needs --version and --out-dir")
    if args.from_data and Path(args.out_dir).exists():
        parser.error(f"--out-dir {args.out_dir} already exists; versions are never overwritten")
    return args


if __name__ == "__main__":
    _args = parse_args(sys.argv[1:])
    sys.exit(train_from_data(_args) if _args.from_data else main())
