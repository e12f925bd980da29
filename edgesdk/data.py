"""Reading data sets: a folder with one sub-folder per class of images, or an ``.npz``.

Images are returned as **raw pixels** (0..255, float32, ``N x H x W x C``), resized to
the requested size with the bilinear contract of :mod:`edgesdk.preprocess`. The SDK
applies normalization itself, so ``.npz`` files also hold raw pixel values, as image
files would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .preprocess import resize_bilinear

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Dataset:
    """Samples, optional integer labels and optional class names."""

    x: np.ndarray
    y: np.ndarray | None = None
    class_names: tuple[str, ...] | None = None
    source: str = ""

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def take(self, n: int, seed: int = 0) -> Dataset:
        """A deterministic subset of at most ``n`` samples (stratification not attempted)."""
        if n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).permutation(len(self))[:n])
        y = None if self.y is None else self.y[idx]
        return Dataset(self.x[idx], y, self.class_names, self.source)


def read_image(path: Path, channels: int) -> np.ndarray:
    """Decode one image file to ``H x W x channels`` uint8 (RGB, or PIL's ``L`` for gray)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            converted = img.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(
            f"could not decode the image {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported="PNG, JPEG, BMP, GIF and WebP files",
            fix="Remove or replace the file",
        ) from None
    arr = np.asarray(converted, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_image_folder(root: Path, *, size: tuple[int, int] | None, channels: int = 3) -> Dataset:
    """Load ``root/<class>/<image>`` into raw pixels resized to ``size`` (height, width)."""
    folders = _class_folders(root)
    if not folders:
        raise DataError(
            f"the data folder {root} has no class sub-folders",
            received=f"{root} containing {sorted(p.name for p in root.iterdir())[:5]}",
            supported="a folder with one sub-folder per class of images, or an .npz with x (and y)",
            fix="Put the images of each class in their own sub-folder, e.g. data/cat/1.jpg",
        )
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for label, folder in enumerate(folders):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            pixels = read_image(path, channels)
            if size is None:
                size = (pixels.shape[0], pixels.shape[1])
            xs.append(resize_bilinear(pixels, size[0], size[1]).reshape(size[0], size[1], channels))
            ys.append(label)
    if not xs:
        raise DataError(
            f"no images found under {root}",
            received=f"class folders {[f.name for f in folders]} "
            f"with no {'/'.join(IMAGE_SUFFIXES)} files",
            supported="image files " + ", ".join(IMAGE_SUFFIXES),
            fix="Check the path, or add images to the class folders",
        )
    return Dataset(
        np.stack(xs).astype(np.float32),
        np.asarray(ys, dtype=np.int64),
        tuple(f.name for f in folders),
        str(root),
    )


def load_npz(path: Path, *, size: tuple[int, int] | None, channels: int | None) -> Dataset:
    """Load ``x`` (and ``y``, ``class_names``) from an ``.npz``; image-like ``x`` is resized."""
    try:
        with np.load(path, allow_pickle=False) as f:
            files = set(f.files)
            if "x" not in files:
                raise DataError(
                    f"the .npz file {path} has no array named 'x'",
                    received=f"arrays {sorted(files)}",
                    supported="an .npz with x (samples, raw pixel values for images) "
                    "and optionally y",
                    fix="Save it with numpy.savez(path, x=images, y=labels)",
                )
            x = np.asarray(f["x"])
            y = np.asarray(f["y"]) if "y" in files else None
            names = tuple(str(n) for n in f["class_names"]) if "class_names" in files else None
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(
            f"could not read the .npz file {path}",
            received=f"{type(exc).__name__}: {exc}",
            supported="a NumPy .npz archive with x (and y)",
            fix="Write it with numpy.savez",
        ) from None
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"the .npz file {path} holds no samples", received=f"x.shape={x.shape}")
    if y is not None:
        y = y.reshape(-1) if y.ndim > 1 and y.shape[1:] == (1,) else y
        if y.ndim != 1 or y.shape[0] != x.shape[0]:
            raise DataError(
                f"x and y in {path} do not match",
                received=f"x.shape={x.shape}, y.shape={y.shape}",
                supported="y with one integer label per sample of x",
                fix="Save y as a 1-D array with len(y) == len(x)",
            )
        try:
            y = y.astype(np.int64)
        except (TypeError, ValueError):
            raise DataError(
                f"the labels y in {path} are not integers",
                received=f"y.dtype={y.dtype}, e.g. {y[:3].tolist()}",
                supported="y holding integer class indices 0..n-1",
                fix="Map class names to indices and save their names as class_names",
            ) from None
    if size is not None and x.ndim in (3, 4):
        if x.ndim == 3:
            x = x[..., None]
        if channels is not None and x.shape[-1] != channels:
            raise DataError(
                f"the images in {path} have {x.shape[-1]} channels but the model takes {channels}",
                received=f"x.shape={x.shape}",
                supported=f"x of shape (N, H, W, {channels})",
                fix="Convert the images to the model's channel count",
            )
        if x.shape[1:3] != tuple(size):
            x = np.stack([resize_bilinear(img, size[0], size[1]) for img in x])
            if x.ndim == 3:
                x = x[..., None]
    return Dataset(x.astype(np.float32), y, names, str(path))


def load_dataset(
    path: str | Path, *, size: tuple[int, int] | None = None, channels: int | None = None
) -> Dataset:
    """Load a data set from an image folder or an ``.npz`` (see module docstring)."""
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"the data path {p} does not exist",
            received=str(path),
            supported="a folder with one sub-folder per class of images, or an .npz with x (and y)",
            fix="Check the path",
        )
    if p.is_dir():
        return load_image_folder(p, size=size, channels=channels or 3)
    if p.suffix.lower() == ".npz":
        return load_npz(p, size=size, channels=channels)
    raise DataError(
        f"unsupported data format for {p}",
        received=p.name,
        supported="a folder with one sub-folder per class of images, or an .npz with x (and y)",
        fix="Convert the data to one of those",
    )


__all__ = ["Dataset", "load_dataset", "load_image_folder", "load_npz", "read_image"]
