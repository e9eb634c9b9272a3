"""Benchmark of the sampler on the paper's synthetic recipe (SPEC §6), on one core.

Goals: 50 segments × 1000 rows at l = 5 well under 1 s; 10^6 rows (50 × 20000) at l = 10 under 10 s.
`generate` times `identcheck.datasets.synthetic` (spec built, validated and sampled); `simulate` times
`identcheck.simulate` alone on the same SCM (best of --repeats); `first call` is the first `generate` of
the process, before sympy's caches are warm. The image row is for information (10 × 200 images, 64×64).

    python benchmarks/bench_simulate.py
    python benchmarks/bench_simulate.py --repeats 5 --seed 1

Writes a markdown table to stdout and to benchmarks/results/simulate.md.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core, set before numpy loads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import identcheck  # noqa: E402
from identcheck.cli.common import at_least  # noqa: E402
from identcheck.datasets import image, synthetic  # noqa: E402
from script_errors import run_script  # noqa: E402

#: (label, latents, segments, samples per segment, goal in seconds for `generate`)
CASES = (("paper default", 5, 50, 1000, 1.0), ("one million rows", 10, 50, 20000, 10.0))


def best_of(repeats: int, function) -> tuple[float, object]:
    """The shortest wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=at_least(1), default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simulate.md")
    args = parser.parse_args()
    rows = []
    for label, ell, segments, per_segment, goal in CASES:
        first_s, _ = best_of(1, lambda: synthetic(ell, segments, per_segment, args.seed))  # sympy caches cold
        generate_s, data = best_of(args.repeats, lambda: synthetic(ell, segments, per_segment, args.seed))
        simulate_s, _ = best_of(args.repeats, lambda: identcheck.simulate(data.scm, per_segment, args.seed))
        rows.append((label, ell, len(data.edges), segments, len(data.u), first_s, generate_s, simulate_s, goal))
    image_s, pictures = best_of(args.repeats, lambda: image(200, 10, 64, args.seed))
    lines = [f"# identcheck simulate benchmark ({platform.processor() or platform.machine()}, "
             f"Python {platform.python_version()}, one thread)", "",
             f"`identcheck.datasets.synthetic` (SuaVE defaults, seed {args.seed}), best of {args.repeats}.", "",
             "| case | latents | edges | segments | rows | first call s | generate s | simulate s | rows/s | goal s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, ell, edges, segments, count, first_s, generate_s, simulate_s, goal in rows:
        lines.append(f"| {label} | {ell} | {edges} | {segments} | {count} | {first_s:.3f} | {generate_s:.3f} | "
                     f"{simulate_s:.3f} | {count / simulate_s:,.0f} | {goal:g} |")
    lines.append(f"| images 64×64 | 3 | 2 | 10 | {len(pictures.u)} | - | {image_s:.3f} | - | - | - |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    run_script(main)
