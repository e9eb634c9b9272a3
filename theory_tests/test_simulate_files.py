"""Data sets on disk (CONTRACT §3): the .npz holds x, u, z, n, latents, the spec and the seed; saving is
reproducible byte for byte and atomic; the CLI `identcheck simulate` writes it."""

import subprocess
import sys
import zipfile

import numpy as np
import pytest
import yaml

from identcheck import DataError, Dataset, from_dict, from_text, load_example, simulate
from identcheck.files import write_atomically


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "identcheck", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_a_saved_dataset_loads_back_with_its_arrays_and_model(tmp_path):
    """save/load round-trips every array, the seed, and the SCM rebuilt from the stored spec."""
    data = simulate(load_example("C9"), 30, seed=7)
    data.save(tmp_path / "c9.npz")
    again = Dataset.load(tmp_path / "c9.npz")
    for key in ("x", "u", "z", "n", "env_values", "adjacency"):
        np.testing.assert_array_equal(getattr(again, key), getattr(data, key))
    assert (again.latents, again.seed, again.env_labels) == (data.latents, 7, data.env_labels)
    assert again.scm.edges == data.scm.edges and again.scm.spec == data.scm.spec
    for saved, original in zip(again.mixing_params, data.mixing_params, strict=True):
        np.testing.assert_array_equal(saved, original)


def test_the_weights_of_a_deep_mixing_load_back_in_layer_order(tmp_path):
    """The layers W_1..W_L are stored as mixing_0, mixing_1, ...: with 12 layers the archive's names sort as
    mixing_0, mixing_1, mixing_10, mixing_11, mixing_2, so the layers must be read back by number, or the
    loaded weights describe another mixing than the one that made x."""
    spec = {**load_example("C1").spec, "mixing": {"kind": "mlp", "layers": 12}}
    data = simulate(from_dict(spec), 5, seed=0)
    data.save(tmp_path / "deep.npz")
    again = Dataset.load(tmp_path / "deep.npz")
    assert len(again.mixing_params) == 12
    for saved, original in zip(again.mixing_params, data.mixing_params, strict=True):
        np.testing.assert_array_equal(saved, original)


