"""Does every learner fit, transform and round-trip on a CUDA device, and how fast is it there?

    python benchmarks/cuda_check.py --out DIR

Needs a CUDA device (without one: one line on stderr, exit 2). Writes ``cuda_check.json`` and
``cuda_check.md`` into ``--out`` (default ``benchmarks/results/cuda``).

Part 1, correctness, on App. F's synthetic data at ℓ = 3 (10 segments × 200 rows, segment 0 the reference),
for the six learners by name and ``latent_mlp`` on the exact likelihood, each ``--epochs`` epochs:

- ``device="auto"`` resolves to the GPU, and every parameter of the fitted model lives there;
- transform, noise (and, for causal learners, causal_weights and graph) come back as finite float64 host
  arrays; λ is exactly 0 in the pinned reference segment;
- the same seed fitted twice on the GPU: the largest |Δ| of the posterior means (0: repeatable);
- the same seed on the CPU: its MPC beside the GPU's (the two draw their training noise from different
  generators, so they are two fits, not one);
- saved on the GPU and loaded with ``device="cpu"``: the largest |Δ| of the posterior means (float32
  kernels of two devices: about 1e-6, not 0);
- a fit leaves the caller's CPU and CUDA random states as they were.

Part 2, throughput at the benchmark's size (ℓ = 5, 50 × 1000 rows): samples per second over
``--timing-epochs`` epochs (after one warm-up epoch) of ``latent_mlp`` on the ELBO and on the exact
likelihood, on the CPU with one thread and with every core, and on the GPU at the default batch size (512)
and at 4096.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from identcheck import IdentcheckError
from identcheck.cli.common import at_least
from identcheck.datasets import synthetic
from identcheck.learn import LEARNERS, CausalLearner, LatentLearner, make_learner, mpc
from script_errors import run_script

OUT = Path(__file__).parent / "results" / "cuda"
CASES = [(name, {}) for name in sorted(LEARNERS)] + [("latent_mlp", {"likelihood": "exact"})]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=at_least(1), default=20, help="epochs of each part-1 fit (default 20)")
    p.add_argument("--timing-epochs", type=at_least(1), default=5, help="timed epochs of each part-2 run (default 5)")
    p.add_argument("--out", type=Path, default=OUT)
    return p.parse_args()


def label(name: str, params: dict[str, Any]) -> str:
    return name + "".join(f":{v}" for v in params.values())


def largest_gap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)))


def correctness(name: str, params: dict[str, Any], epochs: int) -> dict[str, Any]:
    """Part 1 for one learner: fit on the GPU twice and on the CPU once, and a GPU -> CPU round trip."""
    data = synthetic(3, 10, 200, seed=0)
    kwargs = dict(latent_dim=3, epochs=epochs, hidden=16, progress=False, seed=0,
                  reference_envs=list(data.reference_envs), **params)
    cpu_rng, cuda_rng = torch.get_rng_state(), torch.cuda.get_rng_state()
    gpu = make_learner(name, **kwargs).fit(data.x, data.u)
    row: dict[str, Any] = {
        "device": str(gpu.device_),
        "parameters_on_gpu": all(p.is_cuda for p in gpu.module_.parameters()),
        "random_states_kept": bool(torch.equal(cpu_rng, torch.get_rng_state())
                                   and torch.equal(cuda_rng, torch.cuda.get_rng_state()))}
    z_gpu, n_gpu = gpu.transform(data.x, data.u), gpu.noise(data.x, data.u)
    row["host_float64_finite"] = all(a.dtype == np.float64 and np.isfinite(a).all() for a in (z_gpu, n_gpu))
    if isinstance(gpu, CausalLearner):
        weights = gpu.causal_weights()
        row["pins_exactly_zero"] = bool((weights[list(data.reference_envs)] == 0).all())
        row["graph_shape"] = list(gpu.graph(0.1).shape)
    row["repeat_gap"] = largest_gap(z_gpu, make_learner(name, **kwargs).fit(data.x, data.u).transform(data.x, data.u))
    cpu = make_learner(name, **{**kwargs, "device": "cpu"}).fit(data.x, data.u)
    row["mpc_gpu"], row["mpc_cpu"] = mpc(data.z, z_gpu).value, mpc(data.z, cpu.transform(data.x, data.u)).value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gpu.pt"
        gpu.save(path)
        moved = LatentLearner.load(path, device="cpu")
        kept = LatentLearner.load(path)
    row["load_cpu_device"] = str(moved.device_)
    row["load_cpu_gap"] = largest_gap(z_gpu, moved.transform(data.x, data.u))
    row["load_kept_device"] = str(kept.device_)
    return row


def throughput(likelihood: str, where: str, threads: int, batch_size: int, epochs: int) -> dict[str, Any]:
    """Training samples per second of latent_mlp at ℓ = 5 (50 × 1000 rows), one warm-up epoch not counted."""
    data = synthetic(5, 50, 1000, seed=0)
    learner = make_learner("latent_mlp", latent_dim=5, likelihood=likelihood, epochs=epochs + 1,
                           batch_size=batch_size, device=where, threads=threads, early_stopping=False,
                           progress=False, seed=0, reference_envs=list(data.reference_envs))
    learner.fit(data.x, data.u)
    seconds = learner.history_["seconds"]
    n_train = round((1 - learner.validation_fraction) * len(data.x))
    return {"likelihood": likelihood, "device": where, "threads": threads, "batch_size": batch_size,
            "seconds_per_epoch": (seconds[-1] - seconds[0]) / epochs,
            "samples_per_second": n_train * epochs / (seconds[-1] - seconds[0])}


def markdown(report: dict[str, Any]) -> list[str]:
    lines = [f"# CUDA check ({report['gpu']}, torch {report['torch']}, {report['cpu_cores']} CPU cores)", "",
             "| learner | device | params on GPU | host float64 | pins 0 | RNG kept | repeat |Δ| | MPC GPU | "
             "MPC CPU | load cpu |Δ| | load kept |", "|---" * 11 + "|"]
    for case, row in report["correctness"].items():
        lines.append(f"| {case} | {row['device']} | {row['parameters_on_gpu']} | {row['host_float64_finite']} | "
                     f"{row.get('pins_exactly_zero', '–')} | {row['random_states_kept']} | {row['repeat_gap']:.2g} | "
                     f"{row['mpc_gpu']:.3f} | {row['mpc_cpu']:.3f} | {row['load_cpu_gap']:.2g} | "
                     f"{row['load_kept_device']} |")
    lines += ["", "| likelihood | device | threads | batch | s/epoch | samples/s |", "|---" * 6 + "|"]
    lines += [f"| {r['likelihood']} | {r['device']} | {r['threads']} | {r['batch_size']} | "
              f"{r['seconds_per_epoch']:.3f} | {r['samples_per_second']:.0f} |" for r in report["throughput"]]
    return lines


def main() -> None:
    args = parse_args()
    if not torch.cuda.is_available():
        raise IdentcheckError("no CUDA device on this machine: the check needs one")
    cores = os.cpu_count() or 1
    report: dict[str, Any] = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cpu_cores": cores,
                              "platform": platform.platform(), "correctness": {}, "throughput": []}
    for name, params in CASES:
        start = time.perf_counter()
        report["correctness"][label(name, params)] = row = correctness(name, params, args.epochs)
        print(label(name, params), f"{time.perf_counter() - start:.1f} s", row, flush=True)
    for likelihood in ("elbo", "exact"):
        for where, threads, batch in (("cpu", 1, 512), ("cpu", cores, 512), ("cuda", 1, 512), ("cuda", 1, 4096)):
            report["throughput"].append(run := throughput(likelihood, where, threads, batch, args.timing_epochs))
            print(run, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cuda_check.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "cuda_check.md").write_text("\n".join(markdown(report)) + "\n")
    print("\n".join(markdown(report)))


if __name__ == "__main__":
    run_script(main)
