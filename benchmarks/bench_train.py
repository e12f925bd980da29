"""Benchmark: `edgesdk train` defaults on small, easy data sets (prints a table; not a test).

The data: 3 classes of the demo's shapes (circle, square, triangle; random colours, sizes,
positions, pixel noise) at 48x48, written as PNG folders of 50, 100 and 300 images per class,
RGB and grayscale, for several seeds. Each run trains with the defaults (`edgesdk.train(DATA,
OUT)`, nothing else passed) and reports

- the accuracy on the held-out validation split train makes (20 %, stratified), and
- the accuracy on an independent evaluation set drawn from another seed (100 per class),
- the epochs and optimizer steps run (early stopping usually ends before the plan),
- the training time (`fit` + final evaluation, in-process) and the whole `train()` call.

Target: >= 90 % held-out accuracy within 120 s on 2 cores. Timings depend on the machine's
load; the figures printed say what was measured, nothing more.

Usage: python benchmarks/bench_train.py [--sizes 50 100 300] [--seeds 0 1 2] [--modes rgb gray]
       [--epochs N]   (N caps the epochs, as `edgesdk train --epochs`; default: the CLI default)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CLASSES = ("circle", "square", "triangle")
SIZE = 48


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 300])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--modes", nargs="+", default=["rgb", "gray"], choices=["rgb", "gray"])
    ap.add_argument("--epochs", type=int, default=None)
    args = ap.parse_args()

    import numpy as np

    import edgesdk
    from edgesdk import demo_data
    from edgesdk._tf import tf_keras
    from edgesdk.training.data import load_labeled

    work = Path(tempfile.mkdtemp(prefix="edgesdk-bench-train-"))
    rows = []
    try:
        for mode in args.modes:
            gray = mode == "gray"
            eval_dir = demo_data.write_shapes_folder(
                work / f"eval-{mode}", 100, SIZE, seed=999, classes=CLASSES, grayscale=gray
            )
            ev = load_labeled(eval_dir)
            for n in args.sizes:
                for seed in args.seeds:
                    data = demo_data.write_shapes_folder(
                        work / f"{mode}-{n}-{seed}", n, SIZE, seed=seed, classes=CLASSES,
                        grayscale=gray,
                    )
                    options = {} if args.epochs is None else {"epochs": args.epochs}
                    t0, c0 = time.perf_counter(), time.process_time()
                    res = edgesdk.train(data, work / f"m-{mode}-{n}-{seed}.h5", seed=seed, **options)
                    total, cpu = time.perf_counter() - t0, time.process_time() - c0
                    model = tf_keras().models.load_model(res.model_path, compile=False)
                    pred = np.argmax(model.predict(ev.x, batch_size=64, verbose=0), axis=-1)
                    eval_acc = float(np.mean(pred == ev.y))
                    rows.append((mode, n, seed, res, eval_acc, total, cpu))
                    print(
                        f"{mode:4} {n:3}/class seed {seed}: val {res.val_accuracy:.3f} "
                        f"eval {eval_acc:.3f} epochs {res.epochs} steps {res.steps} "
                        f"fit {res.seconds:.1f}s total {total:.1f}s cpu {cpu:.1f}s "
                        f"load {os.getloadavg()[0]:.1f}",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nedgesdk train defaults, 3 classes, {SIZE}x{SIZE}, {os.cpu_count()} cores, "
          f"load average now {os.getloadavg()[0]:.1f} (timings are as measured under that load; "
          "CPU s is the process's CPU time over all threads, which load inflates less)\n")
    header = ("mode", "img/class", "seed", "val acc", "eval acc", "epochs", "steps", "fit s", "train() s", "CPU s")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for mode, n, seed, res, eval_acc, total, cpu in rows:
        print(
            f"| {mode} | {n} | {seed} | {res.val_accuracy * 100:.1f}% | {eval_acc * 100:.1f}% | "
            f"{res.epochs} | {res.steps} | {res.seconds:.1f} | {total:.1f} | {cpu:.1f} |"
        )
    print("\nper data set (over seeds): min held-out accuracy, max train() time")
    for mode in args.modes:
        for n in args.sizes:
            sel = [r for r in rows if r[0] == mode and r[1] == n]
            if not sel:
                continue
            print(
                f"  {mode:4} {n:3}/class: val min {min(r[3].val_accuracy for r in sel) * 100:.1f}%, "
                f"eval min {min(r[4] for r in sel) * 100:.1f}%, "
                f"steps median {statistics.median(r[3].steps for r in sel):.0f}, "
                f"train() max {max(r[5] for r in sel):.1f} s, CPU max {max(r[6] for r in sel):.1f} s"
            )
    acc_ok = all(r[3].val_accuracy >= 0.9 and r[4] >= 0.9 for r in rows)
    time_ok = all(r[5] <= 120 for r in rows)
    print(f"\n>= 90% held-out accuracy in every run: {acc_ok}; "
          f"train() within 120 s (wall, under the load above) in every run: {time_ok}")


if __name__ == "__main__":
    main()