def test_the_stored_spec_regenerates_the_same_data(tmp_path):
    """The file alone suffices: simulating its stored spec with its stored seed reproduces x."""
    data = simulate(load_example("C13b_vector"), 20, seed=3)
    data.save(tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz") as archive:
        scm, seed = from_text(str(archive["spec"])), int(archive["seed"])
        np.testing.assert_array_equal(simulate(scm, 20, seed).x, archive["x"])


def test_saving_twice_gives_identical_bytes_with_fixed_zip_dates(tmp_path):
    """No timestamps: the same data give the same file (entries dated 1980-01-01)."""
    data = simulate(load_example("C1"), 20, seed=0)
    data.save(tmp_path / "a.npz")
    data.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_failed_write_leaves_no_file_behind(tmp_path):
    """Atomic writes: an error half-way leaves neither the target nor a temporary file."""
    def half_then_fail(stream):
        stream.write(b"partial")
        raise DataError("disk full")

    with pytest.raises(DataError, match="disk full"):
        write_atomically(tmp_path / "out.npz", half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_is_a_data_error(tmp_path):
    """An unwritable path is a DataError naming it, not an OSError."""
    with pytest.raises(DataError, match="missing"):
        simulate(load_example("C1"), 5).save(tmp_path / "missing" / "d.npz")


def test_loading_something_that_is_not_a_dataset_is_a_data_error(tmp_path):
    """Missing file, non-npz bytes, an empty file (numpy's EOFError, once an internal error) and an npz
    without identcheck arrays are each a DataError."""
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "plain.npz", x=np.zeros(3))
    for name, message in (("absent.npz", "not found"), ("junk.npz", "not an .npz archive"),
                          ("empty.npz", "not an .npz archive"), ("plain.npz", "missing")):
        with pytest.raises(DataError, match=message):
            Dataset.load(tmp_path / name)


def _damaged(arrays: dict, case: str) -> dict:
    """The arrays of a saved data set with one of them replaced, named by ``case``."""
    u, x = arrays["u"], arrays["x"]
    return {**arrays, **{
        "labels not json": {"env_labels": np.array("not json")},
        "seed not a number": {"seed": np.array("x")},
        "x of one row": {"x": x[:1]},
        "x with nan": {"x": np.where(x > 0, np.nan, x)},
        "u beyond the environments": {"u": u + 7},
        "u one past the last environment": {"u": np.where(u == 4, 5, u)},
        "u of floats": {"u": u.astype(float)},
        "u a single number": {"u": np.array(3)},
        "z missing a latent": {"z": arrays["z"][:, :1]},
        "adjacency of three": {"adjacency": np.zeros((3, 3), bool)},
        "x complex": {"x": x.astype(complex)},
        "latents renamed": {"latents": np.array(["a", "b"])},
        "an environment short of the spec's": {"env_labels": np.array("[0, 1, 2, 3]"),
                                               "env_values": arrays["env_values"][:4], "u": np.minimum(u, 3)},
    }[case]}


@pytest.mark.parametrize("case, match", [
    ("labels not json", "JSONDecodeError"), ("seed not a number", "ValueError"),
    ("x of one row", r"x has shape \(1, 2\), expected 100 rows"), ("x with nan", "x must be finite"),
    ("u beyond the environments", r"u must lie in 0\.\.4"),
    ("u one past the last environment", r"u must lie in 0\.\.4"), ("u of floats", "u must be integer"),
    ("u a single number", r"u must be integer environment indices of shape \(N,\), got int\d+ \(\)"),
    ("z missing a latent", "one column per latent"), ("adjacency of three", r"expected \(2, 2\)"),
    ("x complex", "x must be finite real numbers"),
    ("latents renamed", r"latents \('a', 'b'\) are not the stored spec's \('z1', 'z2'\)"),
    ("an environment short of the spec's", "4 environments in env_labels, but the stored spec has 5")])
def test_a_damaged_dataset_file_is_a_data_error_naming_the_array(case, match, tmp_path):
    """An .npz whose arrays were changed after `save` (or written by hand) loads only if its arrays agree
    with each other; otherwise one DataError names the damage, never a json, int() or numpy error.
    Found in a review: a complex x (which the learners refuse), latents renamed away from the stored spec's,
    and fewer environments than the spec's all loaded, the data set then naming latents its SCM lacks."""
    simulate(load_example("C1"), 20, seed=0).save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    np.savez(tmp_path / "bad.npz", **_damaged(arrays, case))
    with pytest.raises(DataError, match=f"a damaged identcheck data set .*{match}"):
        Dataset.load(tmp_path / "bad.npz")


def test_cli_simulate_writes_the_contract_arrays(tmp_path):
    """`identcheck simulate SPEC --samples-per-env N --seed S --out F` writes x, u, z, n, latents (CONTRACT §3)."""
    spec = tmp_path / "c7.yaml"
    spec.write_text(yaml.safe_dump(load_example("C7").spec))
    result = run_cli("simulate", spec, "--samples-per-env", 40, "--seed", 2, "--out", "d.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with np.load(tmp_path / "d.npz") as archive:
        assert archive["x"].shape == (7 * 40, 3) and archive["z"].shape == archive["n"].shape == (280, 3)
        assert archive["u"].tolist() == np.repeat(np.arange(7), 40).tolist()
        assert archive["latents"].tolist() == ["z1", "z2", "z3"]
        np.testing.assert_array_equal(archive["x"], simulate(load_example("C7"), 40, seed=2).x)


def test_cli_simulate_with_the_same_seed_writes_the_same_bytes(tmp_path):
    """Same seed, same bytes (CONTRACT §3), across two processes; `--example NAME` stands in for SPEC."""
    for out in ("a.npz", "b.npz"):
        result = run_cli("simulate", "--example", "C3", "--samples-per-env", 25, "--seed", 9, "--out", out,
                         cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


@pytest.mark.parametrize("args", [
    ("--example", "C1", "--samples-per-env", 0, "--out", "d.npz"),
    ("bad.yaml", "--out", "d.npz"),
    ("--example", "C1", "--seed", -2, "--out", "d.npz"),
    # 2**80 sampled, then failed to store the seed in the file's int64: exit 3
    ("--example", "C1", "--seed", 2**80, "--out", "d.npz"),
])
def test_cli_simulate_rejects_bad_input_in_one_line_and_writes_nothing(tmp_path, args):
    """Bad input: exit 2, one line on stderr, nothing on stdout, no file written."""
    (tmp_path / "bad.yaml").write_text("identcheck: 1\nlatents: [z1]\n")
    result = run_cli("simulate", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert not (tmp_path / "d.npz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_cli_simulate_refuses_observation_noise_that_overflows_and_writes_nothing(tmp_path):
    """Found in a review (stop 44): observation_noise of scale 1e308 wrote a file of inf with exit 0 (and a
    raw RuntimeWarning for student_t); uniform at that scale was an internal error (exit 3). Pins exit 2 with
    one line naming the scale and no file for the overflow, and a written file for uniform (its draws are finite)."""
    spec = load_example("C1").spec
    for family, code in (("student_t", 2), ("uniform", 0)):
        (tmp_path / "s.yaml").write_text(yaml.safe_dump({**spec, "observation_noise": {"family": family,
                                                                                      "scale": 1.5e308}}))
        result = run_cli("simulate", "s.yaml", "--samples-per-env", 100, "--out", f"{family}.npz", cwd=tmp_path)
        assert result.returncode == code, result.stderr
        if code:
            assert len(result.stderr.strip().splitlines()) == 1 and "observation_noise.scale" in result.stderr
        assert (tmp_path / f"{family}.npz").exists() == (code == 0)


def test_a_text_file_is_not_an_npz_archive(tmp_path):
    """Found in a review (stop 44): Dataset.load of a text file said "This file contains pickled (object)
    data ... load it unsafely using allow_pickle=", misleading, and an invitation to unsafe loading. Pins a
    DataError saying the file is not an .npz archive, without the word pickle."""
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(DataError, match=r"notes.txt: not an .npz archive") as error:
        Dataset.load(tmp_path / "notes.txt")
    assert "pickle" not in str(error.value)


def test_a_spec_holding_numpy_numbers_saves_and_loads_back(tmp_path):
    """Found in a review (stop 44): from_dict accepts np.float64 in a spec and simulate works, but save
    failed "cannot be written as YAML". Pins that the saved spec holds plain numbers and rebuilds the model."""
    import copy

    from identcheck import from_dict

    spec = copy.deepcopy(load_example("C1").spec)
    spec["environments"]["values"] = [np.float64(v) for v in spec["environments"]["values"]]
    data = simulate(from_dict(spec), 5, seed=0)
    data.save(tmp_path / "d.npz")
    again = Dataset.load(tmp_path / "d.npz")
    assert again.scm.environments.labels == (0.0, 1.0, 2.0, 3.0, 4.0)
    np.testing.assert_array_equal(again.x, data.x)
