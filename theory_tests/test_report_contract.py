"""The report is the CONTRACT §2 JSON: exact keys, plain JSON types, the same from Python and from the CLI,
and the same whichever route (YAML file, dict, networkx graph) built the spec."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import networkx as nx
import yaml

import identcheck
from identcheck.examples import example_path
from identcheck.report import TEXT_WIDTH

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
    assert "summary: 2 of 3 latents identifiable (z1, z2); the rest: z3 (Remark 2.8 partition)" in text


def test_markdown_report_has_assumption_edge_and_latent_tables():
    md = identcheck.check(identcheck.load_example("C7")).to_markdown()
    assert md.startswith("# identcheck report: C7")
    assert "fully identifiable: **False**" in md
    assert "| z2 -> z3 | fails |" in md and "| z3 | unidentifiable |" in md
    assert "| z3 | unidentifiable | - |" in md and "| z3_hat = z3 - 0.8\\*z2, with" in md  # the witness column


def test_partition_splits_identifiable_from_the_rest():
    """Remark 2.8: the identifiable latents and the rest."""
    assert identcheck.check(identcheck.load_example("C8")).partition == (("z1", "z3"), ("z2",))


def test_node_objects_carry_their_references_and_witnesses():
    """The node objects' added fields: C13's z2 pins u = 0.3 (label and 0-based position; its edge vanishes
    there and is non-zero at u = 0); C13_extrapolated's z2 rests on the unobserved zero u = 0.6 (extrapolated,
    no observed reference), and so does its edge; C7's unidentifiable z3 names its alternative model. The
    (iv) object carries its readings and the global zeros."""
    c13 = identcheck.check(identcheck.load_example("C13")).to_dict()
    assert c13["nodes"]["z2"]["reference"] == [0.3] and c13["nodes"]["z2"]["reference_environments"] == [1]
    assert c13["nodes"]["z2"]["extrapolated"] is False
    (c13_edge,) = c13["assumptions"]["iv"]["edges"]
    assert (c13_edge["vanishes_at"], c13_edge["nonzero_at"], c13_edge["extrapolated"]) == ([0.3], 0, False)
    assert c13["assumptions"]["iv"]["readings"] == {"edge": "holds", "node": "holds", "global": "holds"}
    assert c13["assumptions"]["iv"]["global_vanishes_at"] == [0.3]
    extrapolated = identcheck.check(identcheck.load_example("C13_extrapolated")).to_dict()
    z2 = extrapolated["nodes"]["z2"]
    assert z2["extrapolated"] is True and z2["extrapolated_reference"] == [0.6] and "reference" not in z2
    (edge,) = extrapolated["assumptions"]["iv"]["edges"]
    assert (edge["extrapolated"], edge["vanishes_at"], edge["extrapolated_zeros"]) == (True, [], [0.6])
    c7 = identcheck.check(identcheck.load_example("C7")).to_dict()["nodes"]["z3"]
    assert c7["alternative"].startswith("z3_hat = z3 - 0.8*z2")


def test_a_node_without_guarantee_keeps_its_conditional_verdict_and_violating_parents():
    """C2 observed at four environments: (iii) fails, so both latents have no guarantee, and each node says
    what (iv) alone would give: z2 unidentifiable for its parent z1 (which the JSON keeps, though the verdict
    is no_guarantee), z1 identifiable. The text says so too, and lists no reference environments for a
    learner to pin, since nothing is guaranteed."""
    spec = identcheck.load_example("C2").spec
    report = identcheck.check(identcheck.from_dict(spec | {"name": "C2-few", "environments": {"values": [0, 1, 2, 3]}}))
    nodes = report.to_dict()["nodes"]
    assert nodes["z2"]["verdict"] == "no_guarantee" and nodes["z2"]["conditional_verdict"] == "unidentifiable"
    assert nodes["z2"]["violating_parents"] == ["z1"] and nodes["z1"]["conditional_verdict"] == "identifiable"
    text = str(report)
    assert "  violating parents: z1" in text and "  if (i)-(iii) held: unidentifiable" in text
    assert "reference environments:" not in text


def test_edge_objects_say_how_each_edge_was_decided():
    """`method` and `no_influence` of an edge object: (u + 2)*tanh(u*z1 + z1) has no zero in the domain
    [0, 6] by the numeric scan only (method numeric, though every other edge of the catalogue is symbolic),
    and a declared parent whose influence cancels exactly (tanh(z1) minus its exponential form) is flagged."""
    c1 = identcheck.load_example("C1").spec
    scanned = identcheck.from_dict(c1 | {"name": "scanned", "mechanisms": {"z2": "tanh((u + 1)*z1)*(u + 2)"},
                                         "environments": {"values": [0, 1, 2, 3, 4], "domain": [0, 6]}})
    (edge,) = identcheck.check(scanned).to_dict()["assumptions"]["iv"]["edges"]
    assert (edge["status"], edge["method"], edge["no_influence"]) == ("fails", "numeric", False)
    cancelled = identcheck.from_dict(c1 | {"name": "cancelled",
                                           "mechanisms": {"z2": "tanh(z1) - (exp(2*z1) - 1)/(exp(2*z1) + 1)"}})
    (edge,) = identcheck.check(cancelled).to_dict()["assumptions"]["iv"]["edges"]
    assert (edge["status"], edge["no_influence"]) == ("fails", True)


def test_markdown_cells_line_up_with_their_headers_and_escape_table_syntax():
    """C13_extrapolated's edge row under the header of the edges table: status holds, nothing observed, non-zero
    at u = 0, extrapolated True, method symbolic, in that order; a name with a pipe and asterisks stays one
    cell of plain text (escaped), so the tables keep their columns."""
    spec = identcheck.load_example("C13_extrapolated").spec
    md = identcheck.check(identcheck.from_dict(spec | {"name": "C13 | *draft*"})).to_markdown()
    lines = md.splitlines()
    assert lines[0] == "# identcheck report: C13 \\| \\*draft\\*"
    header = lines.index("| edge | status | vanishes at | non-zero at | extrapolated | method | reason |")
    assert lines[header + 2].startswith("| z1 -> z2 | holds | - | 0 | True | symbolic | ")


def test_text_report_lists_every_edge_under_iv_wrapped_to_the_text_width() -> None:
    """Each edge of (iv) is one block under the (iv) line, before the nodes: parent -> child, status, method,
    reason; a long reason wraps to TEXT_WIDTH with its continuation indented under the edge."""
    report = identcheck.check(identcheck.load_example("C7"))
    lines = str(report).splitlines()
    iv, first_node = next(k for k, line in enumerate(lines) if line.startswith("  (iv)")), lines.index("")
    starts = [k for k, line in enumerate(lines) if line.startswith("    z") and " -> " in line]
    assert [lines[k].split(":")[0] for k in starts] == ["    z1 -> z3", "    z2 -> z3"]
    assert iv < starts[0] < starts[1] < first_node
    assert lines[starts[0]].startswith("    z1 -> z3: holds (symbolic): dg_z3/dz1 = u vanishes identically")
    assert lines[starts[1]].startswith("    z2 -> z3: fails (symbolic): dg_z3/dz2 = 0.8 does not vanish")
    assert lines[starts[0] + 1].startswith("      ") and not lines[starts[0] + 1].startswith("       ")
    assert max(len(line) for line in lines) <= TEXT_WIDTH


def test_text_report_header_counts_latents_and_environments() -> None:
    """The first line: the name, the numbers of latents and of observed environments, the edges."""
    assert str(identcheck.check(identcheck.load_example("C7"))).splitlines()[0] == \
        "identcheck: C7: 3 latents, 7 environments, edges z1->z3, z2->z3"


def test_text_report_names_an_extrapolated_reference() -> None:
    """C13_extrapolated: z2's only reference is the unobserved zero u = 0.6 of the domain, said as such."""
    text = str(identcheck.check(identcheck.load_example("C13_extrapolated")))
    assert "\n  extrapolated reference (unobserved): u = 0.6\n" in text


