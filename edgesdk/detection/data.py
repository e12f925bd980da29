"""Detection data: COCO (``labels.json`` + ``images/``) and Pascal VOC folders, and drawn shapes.

Boxes are held normalized to the image, as ``[ymin, xmin, ymax, xmax]`` in ``[0, 1]``
(the order the TFLite detection post-processing emits), with 0-based class indices into
``class_names``. Every problem in a data set is a :class:`~edgesdk.errors.DataError`
naming the file and what to fix.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

COCO_FILE = "labels.json"
COCO_IMAGE_DIRS = ("images", "data")
VOC_ANNOTATIONS = "Annotations"
VOC_IMAGES = "JPEGImages"
SUPPORTED = (
    "a COCO folder (labels.json and the images it names under images/ or data/), "
    "or a Pascal VOC folder (Annotations/*.xml and JPEGImages/)"
)
#: A box edge may stick out of the image by this many pixels (rounding in annotation tools).
_EDGE_SLACK_PX = 1.0


@dataclass(frozen=True)
class DetectionSample:
    """One image (raw pixels, uint8 ``H x W x 3``) and its boxes."""

    image: np.ndarray
    boxes: np.ndarray  # float32 [n, 4] ymin, xmin, ymax, xmax in [0, 1]
    classes: np.ndarray  # int32 [n]
    name: str = ""


@dataclass(frozen=True)
class DetectionData:
    """Images with boxes, and the class names the indices refer to."""

    samples: tuple[DetectionSample, ...]
    class_names: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.samples)

    def resized(self, size: int) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Images resized to ``size x size`` (bilinear, float32 raw pixels), boxes, classes.

        Normalized boxes are unchanged by a resize of the whole image.
        """
        from ..preprocess import resize_bilinear

        x = np.stack(
            [resize_bilinear(s.image.astype(np.float32), size, size) for s in self.samples]
        )
        return x, [s.boxes for s in self.samples], [s.classes for s in self.samples]

    def split(self, val_fraction: float, seed: int) -> tuple[DetectionData, DetectionData]:
        n = len(self.samples)
        order = np.random.default_rng(seed).permutation(n)
        n_val = max(1, int(round(n * val_fraction))) if n > 1 else 0
        val = tuple(self.samples[i] for i in sorted(order[:n_val]))
        train = tuple(self.samples[i] for i in sorted(order[n_val:]))
        return (
            DetectionData(train, self.class_names, self.source),
            DetectionData(val, self.class_names, self.source),
        )


def _bad(what: str, received: object, fix: str, supported: str = SUPPORTED) -> DataError:
    return DataError(what, received=received, supported=supported, fix=fix)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise _bad(
            f"the image {path} named in the annotations does not exist",
            received=str(path),
            fix="Put the image there, or remove its entry from the annotations",
        )
    try:
        with Image.open(path) as im:
            im.draft("RGB", im.size)
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise _bad(
            f"the image {path} cannot be read",
            received=f"{type(exc).__name__}: {exc}",
            fix="Replace or remove the broken image",
        ) from None


def _box(
    x0: float, y0: float, x1: float, y1: float, width: int, height: int, where: str
) -> list[float]:
    values = (x0, y0, x1, y1)
    if not all(np.isfinite(v) for v in values):
        raise _bad(f"{where} has a non-finite box", received=values, fix="Fix the box")
    if x1 <= x0 or y1 <= y0:
        raise _bad(
            f"{where} has an empty box (no width or height)",
            received=f"x {x0}..{x1}, y {y0}..{y1}",
            fix="Give every box a positive width and height, or remove it",
        )
    s = _EDGE_SLACK_PX
    if x0 < -s or y0 < -s or x1 > width + s or y1 > height + s:
        raise _bad(
            f"{where} has a box outside its {width}x{height} image",
            received=f"x {x0}..{x1}, y {y0}..{y1}",
            fix="Clip the box to the image, or fix the image size in the annotations",
        )
    clip = np.clip
    return [
        float(clip(y0 / height, 0, 1)),
        float(clip(x0 / width, 0, 1)),
        float(clip(y1 / height, 0, 1)),
        float(clip(x1 / width, 0, 1)),
    ]


# ------------------------------------------------------------------------------ COCO


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(
            f"{path} is not readable JSON", received=f"{type(exc).__name__}: {exc}", fix="Fix it"
        ) from None


