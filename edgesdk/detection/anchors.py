"""Anchors (SSD-style, multi-scale) and the box encoding the detection post-processing decodes.

Anchors are ``[A, 4]`` float32 as ``(ycenter, xcenter, height, width)`` normalized to the
image, the layout ``TFLite_Detection_PostProcess`` takes. Box encodings are
``(ty, tx, th, tw)`` with ``ty = (yc - ya) / ha * y_scale``, ``th = log(h / ha) * h_scale``
(the same for x and w), as in the TF Object Detection API's ``FasterRcnnBoxCoder``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

#: Box-coder scales (y, x, h, w).
SCALES = (10.0, 10.0, 5.0, 5.0)


@dataclass(frozen=True)
class AnchorSpec:
    """Anchors on the feature maps of strides ``strides`` of a square ``image_size`` input."""

    image_size: int
    strides: tuple[int, ...] = (16, 32)
    scales: tuple[float, ...] = (0.2, 0.5)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5)

    @property
    def per_location(self) -> int:
        # every aspect ratio at the level's scale, plus a square anchor between this level
        # and the next (SSD's extra anchor)
        return len(self.aspect_ratios) + 1

    def grid_sizes(self) -> tuple[int, ...]:
        return tuple(int(np.ceil(self.image_size / s)) for s in self.strides)

    def to_dict(self) -> dict[str, object]:
        return {
            "image_size": self.image_size,
            "strides": list(self.strides),
            "scales": list(self.scales),
            "aspect_ratios": list(self.aspect_ratios),
        }


def generate(spec: AnchorSpec) -> np.ndarray:
    """All anchors, level by level, row-major over each grid, ``per_location`` per cell."""
    out = []
    levels = spec.grid_sizes()
    for level, n in enumerate(levels):
        scale = spec.scales[level]
        next_scale = spec.scales[level + 1] if level + 1 < len(spec.scales) else 1.0
        shapes = [(scale / np.sqrt(r), scale * np.sqrt(r)) for r in spec.aspect_ratios]
        extra = float(np.sqrt(scale * next_scale))
        shapes.append((extra, extra))
        centers = (np.arange(n, dtype=np.float64) + 0.5) / n
        for yc in centers:
            for xc in centers:
                for h, w in shapes:
                    out.append((yc, xc, h, w))
    return np.asarray(out, np.float32)


def check_anchors(anchors: np.ndarray, num_boxes: int | None = None) -> np.ndarray:
    """Validate user anchors: ``[A, 4]`` finite, positive height and width."""
    a = np.asarray(anchors)
    if a.ndim != 2 or a.shape[1] != 4 or not np.issubdtype(a.dtype, np.number):
        raise ConfigError(
            "anchors must be a numeric [num_anchors, 4] array",
            received=f"shape {list(a.shape)}, dtype {a.dtype}",
            supported="(ycenter, xcenter, height, width) per anchor, normalized to [0, 1]",
            fix="Save them with numpy.save('anchors.npy', anchors)",
        )
    a = a.astype(np.float32)
    if not np.isfinite(a).all() or (a[:, 2:] <= 0).any():
        raise ConfigError(
            "anchors must be finite with positive height and width",
            received=f"{int((~np.isfinite(a)).any(axis=1).sum())} non-finite rows, "
            f"{int((a[:, 2:] <= 0).any(axis=1).sum())} rows with height or width <= 0",
            supported="(ycenter, xcenter, height, width) per anchor, normalized to [0, 1]",
            fix="Fix the anchors file",
        )
    if num_boxes is not None and len(a) != num_boxes:
        raise ConfigError(
            "the number of anchors does not match the model's box output",
            received=f"{len(a)} anchors, model predicts {num_boxes} boxes",
            supported="one anchor per predicted box, in the model's order",
            fix="Pass the anchors the model was trained with",
        )
    return a


def corners(anchors: np.ndarray) -> np.ndarray:
    """``(yc, xc, h, w)`` -> ``(ymin, xmin, ymax, xmax)``."""
    yc, xc, h, w = anchors.T
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` ``[n, 4]`` with every box in ``b`` ``[m, 4]`` (corners)."""
    a = a[:, None, :]
    b = b[None, :, :]
    ih = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iw = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = ih * iw
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def encode(boxes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Corner boxes ``[n, 4]`` (one per anchor) -> encodings relative to ``anchors``."""
    ya, xa, ha, wa = anchors.T
    h = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
    w = np.maximum(boxes[:, 3] - boxes[:, 1], 1e-6)
    yc = (boxes[:, 0] + boxes[:, 2]) / 2
    xc = (boxes[:, 1] + boxes[:, 3]) / 2
    sy, sx, sh, sw = SCALES
    return np.stack(
        [(yc - ya) / ha * sy, (xc - xa) / wa * sx, np.log(h / ha) * sh, np.log(w / wa) * sw],
        axis=1,
    ).astype(np.float32)


def decode(encodings: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Encodings ``[A, 4]`` -> corner boxes ``(ymin, xmin, ymax, xmax)``."""
    ya, xa, ha, wa = anchors.T
    sy, sx, sh, sw = SCALES
    yc = encodings[:, 0] / sy * ha + ya
    xc = encodings[:, 1] / sx * wa + xa
    h = np.exp(encodings[:, 2] / sh) * ha
    w = np.exp(encodings[:, 3] / sw) * wa
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)


def targets(
    anchors: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    num_classes: int,
    pos_iou: float = 0.5,
    neg_iou: float = 0.4,
) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one image.

    Returns ``box_t`` ``[A, 5]`` (encoding, positive mask) and ``cls_t`` ``[A, C + 1]``
    (one-hot classes, then a weight: 0 for anchors ignored between ``neg_iou`` and
    ``pos_iou``). Every box also claims its best anchor.
    """
    n = len(anchors)
    box_t = np.zeros((n, 5), np.float32)
    cls_t = np.zeros((n, num_classes + 1), np.float32)
    cls_t[:, num_classes] = 1.0
    if len(boxes) == 0:
        return box_t, cls_t
    iou = iou_matrix(corners(anchors), boxes)
    best_gt = iou.argmax(axis=1)
    best_iou = iou.max(axis=1)
    forced = iou.argmax(axis=0)
    best_gt[forced] = np.arange(len(boxes))
    best_iou[forced] = 1.0
    pos = best_iou >= pos_iou
    ignore = (best_iou >= neg_iou) & ~pos
    box_t[pos, :4] = encode(boxes[best_gt[pos]], anchors[pos])
    box_t[pos, 4] = 1.0
    cls_t[pos, classes[best_gt[pos]]] = 1.0
    cls_t[ignore, num_classes] = 0.0
    return box_t, cls_t
