"""Reading data sets: a folder with one sub-folder per class of images, or an ``.npz``.

Images are returned as **raw pixels** (0..255, float32, ``N x H x W x C``), resized to
the requested size with the bilinear contract of :mod:`edgesdk.preprocess`. The SDK
applies normalization itself, so ``.npz`` files also hold raw pixel values, as image
files would give.
"""

from __future__ import annotations

from collections.abc import Callable
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


#: Images with more pixels than this are refused before decoding (decompression bombs):
#: 40 megapixels is above any phone camera's default and keeps one decode near 160 MB.
MAX_IMAGE_PIXELS = 40_000_000
#: Decoders edgesdk lets Pillow use, whatever a file's suffix says (no EPS/PSD/TIFF plugins,
#: which run external programs or read arbitrary layouts).
IMAGE_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP")
_BAD_SHOWN = 5


class ImageReadError(DataError):
    """One image file could not be used: not an image, damaged, or a decompression bomb."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"could not use the image {path}: {reason}",
            received=str(path),
            supported=f"{', '.join(IMAGE_FORMATS)} images up to {MAX_IMAGE_PIXELS:,} pixels",
            fix="Remove or replace the file",
        )


def _to_rgb_or_gray(img: object, channels: int) -> np.ndarray:
    """Pillow image -> ``H x W x channels`` uint8 by the documented mode rules (README,
    "Image data"): alpha is dropped and fully transparent pixels become black (what
    ``Bitmap.getPixels`` gives the app), palette images expand first, 16-bit samples keep
    their high byte, CMYK goes through Pillow's conversion, gray for 1-channel models is
    Pillow's ``L`` of the RGB image."""
    from PIL import Image

    im: Image.Image = img  # type: ignore[assignment]
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(im, dtype=np.int64)
        im = Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8), "L")
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        im = Image.fromarray(np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8), "L")
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")
    alpha = None
    if im.mode in ("RGBA", "LA", "RGBa", "La"):
        alpha = np.asarray(im.getchannel("A"))
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    if alpha is not None:
        rgb[alpha == 0] = 0
    if channels == 1:
        gray = np.asarray(Image.fromarray(rgb, "RGB").convert("L"), dtype=np.uint8)
        return gray[:, :, None]
    return rgb


def read_image(path: Path, channels: int) -> np.ndarray:
    """Decode one image file to ``H x W x channels`` uint8 (RGB, or Pillow's ``L`` for gray).

    EXIF orientation is applied (the image as the app's picker shows it). Raises
    :class:`ImageReadError` for anything that is not a usable image: unknown or damaged
    content, a format outside :data:`IMAGE_FORMATS`, or more than :data:`MAX_IMAGE_PIXELS`
    pixels (checked from the header, before decoding, and again after).
    """
    import warnings

    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()  # every plugin registered, so the list below is honoured as given
            formats = [f for f in IMAGE_FORMATS if f in Image.OPEN]
            with Image.open(path, formats=formats) as img:
                w, h = img.size
                if w * h > MAX_IMAGE_PIXELS or w <= 0 or h <= 0:
                    raise ImageReadError(
                        path, f"{w}x{h} pixels, over the {MAX_IMAGE_PIXELS:,}-pixel limit "
                        "(a decompression bomb?)",
                    )  # fmt: skip
                img.load()
                if img.size[0] * img.size[1] > MAX_IMAGE_PIXELS:
                    raise ImageReadError(path, f"{img.size} pixels after decoding")
                upright = ImageOps.exif_transpose(img)
                return _to_rgb_or_gray(upright, channels)
    except ImageReadError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageReadError(path, "not an image Pillow can identify as " +
                             "/".join(IMAGE_FORMATS)) from None  # fmt: skip
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(path, f"decompression bomb ({exc})") from None
    except MemoryError:
        raise ImageReadError(path, "too large to decode in memory") from None
    except Exception as exc:  # noqa: BLE001 - a third-party decoder on untrusted bytes
        raise ImageReadError(path, f"damaged ({type(exc).__name__}: {exc})") from None


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def describe_bad(bad: list[ImageReadError]) -> str:
    """``N files (first: a (why); b (why) ...)`` for warnings and errors."""
    shown = "; ".join(f"{e.path} ({e.reason})" for e in bad[:_BAD_SHOWN])
    more = f"; and {len(bad) - _BAD_SHOWN} more" if len(bad) > _BAD_SHOWN else ""
    return f"{len(bad)} file(s): {shown}{more}"


def load_image_folder(
    root: Path,
    *,
    size: tuple[int, int] | None,
    channels: int = 3,
    bad_images: str = "error",
    on_warning: Callable[[str], None] | None = None,
) -> Dataset:
    """Load ``root/<class>/<image>`` into raw pixels resized to ``size`` (height, width).

    Files that are not usable images (:class:`ImageReadError`) are all collected first;
    then ``bad_images="error"`` raises one :class:`DataError` naming them, and ``"skip"``
    leaves them out with one warning through ``on_warning``.
    """
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
    bad: list[ImageReadError] = []
    for label, folder in enumerate(folders):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            try:
                pixels = read_image(path, channels)
            except ImageReadError as exc:
                bad.append(exc)
                continue
            if size is None:
                size = (pixels.shape[0], pixels.shape[1])
            xs.append(resize_bilinear(pixels, size[0], size[1]).reshape(size[0], size[1], channels))
            ys.append(label)
    if bad and bad_images != "skip":
        raise DataError(
            f"{root} holds files that are not usable images",
            received=describe_bad(bad),
            supported=f"{', '.join(IMAGE_FORMATS)} images up to {MAX_IMAGE_PIXELS:,} pixels",
            fix="Remove or replace those files (evaluation and training use every file "
            "as given, so edgesdk does not leave any out)",
        )
    if bad and on_warning is not None:
        on_warning(f"skipped {describe_bad(bad)} under {root}: not usable images")
    if not xs:
        raise DataError(
            f"no images found under {root}",
            received=f"class folders {[f.name for f in folders]} "
            f"with no usable {'/'.join(IMAGE_SUFFIXES)} files"
            + (f"; skipped {describe_bad(bad)}" if bad else ""),
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
    path: str | Path,
    *,
    size: tuple[int, int] | None = None,
    channels: int | None = None,
    bad_images: str = "error",
    on_warning: Callable[[str], None] | None = None,
) -> Dataset:
    """Load a data set from an image folder or an ``.npz`` (see module docstring).

    ``bad_images``: ``"error"`` (default; evaluation, training) or ``"skip"`` (calibration)
    for files that are not usable images; see :func:`load_image_folder`.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"the data path {p} does not exist",
            received=str(path),
            supported="a folder with one sub-folder per class of images, or an .npz with x (and y)",
            fix="Check the path",
        )
    if p.is_dir():
        return load_image_folder(
            p, size=size, channels=channels or 3, bad_images=bad_images, on_warning=on_warning
        )
    if p.suffix.lower() == ".npz":
        return load_npz(p, size=size, channels=channels)
    raise DataError(
        f"unsupported data format for {p}",
        received=p.name,
        supported="a folder with one sub-folder per class of images, or an .npz with x (and y)",
        fix="Convert the data to one of those",
    )


__all__ = [
    "Dataset",
    "ImageReadError",
    "MAX_IMAGE_PIXELS",
    "load_dataset",
    "load_image_folder",
    "load_npz",
    "read_image",
]