def load_coco(folder: Path) -> DetectionData:
    """A COCO folder: ``labels.json`` (images, annotations with ``bbox`` = x, y, w, h in
    pixels, categories) and the images under ``images/`` or ``data/``."""
    folder = Path(folder)
    doc = _load_json(folder / COCO_FILE)
    if not isinstance(doc, dict):
        raise _bad(f"{folder / COCO_FILE} is not a COCO object", type(doc).__name__, "Fix it")
    image_dir = next((folder / d for d in COCO_IMAGE_DIRS if (folder / d).is_dir()), folder)
    try:
        cats = sorted(doc.get("categories") or [], key=lambda c: int(c["id"]))
        cat_index = {int(c["id"]): i for i, c in enumerate(cats)}
        names = tuple(str(c["name"]) for c in cats)
        images = {int(im["id"]): im for im in doc.get("images") or []}
        anns = list(doc.get("annotations") or [])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(
            f"{folder / COCO_FILE} lacks a required COCO field",
            received=f"{type(exc).__name__}: {exc}",
            fix="Give every category an id and a name, and every image an id and a file_name",
        ) from None
    if not names:
        raise _bad(f"{folder / COCO_FILE} has no categories", "categories: []", "Add categories")
    per_image: dict[int, list[tuple[list[float], int]]] = {i: [] for i in images}
    for k, ann in enumerate(anns):
        try:
            image_id, cat_id = int(ann["image_id"]), int(ann["category_id"])
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(
                f"annotation {k} in {folder / COCO_FILE} is malformed",
                received=f"{type(exc).__name__}: {exc}",
                fix="Give it image_id, category_id and bbox [x, y, width, height]",
            ) from None
        if cat_id not in cat_index:
            raise _bad(
                f"annotation {k} in {folder / COCO_FILE} has an unknown category id",
                received=f"category_id={cat_id}",
                fix=f"Use one of the category ids {sorted(cat_index)}, or add the category",
                supported="category ids listed under 'categories'",
            )
        if image_id not in images:
            raise _bad(
                f"annotation {k} in {folder / COCO_FILE} refers to an unknown image id",
                received=f"image_id={image_id}",
                fix="List the image under 'images', or remove the annotation",
            )
        im = images[image_id]
        where = f"annotation {k} ({im.get('file_name')})"
        box = _box(x, y, x + w, y + h, int(im.get("width", 0)), int(im.get("height", 0)), where)
        per_image[image_id].append((box, cat_index[cat_id]))
    samples = []
    for image_id in sorted(images):
        im = images[image_id]
        path = image_dir / str(im["file_name"])
        pixels = _read_image(path)
        h, w = pixels.shape[:2]
        if (int(im.get("width", w)), int(im.get("height", h))) != (w, h):
            raise _bad(
                f"{path} is {w}x{h} but labels.json says {im.get('width')}x{im.get('height')}",
                received=str(path),
                fix="Fix width and height in labels.json",
            )
        entries = per_image[image_id]
        samples.append(_sample(pixels, entries, path.name))
    return _checked(DetectionData(tuple(samples), names, str(folder)), folder)


def _sample(
    pixels: np.ndarray, entries: list[tuple[list[float], int]], name: str
) -> DetectionSample:
    boxes = np.asarray([b for b, _ in entries], np.float32).reshape(-1, 4)
    classes = np.asarray([c for _, c in entries], np.int32)
    return DetectionSample(pixels, boxes, classes, name)


def _checked(data: DetectionData, folder: Path) -> DetectionData:
    if not data.samples:
        raise _bad(f"{folder} holds no images", received="0 images", fix="Add annotated images")
    if not any(len(s.boxes) for s in data.samples):
        raise _bad(
            f"{folder} holds no boxes",
            received=f"{len(data.samples)} images, 0 boxes",
            fix="Annotate at least one object",
        )
    return data


# ------------------------------------------------------------------------------- VOC


def load_voc(folder: Path, class_names: tuple[str, ...] | None = None) -> DetectionData:
    """A Pascal VOC folder: ``Annotations/*.xml`` and ``JPEGImages/``. Class names are the
    sorted set of ``<object><name>`` values unless given."""
    folder = Path(folder)
    xmls = sorted((folder / VOC_ANNOTATIONS).glob("*.xml"))
    parsed = []
    for path in xmls:
        try:
            root = ET.parse(path).getroot()
            file_name = (root.findtext("filename") or path.stem + ".jpg").strip()
            size = root.find("size")
            w = int(float(size.findtext("width"))) if size is not None else 0  # type: ignore[arg-type]
            h = int(float(size.findtext("height"))) if size is not None else 0  # type: ignore[arg-type]
            objects = []
            for obj in root.findall("object"):
                bb = obj.find("bndbox")
                assert bb is not None
                coords = [float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]  # type: ignore[arg-type]
                objects.append(((obj.findtext("name") or "").strip(), coords))
        except (ET.ParseError, AssertionError, TypeError, ValueError) as exc:
            raise _bad(
                f"{path} is not a readable Pascal VOC annotation",
                received=f"{type(exc).__name__}: {exc}",
                fix="Give it filename, size/width/height and objects with name and bndbox",
            ) from None
        parsed.append((path, file_name, w, h, objects))
    names = class_names or tuple(sorted({n for *_, objs in parsed for n, _ in objs}))
    index = {n: i for i, n in enumerate(names)}
    samples = []
    for path, file_name, w, h, objects in parsed:
        image = folder / VOC_IMAGES / file_name
        pixels = _read_image(image)
        ih, iw = pixels.shape[:2]
        w, h = w or iw, h or ih
        entries = []
        for name, (x0, y0, x1, y1) in objects:
            if name not in index:
                raise _bad(
                    f"{path} names an unknown class",
                    received=repr(name),
                    fix=f"Use one of {list(names)}",
                    supported="the class names of the data set",
                )
            # VOC pixel coordinates are 1-based and inclusive.
            entries.append((_box(x0 - 1, y0 - 1, x1, y1, w, h, str(path)), index[name]))
        samples.append(_sample(pixels, entries, image.name))
    return _checked(DetectionData(tuple(samples), names, str(folder)), folder)


