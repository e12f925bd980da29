"""keras.applications backbones: parity with the user's pipeline before and after
recognition, and what folding the normalization into the model costs.

For each family: a random-weight base (weights=None, seeded) nested under
``Dense(GAP(base(inp)))``, saved as the issue describes (tf_keras ``.h5`` or Keras 3
``.keras``). Prints, against the Keras model fed the family's ``preprocess_input``:

- ``before``: the ``.tflite`` fed raw pixels normalized as edgesdk assumed for unknown
  models (mean 0, std 255, i.e. [0, 1]);
- ``after``: the packaged ``.tflite`` fed raw pixels normalized by its own metadata;
- the fold's cost (size, operators added, host latency of the float32 model) for the
  automatic fold (caffe) or ``--fold-normalization`` (other families).

Host figures (LiteRT interpreter, 1 thread) on a shared machine: latency deltas of a
few percent are within noise.

    python benchmarks/bench_backbones.py                 # the four models, 224x224
    python benchmarks/bench_backbones.py --size 64 --families vgg16,mobilenet_v2
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# family module -> (Keras major version, application, file suffix)
MODELS = {
    "densenet": (2, "DenseNet121", "h5"),
    "resnet_v2": (2, "ResNet50V2", "h5"),
    "vgg16": (2, "VGG16", "h5"),
    "nasnet": (3, "NASNetMobile", "keras"),
    "resnet": (2, "ResNet50", "h5"),
    "mobilenet_v2": (3, "MobileNetV2", "keras"),
    "efficientnet": (2, "EfficientNetB0", "h5"),
}


def _keras(version: int):
    from edgesdk._tf import keras3, tf_keras

    return tf_keras() if version == 2 else keras3()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="densenet,resnet_v2,vgg16,nasnet")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--samples", type=int, default=8)
    args = ap.parse_args()

    import edgesdk
    from edgesdk import metadata
    from edgesdk.convert import convert
    from edgesdk.models import load_model
    from edgesdk.verify.host import tflite_outputs

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (args.samples, args.size, args.size, 3)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "eval.npz"
        np.savez(data, x=x, y=np.arange(len(x)) % 5)
        for fam in args.families.split(","):
            version, app, ext = MODELS[fam]
            k = _keras(version)
            k.utils.set_random_seed(0)
            shape = (args.size, args.size, 3)
            inp = k.Input(shape)
            base = getattr(k.applications, app)(include_top=False, weights=None, input_shape=shape)
            head = k.layers.Dense(5, activation="softmax")(
                k.layers.GlobalAveragePooling2D()(base(inp))
            )
            path = root / f"{fam}.{ext}"
            k.Model(inp, head, name="fine_tuned").save(path)

            loaded = load_model(path)
            pre = getattr(k.applications, fam).preprocess_input
            ref = np.asarray(loaded.model(pre(x.copy()), training=False))
            plain = convert(loaded).tflite
            before = float(np.abs(ref - tflite_outputs(plain, x, (0.0,) * 3, (255.0,) * 3)).max())

            t = time.perf_counter()
            res = edgesdk.package(path, root / f"out_{fam}", target="none", eval_data=data)
            secs = time.perf_counter() - t
            model_bytes = res.tflite.read_bytes()
            meta = metadata.read(model_bytes)
            mean, std = meta.inputs[0].mean, meta.inputs[0].std
            after = float(np.abs(ref - tflite_outputs(model_bytes, x, mean, std)).max())
            norm = res.report["normalization"]
            folded = norm.get("folded")
            how = "auto (caffe)"
            if folded is None:
                res = edgesdk.package(
                    path,
                    root / f"fold_{fam}",
                    target="none",
                    eval_data=data,
                    fold_normalization=True,
                )
                folded = res.report["normalization"].get("folded")
                how = "--fold-normalization"
            cost = (folded or {}).get("cost") or {}
            rows.append(
                (
                    f"{app} ({ext})",
                    norm["source"],
                    before,
                    after,
                    how,
                    cost.get("size_bytes"),
                    cost.get("operators_added"),
                    cost.get("latency_ms_unfolded"),
                    cost.get("latency_ms_folded"),
                    secs,
                )
            )
            print(f"done {fam}", flush=True)

    print(f"\n{args.size}x{args.size}, {args.samples} random-pixel samples, random weights")
    head = (
        f"{'model':24} {'source':36} {'before':>9} {'after':>9}  {'fold':20} "
        f"{'+bytes':>7} {'ops added':24} {'ms plain':>9} {'ms folded':>9} {'package s':>9}"
    )
    print(head)
    for r in rows:
        ops = ",".join(f"{k}:{v}" for k, v in (r[6] or {}).items()) or "-"
        print(
            f"{r[0]:24} {r[1]:36} {r[2]:9.3g} {r[3]:9.2g}  {r[4]:20} {r[5]!s:>7} {ops:24} "
            f"{r[7]!s:>9} {r[8]!s:>9} {r[9]:9.1f}"
        )


if __name__ == "__main__":
    main()
