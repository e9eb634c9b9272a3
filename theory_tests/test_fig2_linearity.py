"""The Fig. 2 linearity diagnostic (benchmarks/fig2_linearity.py): the within-segment R² of a mechanism's output
on its parents, and the rank test of misses against hits. No fits; seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from identcheck import from_dict, simulate

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def linearity(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fig2_linearity
    return fig2_linearity


def two_nodes(mechanism: str, segments: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 1.5, segments)
    lam[0] = 0.0  # the pinned reference: g is constant there and is left out
    spec = {"identcheck": 1, "name": "pair", "latents": ["z1", "z2"], "environments": {"segments": segments},
            "noise": {"family": "gaussian", "params": {z: {"mean": rng.uniform(-1, 1, segments).round(3).tolist(),
                                                          "std": rng.uniform(0.5, 2, segments).round(3).tolist()}
                                                      for z in ("z1", "z2")}},
            "mechanisms": {"z2": mechanism}, "parameters": {"lam": lam.round(3).tolist()},
            "mixing": {"kind": "mlp", "layers": 2}}
    return simulate(from_dict(spec), 2000, seed=seed)


def test_a_linear_mechanism_scores_one_and_a_saturating_one_less(linearity):
    """lam*z1 is linear in every segment (R² 1 up to rounding); lam*tanh(3*z1) saturates over z1's range
    (std 0.5-2), so a line explains clearly less of it (0.675 when written; asserted < 0.8)."""
    assert linearity.mechanism_linearity(two_nodes("lam*z1"), 1) == pytest.approx(1.0, abs=1e-12)
    assert linearity.mechanism_linearity(two_nodes("lam*tanh(3*z1)"), 1) < 0.8
    assert np.isnan(linearity.mechanism_linearity(two_nodes("lam*z1"), 0))  # a root has no mechanism


def test_a_seed_row_reads_the_stored_run_and_regenerates_its_data(linearity):
    settings = {"partial_latents": 3, "segments": 6, "samples_per_segment": 200}
    stored = {"nodes": {"z1": {"violating": False, "parents": [], "correlation": 0.95},
                        "z2": {"violating": True, "parents": ["z1"], "correlation": 0.5},
                        "z3": {"violating": False, "parents": ["z1"], "correlation": 0.85}}}
    row = linearity.seed_row(4, stored, settings)
    assert set(row["linearity"]) == {"z3"} and row["most_linear"] == row["linearity"]["z3"]
    assert 0 < row["most_linear"] <= 1
    assert row["hit"] is False and row["correlation"] == {"z1": 0.95, "z3": 0.85}  # z3 < 0.9; z2 is not judged


def test_the_rank_test_counts_misses_more_linear_than_hits(linearity):
    rows = [{"most_linear": v, "hit": h} for v, h in ((0.6, True), (0.8, True), (0.9, False), (0.95, False))]
    summary = linearity.rank_test(rows)
    assert summary["p_miss_more_linear"] == 1.0 and summary["misses"] == 2 and 0 < summary["p_value"] < 0.2
    flipped = [{**r, "hit": not r["hit"]} for r in rows]
    assert linearity.rank_test(flipped)["p_miss_more_linear"] == 0.0
    assert linearity.rank_test([r for r in rows if r["hit"]]) is None


def test_a_file_that_is_not_a_stored_run_exits_2_before_anything_is_written(linearity, tmp_path, monkeypatch):
    """Inputs are all checked before any output: a written linearity file passed back in, or a missing file,
    stops the script with exit status 2 and leaves the folder as it was."""
    good = tmp_path / "fig2_m.json"
    good.write_text('{"settings": {}, "runs": {}}')
    bad = tmp_path / "fig2_linearity_m.json"
    bad.write_text('{"rows": []}')
    for argv in ([str(good), str(bad)], [str(good), str(tmp_path / "missing.json")]):
        monkeypatch.setattr("sys.argv", ["fig2_linearity.py", *argv])
        with pytest.raises(SystemExit) as stop:
            linearity.main()
        assert stop.value.code == 2
        assert sorted(f.name for f in tmp_path.iterdir()) == ["fig2_linearity_m.json", "fig2_m.json"]
