"""Evaluation: ROC AUC, PR AUC (average precision), Brier score, top-decile lift, a
calibration table and its expected calibration error, and ROC / precision-recall curves as PNG."""

from __future__ import annotations

import io
import math

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score, roc_curve

CALIBRATION_BINS = 10


class EvaluationError(ValueError):
    """Scores and labels that cannot be evaluated (one class, mismatched lengths, NaN scores)."""


def _check(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.ndim != 1:
        raise EvaluationError(f"labels {y_true.shape} and scores {y_score.shape} must be 1-D and of equal length")
    if not np.isfinite(y_score).all():
        raise EvaluationError(f"{int((~np.isfinite(y_score)).sum())} scores are NaN or infinite")
    if len(np.unique(y_true)) != 2:
        raise EvaluationError(f"evaluation needs both classes; labels hold {sorted(set(y_true.tolist()))}")
    return y_true, y_score


def top_decile_lift(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores (rounded up, at least one) over the overall rate."""
    y_true, y_score = _check(y_true, y_score)
    k = max(1, math.ceil(len(y_true) / 10))
    # Stable sort on the negated score: ties keep input order, so the result is reproducible.
    top = np.argsort(-y_score, kind="stable")[:k]
    return float(y_true[top].mean() / y_true.mean())


def calibration_table(y_true: np.ndarray, y_score: np.ndarray, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Equal-width probability bins [i/bins, (i+1)/bins) (the last one closed): count, mean
    predicted probability and observed churn rate; empty bins are left out."""
    y_true, y_score = _check(y_true, y_score)
    index = np.minimum((y_score * bins).astype(np.int64), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin_lower": b / bins,
                    "bin_upper": (b + 1) / bins,
                    "count": int(mask.sum()),
                    "mean_predicted": float(y_score[mask].mean()),
                    "observed_rate": float(y_true[mask].mean()),
                }
            )
    return rows


def expected_calibration_error(y_true: np.ndarray, y_score: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """ECE: the gap between mean predicted probability and observed churn rate per bin of the
    calibration table, weighted by the bin's share of rows."""
    rows = calibration_table(y_true, y_score, bins)
    total = sum(r["count"] for r in rows)
    return float(sum(r["count"] / total * abs(r["mean_predicted"] - r["observed_rate"]) for r in rows))


def classification_metrics(y_true: np.ndarray, y_score: np.ndarray) -> dict:
    """All metrics of one model on one evaluation set."""
    y_true, y_score = _check(y_true, y_score)
    return {
        "roc_auc": float(roc_auc_score(y_true, y_score)),
        "pr_auc": float(average_precision_score(y_true, y_score)),
        "brier": float(brier_score_loss(y_true, y_score)),
        "top_decile_lift": top_decile_lift(y_true, y_score),
        "ece": expected_calibration_error(y_true, y_score),
        "rows": int(len(y_true)),
        "positive_rate": float(y_true.mean()),
        "calibration": calibration_table(y_true, y_score),
    }


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def curve_pngs(y_true: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, bytes]:
    """ROC and precision-recall curves of each named model, as PNG bytes {'roc': .., 'pr': ..}."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    from matplotlib.figure import Figure

    roc_fig, pr_fig = Figure(figsize=(5, 5)), Figure(figsize=(5, 5))
    roc_ax, pr_ax = roc_fig.subplots(), pr_fig.subplots()
    for name, y_score in scores.items():
        y, s = _check(y_true, y_score)
        fpr, tpr, _ = roc_curve(y, s)
        roc_ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
        precision, recall, _ = precision_recall_curve(y, s)
        pr_ax.step(recall, precision, where="post", label=f"{name} (AP {average_precision_score(y, s):.3f})")
    roc_ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    roc_ax.set(xlabel="False positive rate", ylabel="True positive rate", title="Churn ROC curve")
    pr_ax.axhline(float(np.mean(y_true)), linestyle="--", color="grey", linewidth=1)
    pr_ax.set(xlabel="Recall", ylabel="Precision", title="Churn precision-recall curve", ylim=(0, 1.02))
    for ax in (roc_ax, pr_ax):
        ax.legend(loc="best", fontsize=8)
    roc_fig.tight_layout()
    pr_fig.tight_layout()
    return {"roc": _png(roc_fig), "pr": _png(pr_fig)}