def test_markdown_report_ends_with_the_remark_2_8_partition() -> None:
    """Remark 2.8: the last line of the markdown names the identifiable latents, then the rest."""
    md = identcheck.check(identcheck.load_example("C7")).to_markdown()
    assert md.endswith("\nRemark 2.8 partition: identifiable z1, z2; the rest z3.\n")


def test_markdown_cells_keep_a_line_break_of_the_text_on_one_line() -> None:
    """A line break in a name or a reason would end a table row or the title: it becomes a space. (A spec's
    name cannot hold one since stop 47, so the report is renamed here, as a caller of the Python API may.)"""
    report = identcheck.check(identcheck.load_example("C1"))
    md = dataclasses.replace(report, name="C1\nsecond line").to_markdown()
    assert md.splitlines()[0] == "# identcheck report: C1 second line"


def test_edge_objects_carry_the_nonzero_point_of_their_witness() -> None:
    """Each edge object's nonzero_point is the parents' point where the derivative is non-zero at nonzero_at
    (SPEC §5 step 5, "a non-zero witness (u'', p)"), as the Python result holds it."""
    report = identcheck.check(identcheck.load_example("C7"))
    edges = report.to_dict()["assumptions"]["iv"]["edges"]
    for edge, result in zip(edges, report.assumptions["iv"].edges):
        assert edge["nonzero_point"] == dict(result.nonzero_point)
        assert set(edge["nonzero_point"]) == {"z1", "z2"}  # a point of z3's parents


def test_iii_keys_stay_in_the_json_when_iii_cannot_be_computed() -> None:
    """CONTRACT §2 keys of (iii) are always there: null where (iii) has no such value (natural parameters
    beyond the float range leave rank, environments and condition number unknown; 2*l = 4 is still required)."""
    spec = identcheck.load_example("C1").spec
    noise = {**spec["noise"], "params": {**spec["noise"]["params"], "z2": {"mean": "1e308*sin(u)", "std": "1/2"}}}
    iii = identcheck.check(identcheck.from_dict(spec | {"noise": noise})).to_dict()["assumptions"]["iii"]
    assert iii["status"] == "unknown"
    assert iii["required"] == 4  # 2*l, known without the numbers
    assert {key: iii[key] for key in ("rank", "environments", "condition_number")} == dict.fromkeys(
        ("rank", "environments", "condition_number"))


def test_nodes_follow_the_spec_order_of_the_latents() -> None:
    """CONTRACT §1: the latents' order is the user's; the node objects keep it (here not a causal order)."""
    spec = identcheck.load_example("C7").spec
    report = identcheck.check(identcheck.from_dict(spec | {"latents": ["z3", "z2", "z1"]})).to_dict()
    assert list(report["nodes"]) == report["latents"] == ["z3", "z2", "z1"]
