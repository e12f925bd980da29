"""Run prepared input tensors through LiteRT in one process: a standalone script.

It imports only the standard library, numpy and ``ai_edge_litert`` (never edgesdk), so the
same file runs on the host and inside the aarch64 root under qemu-user (tier ``arm64``).
Every model and kernel path of one request runs in this one process: a qemu start costs
seconds, a case milliseconds.

Usage: ``python3 litert_runner.py JOB_DIR``. ``JOB_DIR/job.json``::

    {"jobs": [{"name": "m0", "model": "m0.tflite", "inputs": "m0_in.npy",
               "resolver": "auto" | "builtin" | "builtin_ref", "threads": 1}]}

``inputs`` holds the prepared input tensors, ``N x <input shape without batch>``, in the
model's input dtype. For each job the raw outputs go to ``<name>_out.npy`` (the first output,
``N x <output shape without batch>``) and, for a model with more outputs, ``<name>_out<k>.npy``
for its output ``k`` (k >= 1), in the interpreter's output order (e.g. the four outputs of a
detector's post-processing op). ``JOB_DIR/result.json`` records, per job, each output's name,
dtype and shape, the seconds taken, and the machine; an error in one job is recorded there
and the others still run.

``resolver``: ``auto`` is LiteRT's default (XNNPACK delegate applied), ``builtin`` the
built-in kernels without default delegates (no XNNPACK), ``builtin_ref`` the reference kernels.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time


def _resolver(name: str) -> object:
    from ai_edge_litert.interpreter import OpResolverType

    return {
        "auto": OpResolverType.AUTO,
        "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        "builtin_ref": OpResolverType.BUILTIN_REF,
    }[name]


def run_job(job_dir: str, job: dict) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    start = time.perf_counter()
    with open(os.path.join(job_dir, job["model"]), "rb") as f:
        model = f.read()
    inputs = np.load(os.path.join(job_dir, job["inputs"]), allow_pickle=False)
    interp = Interpreter(
        model_content=model,
        num_threads=int(job.get("threads", 1)),
        experimental_op_resolver_type=_resolver(job.get("resolver", "auto")),
    )
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = interp.get_output_details()
    results: list[list] = [[] for _ in outs]
    for x in inputs:
        interp.set_tensor(inp["index"], x[None].astype(inp["dtype"]))
        interp.invoke()
        for k, out in enumerate(outs):
            results[k].append(np.array(interp.get_tensor(out["index"])[0]))
    for k, out in enumerate(outs):
        stacked = np.stack(results[k]) if results[k] else np.zeros((0,), out["dtype"])
        suffix = "_out.npy" if k == 0 else f"_out{k}.npy"
        np.save(os.path.join(job_dir, job["name"] + suffix), stacked, allow_pickle=False)
    return {
        "name": job["name"],
        "ok": True,
        "cases": len(inputs),
        "output_dtype": np.dtype(outs[0]["dtype"]).name,
        "outputs": [
            {"name": str(o["name"]), "dtype": np.dtype(o["dtype"]).name,
             "shape": [int(d) for d in o["shape"]]}
            for o in outs
        ],
        "seconds": time.perf_counter() - start,
    }


def main(argv: list[str]) -> int:
    job_dir = argv[1]
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as f:
        request = json.load(f)
    started = time.perf_counter()
    done = []
    for job in request["jobs"]:
        try:
            done.append(run_job(job_dir, job))
        except Exception as exc:  # recorded per job; the caller reports it
            done.append(
                {"name": job.get("name"), "ok": False, "error": f"{type(exc).__name__}: {exc}"}
            )
    result = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "seconds": time.perf_counter() - started,
        "jobs": done,
    }
    with open(os.path.join(job_dir, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
