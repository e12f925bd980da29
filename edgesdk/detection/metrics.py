"""COCO-style mean average precision: mAP@0.5 and mAP@[.5:.95] (101-point interpolation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .anchors import iou_matrix
from .postprocess import Detections

IOU_THRESHOLDS = tuple(np.round(np.arange(0.5, 0.951, 0.05), 2))


def _ap(tp: np.ndarray, scores: np.ndarray, n_gt: int) -> float:
    if n_gt == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = tp[order]
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-12)
    # precision envelope, then sample at 101 recall points
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side="left")
    sampled = np.where(idx < len(precision), precision[np.minimum(idx, len(precision) - 1)], 0.0)
    return float(sampled.mean())


def average_precision(
    detections: Sequence[Detections],
    gt_boxes: Sequence[np.ndarray],
    gt_classes: Sequence[np.ndarray],
    num_classes: int,
    iou_threshold: float,
) -> list[float]:
    """AP per class at one IoU threshold (NaN for a class without ground truth)."""
    out = []
    for c in range(num_classes):
        tps: list[float] = []
        scores: list[float] = []
        n_gt = 0
        for det, boxes, classes in zip(detections, gt_boxes, gt_classes, strict=True):
            g = boxes[classes == c]
            n_gt += len(g)
            sel = det.classes == c
            d_boxes, d_scores = det.boxes[sel], det.scores[sel]
            order = np.argsort(-d_scores, kind="stable")
            taken = np.zeros(len(g), bool)
            ious = iou_matrix(d_boxes, g) if len(g) and len(d_boxes) else None
            for i in order:
                scores.append(float(d_scores[i]))
                if ious is None:
                    tps.append(0.0)
                    continue
                row = np.where(taken, -1.0, ious[i])
                j = int(row.argmax())
                if row[j] >= iou_threshold:
                    taken[j] = True
                    tps.append(1.0)
                else:
                    tps.append(0.0)
        out.append(_ap(np.asarray(tps), np.asarray(scores), n_gt))
    return out


def mean_average_precision(
    detections: Sequence[Detections],
    gt_boxes: Sequence[np.ndarray],
    gt_classes: Sequence[np.ndarray],
    num_classes: int,
) -> dict[str, float]:
    """``{"map50": ..., "map": ...}`` in [0, 1] (mAP@0.5 and mAP@[.5:.95]), over the classes
    that have ground truth."""
    per_t = []
    for t in IOU_THRESHOLDS:
        aps = [a for a in average_precision(detections, gt_boxes, gt_classes, num_classes, t)]
        valid = [a for a in aps if not np.isnan(a)]
        per_t.append(float(np.mean(valid)) if valid else 0.0)
    return {"map50": per_t[0], "map": float(np.mean(per_t))}
