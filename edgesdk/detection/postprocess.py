"""Detections from raw outputs (numpy), the same decoding and NMS as the TFLite op.

``TFLite_Detection_PostProcess`` with ``use_regular_nms=false`` and
``max_classes_per_detection=1``: decode every anchor's box, take its best class, drop
scores at or below the threshold, class-agnostic greedy NMS, keep the top
``max_detections``. Used for the Keras side of mAP and box agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anchors import decode, iou_matrix


@dataclass(frozen=True)
class PostProcessOptions:
    """Attributes of the appended ``TFLite_Detection_PostProcess`` op."""

    max_detections: int = 10
    score_threshold: float = 0.05
    iou_threshold: float = 0.5

    def to_dict(self) -> dict[str, float]:
        return {
            "max_detections": self.max_detections,
            "score_threshold": self.score_threshold,
            "iou_threshold": self.iou_threshold,
        }


@dataclass(frozen=True)
class Detections:
    """One image's detections, best first: boxes ``[n, 4]`` (ymin, xmin, ymax, xmax in [0, 1]),
    classes ``[n]`` and scores ``[n]``."""

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def to_dict(self) -> dict[str, list]:
        return {
            "boxes": np.round(self.boxes, 6).tolist(),
            "classes": self.classes.astype(int).tolist(),
            "scores": np.round(self.scores, 6).tolist(),
        }


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, limit: int) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order:
        if len(keep) >= limit:
            break
        if keep and (iou_matrix(boxes[i : i + 1], boxes[keep])[0] > iou_threshold).any():
            continue
        keep.append(int(i))
    return keep


def detect(
    encodings: np.ndarray, scores: np.ndarray, anchors: np.ndarray, opts: PostProcessOptions
) -> Detections:
    """``encodings`` ``[A, 4]``, ``scores`` ``[A, C]`` (no background column) -> detections."""
    boxes = decode(encodings.astype(np.float64), anchors.astype(np.float64))
    best = scores.argmax(axis=1)
    best_score = scores[np.arange(len(scores)), best]
    cand = np.nonzero(best_score > opts.score_threshold)[0]
    keep = cand[nms(boxes[cand], best_score[cand], opts.iou_threshold, opts.max_detections)]
    # Boxes clipped to the image, as the runner and the apps report them.
    return Detections(
        np.clip(boxes[keep], 0.0, 1.0).astype(np.float32),
        best[keep].astype(np.int32),
        best_score[keep].astype(np.float32),
    )


def match(a: Detections, b: Detections, iou: float = 0.9) -> dict[str, float]:
    """How well detections ``b`` reproduce ``a``: each of ``a`` matched greedily to a ``b``
    of the same class with IoU >= ``iou``; the fraction matched and the largest score gap."""
    used: set[int] = set()
    matched = 0
    gap = 0.0
    for i in range(len(a)):
        best, best_iou = -1, iou
        for j in range(len(b)):
            if j in used or int(b.classes[j]) != int(a.classes[i]):
                continue
            v = float(iou_matrix(a.boxes[i : i + 1], b.boxes[j : j + 1])[0, 0])
            if v >= best_iou:
                best, best_iou = j, v
        if best >= 0:
            used.add(best)
            matched += 1
            gap = max(gap, abs(float(a.scores[i]) - float(b.scores[best])))
    return {
        "reference": len(a),
        "candidate": len(b),
        "matched": matched,
        "fraction": matched / len(a) if len(a) else 1.0,
        "max_score_diff": gap,
    }
