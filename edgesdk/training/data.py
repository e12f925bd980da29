"""Labelled image data for training: loading, the seeded stratified split, ``tf.data``.

Raw pixels ``N x H x W x C`` (float32, 0..255) come from :func:`edgesdk.data.load_dataset`
(a folder of class sub-folders or an ``.npz``); the split depends only on the labels,
the fraction and the seed, so ``train`` and ``compress`` hold out the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._tf import tf
from ..data import load_dataset
from ..errors import DataError, EdgeSdkError
from .checks import check_val_split


@dataclass(frozen=True)
class LabeledData:
    """Raw pixels ``N x H x W x C`` (float32, 0..255), int64 labels and class names."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    #: Whether the class names came from the data (folder names / npz ``class_names``).
    named: bool
    source: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h, w, c = self.x.shape[1:]
        return int(h), int(w), int(c)


def load_labeled(
    data: str | Path, *, size: tuple[int, int] | None = None, channels: int | None = None
) -> LabeledData:
    """Load labelled images for training or evaluation; at least two classes."""
    try:
        ds = load_dataset(data, size=size, channels=channels)
    except EdgeSdkError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        raise DataError(
            f"could not read the data {data}",
            received=f"{type(exc).__name__}: {exc}",
            supported="a folder with one sub-folder per class of images, or an .npz with "
            "x (raw pixels) and y (integer labels)",
            fix="Check the file",
        ) from None
    x = ds.x
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(
            f"the data in {data} are not images",
            received=f"x.shape={tuple(ds.x.shape)}",
            supported="x of shape (N, H, W) or (N, H, W, C) with raw pixel values 0..255",
            fix="Reshape x to images before saving the .npz",
        )
    if ds.y is None:
        raise DataError(
            f"the data in {data} have no labels",
            received=f"{data} without y",
            supported="an .npz with x and y, or a folder with one sub-folder per class",
            fix="Save the labels as y: numpy.savez(path, x=images, y=labels)",
        )
    y = np.asarray(ds.y, dtype=np.int64)
    if y.size and int(y.min()) < 0:
        raise DataError(
            f"the labels in {data} must be class indices",
            received=f"min(y)={int(y.min())}",
            supported="integer labels 0..K-1",
            fix="Map the labels to 0..K-1",
        )
    num_classes = int(y.max()) + 1 if y.size else 0
    if ds.class_names is not None:
        names = tuple(ds.class_names)
        if num_classes > len(names):
            raise DataError(
                f"the labels in {data} exceed the class names",
                received=f"max(y)={num_classes - 1} with {len(names)} class names",
                supported="labels 0..len(class_names)-1",
                fix="Fix y or class_names in the .npz",
            )
    else:
        names = tuple(str(i) for i in range(num_classes))
    present = np.unique(y)
    if present.size < 2:
        only = names[int(present[0])] if present.size else "none"
        raise DataError(
            f"training a classifier needs at least 2 classes, but {data} has {present.size}",
            received=f"class {only!r} with {y.size} samples",
            supported="a folder with one sub-folder per class (two or more), or an .npz "
            "whose y holds at least two labels",
            fix="Add images of at least one more class",
        )
    if float(np.max(x)) <= 1.0:
        raise DataError(
            f"the images in {data} look normalized already (all values in [0, 1])",
            received=f"x.min()={float(np.min(x)):g}, x.max()={float(np.max(x)):g}",
            supported="raw pixel values 0..255: the model normalizes them itself",
            fix="Save the raw pixels, e.g. x * 255",
        )
    return LabeledData(
        x.astype(np.float32, copy=False), y, names, ds.class_names is not None, str(data)
    )


def stratified_split(y: np.ndarray, val_split: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified ``(train_indices, val_indices)``, each sorted.

    Every class with at least two samples gives ``round(n * val_split)`` samples
    (at least one, at most ``n - 1``) to the validation split. The split depends only
    on ``y``, ``val_split`` and ``seed``, so ``train`` and ``compress`` hold out the
    same samples of the same data.
    """
    check_val_split(val_split)
    rng = np.random.default_rng(seed)
    val: list[np.ndarray] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = idx.size
        k = min(max(int(round(n * val_split)), 1), n - 1) if n >= 2 else 0
        val.append(idx[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train_idx = np.setdiff1d(np.arange(y.size), val_idx)
    if val_idx.size == 0 or train_idx.size == 0:
        raise DataError(
            "too few samples for a training and a validation split",
            received=f"{y.size} samples",
            supported="at least two samples in some class",
            fix="Add more data",
        )
    return train_idx, val_idx


def make_dataset(x: np.ndarray, y: Any, *, batch_size: int, shuffle: bool, seed: int = 0) -> Any:
    """A batched ``tf.data.Dataset`` (seeded shuffle), sharded by data under a strategy."""
    tfm = tf()
    ds = tfm.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    options = tfm.data.Options()
    options.experimental_distribute.auto_shard_policy = tfm.data.experimental.AutoShardPolicy.DATA
    return ds.batch(batch_size).with_options(options)
