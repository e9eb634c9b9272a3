"""The identifiability report (CONTRACT §2): per-edge (iv) results, per-node verdicts, and their renderings.

`Report.to_dict()` is the JSON of `identcheck check --format json`; `str(report)` is the text for people
(a header with the assumptions, then one block per node: verdict, reason, witnesses); `to_markdown()` the
same as markdown tables.

>>> node = NodeResult("z1", "identifiable", "root", up_to="scale_offset")
>>> node.to_dict()
{'verdict': 'identifiable', 'up_to': 'scale_offset', 'reason': 'root', 'extrapolated': False}
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Mapping

if TYPE_CHECKING:  # the ground floor does not import the checker
    from .check.results import AssumptionResult

__all__ = ["EdgeResult", "ConditionIVResult", "NodeResult", "Report", "Verdict", "jsonable"]

Verdict = Literal["identifiable", "unidentifiable", "contested", "undecided", "no_guarantee"]
EdgeStatus = Literal["holds", "fails", "undecided"]

_UP_TO_TEXT = {"scale_offset": "up to scale and offset",
               "invertible_componentwise": "up to an invertible component-wise map"}


def jsonable(value: Any) -> Any:
    """Plain JSON types: tuples -> lists, numpy scalars -> Python numbers, non-finite floats -> strings.

    >>> jsonable({"a": (1, 2.5, float("inf"))})
    {'a': [1, 2.5, 'inf']}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


#: Keys of `assumptions.iii` in the JSON report that are always present (null when they do not apply).
_III_KEYS = ("rank", "required", "environments", "condition_number")

#: Width of the text report; longer reasons wrap with a hanging indent.
TEXT_WIDTH = 110


def _wrap(text: str, indent: int) -> str:
    """Wrap one line of the text report, continuation lines indented by `indent` + 2 spaces."""
    return textwrap.fill(text, TEXT_WIDTH, subsequent_indent=" " * (indent + 2), break_on_hyphens=False,
                         break_long_words=False)


def _label(value: Any) -> str:
    """An environment label for text: numbers as written, vectors as (a, b)."""
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_label(v) for v in value) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class EdgeResult:
    """Assumption (iv) for one edge parent -> child (SPEC §2 (iv), §5 "Checking (iv)").

    vanishes_at: the observed environments (labels as written in the spec; segment indices for segments)
    where d = dg_child/dz_parent vanishes identically in the parents; nonzero_at: an observed environment
    where it does not (at `nonzero_point`); extrapolated: the edge holds only through a zero in the declared
    domain that no environment observes (`extrapolated_zeros`); method: how the decisive facts were
    established (symbolic: exact; numeric: some zero claim rests on probes only; undecided).
    """

    parent: str
    child: str
    status: EdgeStatus
    vanishes_at: tuple[Any, ...]
    nonzero_at: Any
    extrapolated: bool
    method: Literal["symbolic", "numeric", "undecided"]
    reason: str
    derivative: str = ""
    zero_set: str = ""
    extrapolated_zeros: tuple[float, ...] = ()
    nonzero_point: Mapping[str, float] | None = None
    no_influence: bool = False
    vanishing_environments: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT §2 keys first (parent .. reason), then the added evidence."""
        return jsonable({
            "parent": self.parent, "child": self.child, "status": self.status,
            "vanishes_at": self.vanishes_at, "nonzero_at": self.nonzero_at, "extrapolated": self.extrapolated,
            "method": self.method, "reason": self.reason, "derivative": self.derivative,
            "zero_set": self.zero_set, "extrapolated_zeros": self.extrapolated_zeros,
            "nonzero_point": dict(self.nonzero_point) if self.nonzero_point is not None else None,
            "no_influence": self.no_influence, "vanishing_environments": self.vanishing_environments,
        })

    def __str__(self) -> str:
        return f"{self.parent} -> {self.child}: {self.status} ({self.method}): {self.reason}"


@dataclass(frozen=True)
class ConditionIVResult:
    """Assumption (iv) over the whole graph: every edge, and the three readings of SPEC §2 —
    edge-wise (iv-E: every edge vanishes somewhere), node-wise (iv-N: every non-root node has one reference
    where all its parent edges vanish together), global (iv-G: one reference for every edge)."""

    status: Literal["holds", "fails", "unknown"]
    reason: str
    edges: tuple[EdgeResult, ...]
    readings: Mapping[str, str] = field(default_factory=dict)
    global_vanishes_at: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The `assumptions.iv` object of CONTRACT §2 (status, edges) plus reason and readings."""
        return jsonable({"status": self.status, "reason": self.reason,
                         "edges": [e.to_dict() for e in self.edges], "readings": dict(self.readings),
                         "global_vanishes_at": self.global_vanishes_at})

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"


