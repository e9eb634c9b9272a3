"""The report is the CONTRACT §2 JSON: exact keys, plain JSON types, the same from Python and from the CLI,
and the same whichever route (YAML file, dict, networkx graph) built the spec."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import yaml

import identcheck
from identcheck.examples import example_path

CONTRACT_EDGE_KEYS = ["parent", "child", "status", "vanishes_at", "nonzero_at", "extrapolated", "method", "reason"]


def test_report_has_exactly_the_contract_top_level_keys():
    d = identcheck.check(identcheck.load_example("C7")).to_dict()
    assert list(d) == ["identcheck", "name", "latents", "edges", "assumptions", "nodes", "fully_identifiable"]
    assert list(d["assumptions"]) == ["i", "ii", "iii", "iv"]
    assert d["identcheck"] == 1 and d["name"] == "C7" and d["latents"] == ["z1", "z2", "z3"]
    assert d["edges"] == [["z1", "z3"], ["z2", "z3"]] and d["fully_identifiable"] is False


def test_iii_carries_its_rank_certificate_fields():
    iii = identcheck.check(identcheck.load_example("C7")).to_dict()["assumptions"]["iii"]
    assert {"status", "reason", "rank", "required", "environments", "condition_number"} <= set(iii)
    assert iii["rank"] == iii["required"] == 6


def test_every_edge_object_starts_with_the_contract_keys():
    iv = identcheck.check(identcheck.load_example("C9")).to_dict()["assumptions"]["iv"]
    assert iv["status"] == "fails"
    for edge in iv["edges"]:
        assert list(edge)[: len(CONTRACT_EDGE_KEYS)] == CONTRACT_EDGE_KEYS
        assert edge["status"] in ("holds", "fails", "undecided")
        assert edge["method"] in ("symbolic", "numeric", "undecided")


def test_node_objects_follow_the_contract_per_verdict():
    nodes = identcheck.check(identcheck.load_example("C7")).to_dict()["nodes"]
    assert nodes["z1"]["verdict"] == "identifiable" and nodes["z1"]["up_to"] == "scale_offset"
    assert nodes["z3"]["verdict"] == "unidentifiable" and nodes["z3"]["violating_parents"] == ["z2"]
    assert "up_to" not in nodes["z3"]


def test_vector_environment_labels_become_json_lists():
    d = identcheck.check(identcheck.load_example("C13b_vector")).to_dict()
    assert d["assumptions"]["iv"]["edges"][0]["vanishes_at"] == [[2, 0.5]]
    assert json.loads(json.dumps(d)) == d


def test_to_dict_survives_a_strict_json_round_trip_for_every_example():
    for name in identcheck.example_names():
        d = identcheck.check(identcheck.load_example(name)).to_dict()
        assert json.loads(json.dumps(d, allow_nan=False)) == d, name


def test_cli_json_equals_the_python_report():
    path = example_path("C9")
    out = subprocess.run([sys.executable, "-m", "identcheck", "check", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr == ""
    assert json.loads(out.stdout) == identcheck.check(identcheck.load_spec(path)).to_dict()


def test_dict_and_graph_routes_give_the_same_report_as_the_yaml_file():
    path = example_path("C9")
    data = yaml.safe_load(path.read_text())
    from_yaml = identcheck.check(identcheck.load_spec(path)).to_dict()
    assert identcheck.check(identcheck.from_dict(data)).to_dict() == from_yaml
    graph = nx.DiGraph()
    graph.add_nodes_from(data["latents"])
    graph.add_edges_from([("z1", "z2"), ("z1", "z3"), ("z2", "z3")])
    rest = {k: v for k, v in data.items() if k not in ("identcheck", "latents", "mechanisms", "description")}
    assert identcheck.check(identcheck.from_graph(graph, data["mechanisms"], **rest)).to_dict() == from_yaml


def test_reference_environments_are_the_node_wise_zeros_for_the_learner():
    """Report.reference_environments: 0-based positions where g_i(., u) is constant in all parents."""
    report = identcheck.check(identcheck.load_example("C13"))
    assert report.reference_environments == {"z1": (0, 1, 2, 3, 4), "z2": (1,)}


def test_text_report_has_a_header_and_one_block_per_node():
    text = str(identcheck.check(identcheck.load_example("C7")))
    assert text.splitlines()[0].startswith("identcheck: C7: 3 latents")
    assert "(iii) sufficient noise variability" in text
    for line in ("z1: identifiable up to scale and offset", "z3: NOT identifiable",
                 "alternative model: z3_hat = z3 - 0.8*z2", "violating parents: z2"):
        assert line in text


def test_markdown_report_has_assumption_edge_and_latent_tables():
    md = identcheck.check(identcheck.load_example("C7")).to_markdown()
    assert md.startswith("# identcheck report: C7")
    assert "| z2 -> z3 | fails |" in md and "| z3 | unidentifiable |" in md


def test_partition_splits_identifiable_from_the_rest():
    """Remark 2.8: the identifiable latents and the rest."""
    assert identcheck.check(identcheck.load_example("C8")).partition == (("z1", "z3"), ("z2",))
