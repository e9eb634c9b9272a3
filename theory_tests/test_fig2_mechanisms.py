"""The Fig. 2 mechanism diagnostic (benchmarks/fig2_mechanisms.py): within-segment mechanism share and
linearity of a child's mechanism, and the rank test of misses against hits. No fits; seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from identcheck import from_dict, simulate

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def mechanisms(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import fig2_mechanisms
    return fig2_mechanisms


def two_nodes(mechanism: str, segments: int = 6, seed: int = 0, std2: float | None = None):
    rng = np.random.default_rng(seed)
    lam = rng.uniform(0.5, 1.5, segments)
    lam[0] = 0.0  # the pinned reference: g is constant there and is left out
    std = {z: rng.uniform(0.5, 2, segments).round(3).tolist() for z in ("z1", "z2")}
    if std2 is not None:
        std["z2"] = [std2] * segments
    spec = {"identcheck": 1, "name": "pair", "latents": ["z1", "z2"], "environments": {"segments": segments},
            "noise": {"family": "gaussian", "params": {z: {"mean": rng.uniform(-1, 1, segments).round(3).tolist(),
                                                          "std": std[z]} for z in ("z1", "z2")}},
            "mechanisms": {"z2": mechanism}, "parameters": {"lam": lam.round(3).tolist()},
            "mixing": {"kind": "mlp", "layers": 2}}
    return simulate(from_dict(spec), 2000, seed=seed)


def test_a_linear_mechanism_scores_one_and_a_saturating_one_less(mechanisms):
    """lam*z1 is linear in every segment (R² 1 up to rounding); lam*tanh(3*z1) saturates over z1's range
    (std 0.5-2), so a line explains clearly less of it (0.675 when written; asserted < 0.8)."""
    assert mechanisms.mechanism_linearity(two_nodes("lam*z1"), 1) == pytest.approx(1.0, abs=1e-12)
    assert mechanisms.mechanism_linearity(two_nodes("lam*tanh(3*z1)"), 1) < 0.8
    assert np.isnan(mechanisms.mechanism_linearity(two_nodes("lam*z1"), 0))  # a root has no mechanism


def test_the_mechanism_share_is_the_parents_part_of_the_childs_variance(mechanisms):
    """z2 = lam*z1 + n2: within a segment Var(g) / Var(z2) = lam² s1² / (lam² s1² + s2²). With the noise std
    of z2 at 0.1 the child is nearly a function of its parent (share above 0.9); at 3 its noise dominates
    (below 0.3). 2000 rows per segment; the margins are far outside the sampling error."""
    tight, loose = two_nodes("lam*z1", std2=0.1), two_nodes("lam*z1", std2=3.0)
    assert mechanisms.mechanism_share(tight, 1) > 0.9 and mechanisms.mechanism_share(loose, 1) < 0.3


def test_a_seed_row_reads_the_stored_run_and_regenerates_its_data(mechanisms):
    settings = {"partial_latents": 3, "segments": 6, "samples_per_segment": 200}
    stored = {"nodes": {"z1": {"violating": False, "parents": [], "correlation": 0.95},
                        "z2": {"violating": True, "parents": ["z1"], "correlation": 0.5},
                        "z3": {"violating": False, "parents": ["z1"], "correlation": 0.85}}}
    row = mechanisms.seed_row(4, stored, settings)
    assert set(row["linearity"]) == set(row["mechanism_share"]) == {"z3"}
    assert row["largest_linearity"] == row["linearity"]["z3"] and 0 < row["largest_mechanism_share"] < 1
    assert row["hit"] is False and row["correlation"] == {"z1": 0.95, "z3": 0.85}  # z3 < 0.9; z2 is not judged


def test_the_rank_test_counts_misses_with_larger_values_than_hits(mechanisms):
    rows = [{"largest_linearity": v, "hit": h} for v, h in ((0.6, True), (0.8, True), (0.9, False), (0.95, False))]
    summary = mechanisms.rank_test(rows, "linearity")
    assert summary["p_miss_larger"] == 1.0 and summary["misses"] == 2 and 0 < summary["p_value"] < 0.2
    flipped = [{**r, "hit": not r["hit"]} for r in rows]
    assert mechanisms.rank_test(flipped, "linearity")["p_miss_larger"] == 0.0
    assert mechanisms.rank_test([r for r in rows if r["hit"]], "linearity") is None


def test_a_larger_gain_makes_the_partial_mechanisms_less_linear(mechanisms):
    """What `partial(..., gain=...)` is for: z3's within-segment linearity drops on every seed. 50 × 100,
    seeds 0-4: 0.58-0.93 at gain 1 and 0.52-0.80 at gain 2 when written (drops 0.06-0.17); asserted > 0.03."""
    from identcheck.datasets import partial
    for seed in range(5):
        one, two = (mechanisms.mechanism_linearity(partial(3, 50, 100, seed, gain=g), 2) for g in (1.0, 2.0))
        assert one - two > 0.03


def test_a_file_that_is_not_a_stored_run_exits_2_before_anything_is_written(mechanisms, tmp_path, monkeypatch):
    """Inputs are all checked before any output: a written diagnostic file passed back in, or a missing file,
    stops the script with exit status 2 and leaves the folder as it was."""
    good = tmp_path / "fig2_m.json"
    good.write_text('{"settings": {}, "runs": {}}')
    bad = tmp_path / "fig2_mechanisms_m.json"
    bad.write_text('{"rows": []}')
    for argv in ([str(good), str(bad)], [str(good), str(tmp_path / "missing.json")]):
        monkeypatch.setattr("sys.argv", ["fig2_mechanisms.py", *argv])
        with pytest.raises(SystemExit) as stop:
            mechanisms.main()
        assert stop.value.code == 2
        assert sorted(f.name for f in tmp_path.iterdir()) == ["fig2_m.json", "fig2_mechanisms_m.json"]