@dataclass(frozen=True)
class NodeResult:
    """The verdict on one latent (SPEC §5 rule 6, Theorem 2.5 / Cor. 3.3) with its reason and witnesses.

    reference / reference_environments: the observed environments (labels / 0-based positions) where the
    node's mechanism is constant in all its parents (node-wise zeros, (iv-N)); a root lists every
    environment. A learner must pin them (SPEC §2, quantifier order). extrapolated_reference: unobserved
    node-wise zeros in the declared domain (values of u); extrapolated: the verdict rests on a zero that
    no environment observes (SPEC §2, "Must u' be observed?"). alternative: for an unidentifiable node, an
    explicit other model that matches the data (Theorem 2.5(b) canonical witness). conditional_verdict:
    when (i)-(iii) fail or are unknown, the verdict that (iv) alone would give.
    """

    latent: str
    verdict: Verdict
    reason: str
    up_to: str | None = None
    violating_parents: tuple[str, ...] = ()
    reference: tuple[Any, ...] = ()
    reference_environments: tuple[int, ...] = ()
    extrapolated_reference: tuple[float, ...] = ()
    extrapolated: bool = False
    alternative: str | None = None
    conditional_verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT §2 node object: verdict, up_to (identifiable nodes), reason, violating_parents
        (unidentifiable nodes), then the added witnesses where they apply."""
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.up_to is not None:
            out["up_to"] = self.up_to
        out["reason"] = self.reason
        out["extrapolated"] = self.extrapolated
        if self.verdict == "unidentifiable" or self.violating_parents:
            out["violating_parents"] = self.violating_parents
        if self.reference_environments:
            out["reference"] = self.reference
            out["reference_environments"] = self.reference_environments
        if self.extrapolated_reference:
            out["extrapolated_reference"] = self.extrapolated_reference
        if self.alternative is not None:
            out["alternative"] = self.alternative
        if self.conditional_verdict is not None:
            out["conditional_verdict"] = self.conditional_verdict
        return jsonable(out)

    @property
    def headline(self) -> str:
        """One line: the latent and its verdict in words."""
        words = {"identifiable": "identifiable", "unidentifiable": "NOT identifiable",
                 "contested": "contested", "undecided": "undecided", "no_guarantee": "no guarantee"}
        up_to = f" {_UP_TO_TEXT.get(self.up_to, self.up_to)}" if self.up_to else ""
        return f"{self.latent}: {words[self.verdict]}{up_to}"

    def __str__(self) -> str:
        lines = [self.headline, _wrap(f"  reason: {self.reason}", 2)]
        if self.violating_parents:
            lines.append(f"  violating parents: {', '.join(self.violating_parents)}")
        if self.reference_environments and self.verdict != "no_guarantee":
            lines.append(f"  reference environments: {', '.join(_label(r) for r in self.reference)}")
        if self.extrapolated_reference:
            lines.append("  extrapolated reference (unobserved): u = "
                         + ", ".join(_label(v) for v in self.extrapolated_reference))
        if self.alternative:
            lines.append(_wrap(f"  alternative model: {self.alternative}", 2))
        if self.conditional_verdict:
            lines.append(f"  if (i)-(iii) held: {self.conditional_verdict}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Report:
    """Everything `identcheck check` reports on one spec (CONTRACT §2).

    `nodes` maps each latent (spec order) to its NodeResult; `assumptions` maps "i", "ii", "iii" to
    AssumptionResult and "iv" to ConditionIVResult; `caveats` holds exact counterexamples to verdicts that
    the paper's theorems give (`identcheck.check.linear_gaussian`), each with ``to_dict`` and a readable
    ``str``; the verdicts themselves follow SPEC.

    >>> import identcheck
    >>> report = identcheck.check(identcheck.load_example("C2"))
    >>> report.nodes["z2"].verdict, report.fully_identifiable
    ('unidentifiable', False)
    >>> report.partition  # Remark 2.8: the identifiable latents, and the rest
    (('z1',), ('z2',))
    >>> report.to_dict()["nodes"]["z2"]["violating_parents"], report.to_markdown().splitlines()[0]
    (['z1'], '# identcheck report: C2')
    """

    name: str
    latents: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    assumptions: Mapping[str, "AssumptionResult | ConditionIVResult"]
    nodes: Mapping[str, NodeResult]
    environments: tuple[Any, ...] = ()
    caveats: tuple[Any, ...] = ()

    @property
    def fully_identifiable(self) -> bool:
        """True when every latent is identifiable."""
        return all(node.verdict == "identifiable" for node in self.nodes.values())

    @property
    def reference_environments(self) -> dict[str, tuple[int, ...]]:
        """For each latent, the observed environment indices (0-based) where its mechanism is constant in
        all its parents (node-wise zeros; every environment for a root): the environments a learner pins
        (SPEC §2 quantifier order, §6 "pin lambda(u_ref) = 0"). Empty for a node without an observed
        node-wise zero (edge-wise zeros only, extrapolated zeros only, or unidentifiable)."""
        return {name: node.reference_environments for name, node in self.nodes.items()}

    @property
    def partition(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Remark 2.8: the latents recoverable one by one (identifiable) and the rest."""
        good = tuple(n for n, r in self.nodes.items() if r.verdict == "identifiable")
        return good, tuple(n for n in self.latents if n not in good)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of CONTRACT §2, in plain JSON types."""
        assumptions = {key: dict(self.assumptions[key].to_dict()) for key in ("i", "ii", "iii", "iv")}
        for key in _III_KEYS:  # CONTRACT §2 keys are always present; null where (iii) has no such value
            assumptions["iii"].setdefault(key, None)
        assumptions["iv"].setdefault("edges", [])
        return jsonable({
            "identcheck": 1,
            "name": self.name,
            "latents": self.latents,
            "edges": self.edges,
            "assumptions": assumptions,
            "nodes": {name: self.nodes[name].to_dict() for name in self.latents},
            "fully_identifiable": self.fully_identifiable,
            # CONTRACT §2 is extended, not changed: the key appears only when there is a caveat (tests pin this)
            **({"caveats": [c.to_dict() for c in self.caveats]} if self.caveats else {}),
        })

    def _assumption_lines(self) -> list[str]:
        titles = {"i": "(i)   noise deconvolvability", "ii": "(ii)  injective mixing",
                  "iii": "(iii) sufficient noise variability", "iv": "(iv)  sufficient change of influences"}
        return [_wrap(f"  {titles[k]:<40} {self.assumptions[k].status:<8} {self.assumptions[k].reason}", 50)
                for k in ("i", "ii", "iii", "iv")]

    def __str__(self) -> str:
        good, rest = self.partition
        edges = ", ".join(f"{p}->{c}" for p, c in self.edges) or "none"
        lines = [f"identcheck: {self.name}: {len(self.latents)} latents, {len(self.environments)} environments, "
                 f"edges {edges}",
                 "assumptions:", *self._assumption_lines()]
        iv = self.assumptions["iv"]
        for edge in getattr(iv, "edges", ()):
            lines.append(_wrap(f"    {edge}", 4))
        lines.append("")
        for name in self.latents:
            lines.append(str(self.nodes[name]))
        lines.append("")
        lines.append(f"summary: {len(good)} of {len(self.latents)} latents identifiable"
                     + (f" ({', '.join(good)})" if good else "")
                     + (f"; the rest: {', '.join(rest)}" if rest else "") + " (Remark 2.8 partition)")
        lines += [_wrap(f"caveat: {caveat}", 8) for caveat in self.caveats]
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as markdown: assumptions, edges and nodes as tables."""
        def cell(text: Any) -> str:
            return str(text).replace("|", "\\|").replace("*", "\\*").replace("\n", " ")

        lines = [f"# identcheck report: {cell(self.name)}", "",
                 f"Latents: {', '.join(self.latents)}; fully identifiable: **{self.fully_identifiable}**", "",
                 "## Assumptions", "", "| assumption | status | reason |", "|---|---|---|"]
        for key in ("i", "ii", "iii", "iv"):
            a = self.assumptions[key]
            lines.append(f"| ({key}) | {a.status} | {cell(a.reason)} |")
        edges = getattr(self.assumptions["iv"], "edges", ())
        if edges:
            lines += ["", "## Edges, assumption (iv)", "",
                      "| edge | status | vanishes at | non-zero at | extrapolated | method | reason |",
                      "|---|---|---|---|---|---|---|"]
            for e in edges:
                vanish = ", ".join(_label(v) for v in e.vanishes_at) or "-"
                lines.append(f"| {e.parent} -> {e.child} | {e.status} | {cell(vanish)} | "
                             f"{cell(_label(e.nonzero_at)) if e.nonzero_at is not None else '-'} | "
                             f"{e.extrapolated} | {e.method} | {cell(e.reason)} |")
        lines += ["", "## Latents", "", "| latent | verdict | up to | reason | witness |", "|---|---|---|---|---|"]
        for name in self.latents:
            n = self.nodes[name]
            witness = n.alternative or (", ".join(n.violating_parents) if n.violating_parents else "")
            lines.append(f"| {name} | {n.verdict} | {n.up_to or '-'} | {cell(n.reason)} | {cell(witness) or '-'} |")
        good, rest = self.partition
        lines += ["", f"Remark 2.8 partition: identifiable {', '.join(good) or '-'}; "
                      f"the rest {', '.join(rest) or '-'}."]
        if self.caveats:
            lines += ["", "## Caveats", "", *(f"- {cell(caveat)}" for caveat in self.caveats)]
        return "\n".join(lines) + "\n"