# ------------------------------------------------------------------------------ entry


def is_detection_data(path: Path) -> bool:
    p = Path(path)
    return (p / COCO_FILE).is_file() or (p / VOC_ANNOTATIONS).is_dir()


def load_detection_data(path: str | Path) -> DetectionData:
    """COCO or VOC, told apart by the folder's layout."""
    p = Path(path)
    if not p.exists():
        raise _bad(f"the data path {p} does not exist", received=str(p), fix="Check the path")
    if (p / COCO_FILE).is_file():
        return load_coco(p)
    if (p / VOC_ANNOTATIONS).is_dir():
        return load_voc(p)
    listing = sorted(q.name for q in p.iterdir())[:6] if p.is_dir() else [p.name]
    raise _bad(
        f"{p} is not a detection data set",
        received=f"contents {listing}",
        fix="Give a folder with labels.json and images/, or Annotations/ and JPEGImages/",
    )


# ------------------------------------------------------------------------- drawn shapes

SHAPE_NAMES = ("circle", "square", "triangle")


def draw_shapes(n: int, size: int = 128, seed: int = 0, max_objects: int = 3) -> DetectionData:
    """``n`` images of 1..``max_objects`` filled shapes on a noisy background, with boxes."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    samples = []
    for i in range(n):
        bg = rng.integers(0, 90, size=3)
        noise = rng.integers(-20, 20, size=(size, size, 3))
        base = np.clip(bg[None, None, :] + noise, 0, 255).astype(np.uint8)
        im = Image.fromarray(base)
        draw = ImageDraw.Draw(im)
        entries: list[tuple[list[float], int]] = []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _attempt in range(20):
                s = float(rng.uniform(0.22, 0.45) * size)
                x0 = float(rng.uniform(0, size - s))
                y0 = float(rng.uniform(0, size - s))
                box = [y0 / size, x0 / size, (y0 + s) / size, (x0 + s) / size]
                if all(_iou(box, b) < 0.1 for b, _ in entries):
                    break
            else:
                continue
            cls = int(rng.integers(0, len(SHAPE_NAMES)))
            color = tuple(int(c) for c in rng.integers(140, 256, size=3))
            if cls == 0:
                draw.ellipse([x0, y0, x0 + s, y0 + s], fill=color)
            elif cls == 1:
                draw.rectangle([x0, y0, x0 + s, y0 + s], fill=color)
            else:
                draw.polygon([(x0 + s / 2, y0), (x0, y0 + s), (x0 + s, y0 + s)], fill=color)
            entries.append((box, cls))
        samples.append(_sample(np.asarray(im), entries, f"shapes_{i:04d}.png"))
    return DetectionData(tuple(samples), SHAPE_NAMES, "drawn shapes")


def _iou(a: list[float], b: list[float]) -> float:
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def write_coco(data: DetectionData, folder: Path) -> Path:
    """Write ``data`` as a COCO folder (``labels.json`` + ``images/*.png``)."""
    from PIL import Image

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    for i, s in enumerate(data.samples):
        h, w = s.image.shape[:2]
        name = s.name or f"image_{i:04d}.png"
        Image.fromarray(s.image).save(folder / "images" / name)
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        for box, cls in zip(s.boxes.tolist(), s.classes.tolist(), strict=True):
            y0, x0, y1, x1 = box
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": int(cls) + 1,
                    "bbox": [x0 * w, y0 * h, (x1 - x0) * w, (y1 - y0) * h],
                    "area": (x1 - x0) * w * (y1 - y0) * h,
                    "iscrowd": 0,
                }
            )
    cats = [{"id": i + 1, "name": n} for i, n in enumerate(data.class_names)]
    doc = {"images": images, "annotations": anns, "categories": cats}
    (folder / COCO_FILE).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return folder
