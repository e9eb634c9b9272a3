"""Load and validate a spec (CONTRACT §1) into an `SCM`: from a YAML file, YAML text, a dict, or a networkx graph.

Every problem is a `SpecError` naming the source, the key and the problem; nothing is half-built.

>>> scm = from_dict({
...     "identcheck": 1, "latents": ["z1", "z2"],
...     "environments": {"values": [0, 1, 2, 3, 4]},
...     "noise": {"family": "gaussian", "params": {
...         "z1": {"mean": "sin(u)", "std": "exp(0.3*cos(u))"},
...         "z2": {"mean": "cos(u)", "std": "exp(0.5*sin(u))"}}},
...     "mechanisms": {"z2": "u*z1"}})
>>> scm.edges
(('z1', 'z2'),)
"""

from __future__ import annotations

import keyword
import math
import os
import unicodedata
import warnings
from pathlib import Path
from typing import Any, Mapping

import networkx as nx
import numpy as np
import sympy as sp
import yaml

from ..errors import IdentcheckWarning, SpecError
from ..families import LATENT_FAMILIES, OBSERVATION_FAMILIES, LatentFamily
from ..psi import first_undefined
from ..scm import PNL_SYMBOL, SCM, Environments, Mixing, ObservationNoise
from ..sizes import MAX_MIXING_LAYERS, MAX_SEGMENTS
from .expressions import numeric_function, parse_expression
from .invertible import why_not_invertible

__all__ = ["load_spec", "from_text", "from_dict", "from_graph", "safe_load_unique"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml's SafeLoader, except that a key repeated in one mapping is an error (not "the last one wins")."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})",
                        key_node.start_mark)
                seen[key] = key_node.start_mark
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                pass
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping)


def safe_load_unique(text: str) -> Any:
    """`yaml.safe_load`, but a key repeated in one mapping raises a yaml.YAMLError naming the key (specs and
    sweep files both read YAML through here).

    >>> safe_load_unique("a: 1\\nb: 2")
    {'a': 1, 'b': 2}
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass

_TOP_KEYS = {"identcheck", "name", "description", "latents", "environments", "parameters", "noise",
             "mechanisms", "post_nonlinear", "mixing", "observation_noise"}
_REQUIRED = ("identcheck", "latents", "environments", "noise")


def load_spec(path: str | Path) -> SCM:
    """Read a YAML spec file and return its validated SCM (the name defaults to the file's stem).

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "chain.yaml"
    ...     _ = path.write_text("identcheck: 1\\nlatents: [z1, z2]\\nenvironments: {values: [0, 1, 2, 3, 4]}\\n"
    ...                         "noise: {family: gaussian, params: {z1: {mean: sin(u), std: exp(0.3*cos(u))},"
    ...                         " z2: {mean: cos(u), std: exp(0.5*sin(u))}}}\\nmechanisms: {z2: u*z1}\\n")
    ...     scm = load_spec(path)
    >>> scm.name, scm.edges
    ('chain', (('z1', 'z2'),))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise SpecError(f"expected a path to a spec file, got {type(path).__name__}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")  # YAML is UTF-8, whatever the locale
    except FileNotFoundError:
        raise SpecError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, no permission, a name too long, an I/O error
        raise SpecError(f"cannot read the file ({type(exc).__name__})", source=str(path)) from None
    return from_text(text, source=str(path), default_name=path.stem)


def from_text(text: str, *, source: str = "<text>", default_name: str = "spec") -> SCM:
    """Parse YAML text and validate it.

    >>> scm = from_text('''
    ... identcheck: 1
    ... latents: [z1, z2]
    ... environments: {values: [0, 1, 2, 3, 4]}
    ... noise:
    ...   family: gaussian
    ...   params:
    ...     z1: {mean: sin(u), std: exp(0.3*cos(u))}
    ...     z2: {mean: cos(u), std: exp(0.5*sin(u))}
    ... mechanisms: {z2: u*z1}
    ... ''', default_name="chain")
    >>> scm.name, scm.latents, scm.edges
    ('chain', ('z1', 'z2'), (('z1', 'z2'),))
    """
    if not isinstance(text, (str, bytes)):  # None reached yaml's reader (AttributeError); a path belongs to load_spec
        raise SpecError(f"expected the text of a spec, got {type(text).__name__}", source=source)
    try:
        data = safe_load_unique(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(f"YAML syntax error{where}: {problem}", source=source) from None
    return from_dict(data, source=source, default_name=default_name)


def from_graph(graph: nx.DiGraph, mechanisms: Mapping[str, str], **spec: Any) -> SCM:
    """Build an SCM from a networkx DAG plus mechanism expressions; the remaining spec keys are passed as
    keyword arguments (`environments`, `noise`, ...). Each expression must depend on exactly the graph's parents.

    >>> import networkx as nx
    >>> g = nx.DiGraph([("z1", "z2")])
    >>> scm = from_graph(g, {"z2": "u*z1"}, environments={"values": [0, 1, 2, 3, 4]},
    ...     noise={"family": "gaussian", "params": {
    ...         "z1": {"mean": "sin(u)", "std": "exp(0.3*cos(u))"},
    ...         "z2": {"mean": "cos(u)", "std": "exp(0.5*sin(u))"}}})
    >>> scm.parents("z2")
    ('z1',)
    """
    if not isinstance(graph, nx.DiGraph):
        raise SpecError(f"expected a networkx DiGraph, got {type(graph).__name__}", source="<graph>")
    if not isinstance(mechanisms, Mapping):
        raise SpecError(f"expected a mapping of latent -> expression, got {type(mechanisms).__name__}",
                        source="<graph>", key="mechanisms")
    try:  # a cycle is the graph's fault, whatever the mechanisms say
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        pass
    else:
        path = " -> ".join(str(node) for node in [cycle[0][0], *(edge[1] for edge in cycle)])
        raise SpecError(f"the graph has a cycle: {path}", source="<graph>")
    data = {"identcheck": 1, "latents": [str(n) for n in graph.nodes], "mechanisms": dict(mechanisms), **spec}
    scm = from_dict(data, source="<graph>")
    for node in scm.latents:
        declared, found = set(map(str, graph.predecessors(node))), set(scm.parents(node))
        if declared != found:
            raise SpecError(f"the graph gives parents {sorted(declared)} but the expression depends on "
                            f"{sorted(found)}", source="<graph>", key=f"mechanisms.{node}")
    return scm


def from_dict(data: Any, *, source: str = "<dict>", default_name: str = "spec") -> SCM:
    """Validate a spec dict (CONTRACT §1) and build its SCM.

    >>> from identcheck.examples import example_path
    >>> data = safe_load_unique(example_path("C7").read_text())
    >>> scm = from_dict({**data, "name": "collider"})
    >>> scm.name, scm.parents("z3")
    ('collider', ('z1', 'z2'))
    """
    return _Builder(source).build(data, default_name)


def _yaml_number_hint(value: Any) -> str:
    """A hint for a number that arrived as text. PyYAML follows YAML 1.1, whose floats need a dot and a sign
    in the exponent: unquoted 1e-3 and 1.0e3 are text there, and the hint spells them as YAML reads numbers.
    Text that YAML would read as a number unquoted ("0.5") was quoted in the file, or given as a string.

    >>> print(_yaml_number_hint("1e-3"))
     (YAML 1.1 reads 1e-3 as text: write 1.0e-3, with a dot and a signed exponent)
    >>> print(_yaml_number_hint("1.0e3"))
     (YAML 1.1 reads 1.0e3 as text: write 1.0e+3, with a dot and a signed exponent)
    >>> print(_yaml_number_hint("0.5"))
     (text, not a number: write it without quotes)
    >>> _yaml_number_hint("abc"), _yaml_number_hint("inf")
    ('', '')
    """
    if not isinstance(value, str):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    if _yaml_reads_a_number(value):
        return " (text, not a number: write it without quotes)"
    mantissa, e, exponent = value.strip().lower().partition("e")
    written = (f"{mantissa if '.' in mantissa else mantissa + '.0'}e"
               f"{exponent if exponent[:1] in ('+', '-') else '+' + exponent}")
    if e and _yaml_reads_a_number(written):
        return f" (YAML 1.1 reads {value} as text: write {written}, with a dot and a signed exponent)"
    return " (text that YAML 1.1 does not read as a number)"


def _yaml_reads_a_number(text: str) -> bool:
    """Whether YAML reads `text`, written unquoted, as a number."""
    try:
        return isinstance(yaml.safe_load(text), (int, float))
    except yaml.YAMLError:
        return False


class _Builder:
    """Validates one spec; every error names `source` and the dotted key."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str | None, problem: str) -> SpecError:
        return SpecError(problem, source=self.source, key=key)

    def mapping(self, value: Any, key: str, allowed: set[str], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, Mapping):
            raise self.fail(key or None, f"expected a mapping, got {type(value).__name__}")
        for k in value:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else str(k),
                                f"unknown key (allowed: {', '.join(sorted(allowed))})")
        for k in required:
            if k not in value:
                raise self.fail(f"{key}.{k}" if key else k, "missing required key")
        return dict(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a finite number, got {value!r}{_yaml_number_hint(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the floating-point range
            raise self.fail(key, "expected a finite number, got an integer beyond the floating-point range "
                                 f"({len(str(abs(value)))} digits)") from None
        if not math.isfinite(number):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return number

    def identifier(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.isidentifier() or value == "t":
            raise self.fail(key, f"{value!r} is not a valid name (an identifier other than 't')")
        plain = unicodedata.normalize("NFKC", value)
        if plain != value:  # Python reads ℓ in an expression as l: the name would name another symbol
            if unicodedata.normalize("NFC", value) == plain:  # looks the same ('ze' + U+0301 and 'zé'): spell it
                value, plain = ascii(value), ascii(plain)
            else:
                value, plain = repr(value), repr(plain)
            raise self.fail(key, f"{value} is read as {plain} in expressions (Unicode NFKC, as Python reads "
                                 f"names): write {plain} or another name")
        if keyword.iskeyword(value):
            raise self.fail(key, f"{value!r} is a Python keyword and cannot name a symbol in expressions")
        return value

    # -- the whole spec --------------------------------------------------------------------------------
    def build(self, data: Any, default_name: str) -> SCM:
        if data is None:
            raise self.fail(None, "the spec is empty")
        data = self.mapping(data, "", _TOP_KEYS, _REQUIRED)
        if data["identcheck"] != 1 or isinstance(data["identcheck"], bool):
            raise self.fail("identcheck", f"unsupported format version {data['identcheck']!r} (expected 1)")
        name = default_name if data.get("name") is None else data["name"]  # `name:` left empty is no name
        if not isinstance(name, str) or not name:
            raise self.fail("name", "expected a non-empty string")
        if not name.isprintable():  # a line break or control character splits the reports' one-line header
            raise self.fail("name", f"expected one line of printable text, got {name!r}")
        latents = self.latents(data["latents"])
        env = self.environments(data["environments"], latents)
        parameters = self.parameters(data.get("parameters") or {}, latents, env)
        params_allowed = {s.name: s for s in env.symbols} | {k: sp.Symbol(k, real=True) for k in parameters}
        family, noise_params = self.noise(data["noise"], latents, env, parameters, params_allowed)
        mechanisms = self.mechanisms(data.get("mechanisms") or {}, latents, params_allowed)
        pnl = self.post_nonlinear(data.get("post_nonlinear") or {}, latents)
        mixing = self.mixing(data.get("mixing") or {"kind": "mlp"}, latents)
        obs = self.observation_noise(data.get("observation_noise") or {"family": "gaussian", "scale": 0.01})
        spec = {**data, "name": name}
        scm = SCM(name=name, latents=latents, environments=env, parameters=parameters,
                  noise_family=family, noise_params=noise_params, mechanisms=mechanisms,
                  post_nonlinear=pnl, mixing=mixing, observation_noise=obs, spec=spec, source=self.source)
        self.defined_where_latents_live(scm)
        return scm

    def defined_where_latents_live(self, scm: SCM) -> None:
        """Every mechanism is finite and real in every observed environment where the latents live
        (`first_undefined`): sqrt(u - 10)*z1 at u = 0, or 1/(u - 1)*z1 at u = 1, defines no model there (the
        sampler would fail on it, the checker would read NaN as "undecided")."""
        found = first_undefined(scm)
        if found is not None:
            latent, m, parents = found
            at = ", ".join(f"{p} = {v:.6g}" for p, v in parents.items())
            where = f"environment {scm.environments.labels[m]!r}" + (f" at {at}" if at else "")
            mapped = " (through its post-nonlinear map)" if latent in scm.post_nonlinear else ""
            raise self.fail(f"mechanisms.{latent}", f"not finite and real{mapped} in {where}; the model must be "
                                                    "defined wherever the latents live")

    def latents(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail("latents", "expected a non-empty list of names")
        names = tuple(self.identifier(v, f"latents[{k}]") for k, v in enumerate(value))
        seen: set[str] = set()
        for k, n in enumerate(names):
            if n in seen:
                raise self.fail(f"latents[{k}]", f"duplicate latent '{n}'")
            seen.add(n)
        return names

    def environments(self, value: Any, latents: tuple[str, ...]) -> Environments:
        value = self.mapping(value, "environments", {"symbol", "values", "segments", "domain"})
        if ("values" in value) == ("segments" in value):
            raise self.fail("environments", "give exactly one of 'values' or 'segments'")
        symbol = self.identifier(value.get("symbol", "u"), "environments.symbol")
        if symbol in latents:
            raise self.fail("environments.symbol", f"'{symbol}' is also a latent name")
        if "segments" in value:
            count = value["segments"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise self.fail("environments.segments", f"expected a positive integer, got {count!r}")
            if count > MAX_SEGMENTS:
                raise self.fail("environments.segments", f"{count} segments are more than the {MAX_SEGMENTS:,} "
                                                         f"this toolkit accepts")
            if "domain" in value:
                raise self.fail("environments.domain", "a domain is only meaningful for scalar u values")
            return Environments("segments", (), np.zeros((count, 0)), tuple(range(count)))
        values = value["values"]
        if not isinstance(values, list) or not values:
            raise self.fail("environments.values", "expected a non-empty list")
        if all(isinstance(v, list) for v in values):
            width = len(values[0])
            if width < 1 or any(len(v) != width for v in values):
                raise self.fail("environments.values", "vector environments must be lists of one equal length")
            table = np.array([[self.number(x, f"environments.values[{k}]") for x in v]
                              for k, v in enumerate(values)])
            if "domain" in value:
                raise self.fail("environments.domain", "a domain is only supported for scalar u")
            symbols = tuple(sp.Symbol(f"{symbol}{k + 1}", real=True) for k in range(width))
            clash = [s.name for s in symbols if s.name in latents]
            if clash:
                raise self.fail("environments.symbol", f"'{clash[0]}' is also a latent name")
            return Environments("vector", symbols, table, tuple(tuple(v) for v in values))
        table = np.array([[self.number(v, f"environments.values[{k}]")] for k, v in enumerate(values)])
        domain = None
        if "domain" in value:
            d = value["domain"]
            if not isinstance(d, list) or len(d) != 2:
                raise self.fail("environments.domain", "expected [low, high]")
            for k in (0, 1):
                if isinstance(d[k], float) and math.isinf(d[k]):
                    raise self.fail(f"environments.domain[{k}]", f"expected a finite number, got {d[k]!r}: a domain "
                                    "is a bounded interval, which the checker scans for zeros (a wide one such as "
                                    "[-1e6, 1e6] is accepted)")
            low, high = self.number(d[0], "environments.domain[0]"), self.number(d[1], "environments.domain[1]")
            if not low < high:
                raise self.fail("environments.domain", f"expected low < high, got [{low:g}, {high:g}]")
            # an observed environment is data whatever the declared interval says (CONTRACT §1's own example
            # observes u = 6 with domain [-5, 5]): it counts as observed, and the domain keeps its one role, where
            # an unobserved zero may be accepted as extrapolated (SPEC §2, C13)
            outside = [f"{v:g}" for v in table[:, 0] if not low <= v <= high]
            if outside:
                warnings.warn(f"{self.source}: environments.domain: observed value{'s' * (len(outside) > 1)} "
                              f"{', '.join(outside)} lie{'s' * (len(outside) == 1)} outside the declared domain "
                              f"[{low:g}, {high:g}]; observed environments count as observed, and only zeros "
                              "inside the domain are extrapolated", IdentcheckWarning, stacklevel=2)
            domain = (low, high)
        return Environments("scalar", (sp.Symbol(symbol, real=True),), table, tuple(values), domain)

    def table(self, value: Any, key: str, count: int) -> np.ndarray:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of {count} numbers, got {type(value).__name__}")
        if len(value) != count:
            raise self.fail(key, f"expected {count} values (one per environment), got {len(value)}")
        return np.array([self.number(v, f"{key}[{k}]") for k, v in enumerate(value)])

    def parameters(self, value: Any, latents: tuple[str, ...], env: Environments) -> dict[str, np.ndarray]:
        if not isinstance(value, Mapping):
            raise self.fail("parameters", "expected a mapping of name -> list of values")
        reserved = set(latents) | {s.name for s in env.symbols}
        out = {}
        for name, table in value.items():
            key = f"parameters.{name}"
            self.identifier(name, key)
            if name in reserved:
                raise self.fail(key, f"'{name}' is already a latent or environment symbol")
            out[name] = self.table(table, key, env.count)
        return out

    def noise(self, value: Any, latents: tuple[str, ...], env: Environments, parameters: dict[str, np.ndarray],
              allowed: dict[str, sp.Symbol]) -> tuple[LatentFamily, dict[str, dict[str, sp.Expr]]]:
        value = self.mapping(value, "noise", {"family", "params"}, ("family", "params"))
        family = LATENT_FAMILIES.get(value["family"]) if isinstance(value["family"], str) else None
        if family is None:
            raise self.fail("noise.family", f"unknown family {value['family']!r} "
                                            f"(known: {', '.join(LATENT_FAMILIES)})")
        params = self.mapping(value["params"], "noise.params", set(latents), latents)
        out: dict[str, dict[str, sp.Expr]] = {}
        lookup = {**{s: env.values[:, k] for k, s in enumerate(env.symbols)},
                  **{allowed[k]: v for k, v in parameters.items()}}
        for latent in latents:
            key = f"noise.params.{latent}"
            entry = self.mapping(params[latent], key, set(family.params), family.params)
            exprs, values = {}, {}
            for p in family.params:
                pkey = f"{key}.{p}"
                if isinstance(entry[p], list):
                    table_name = f"{latent}.{p}"
                    parameters[table_name] = self.table(entry[p], pkey, env.count)
                    sym = sp.Symbol(table_name, real=True)
                    exprs[p], values[p] = sym, parameters[table_name]
                else:
                    expr = parse_expression(entry[p], allowed, source=self.source, key=pkey)
                    exprs[p] = expr
                    values[p] = self.evaluate(expr, lookup, env.count, pkey)
            problem = family.invalid(values)
            if problem:  # say it of the first bad environment, with its own value (not the minimum of all)
                problem, bad = _first_bad_environment(family, values, env) or (problem, "")
                raise self.fail(f"{key}.{problem.split()[0]}", f"{problem}{bad}")
            out[latent] = exprs
        return family, out

    def evaluate(self, expr: sp.Expr, lookup: dict, count: int, key: str) -> np.ndarray:
        symbols = sorted(expr.free_symbols, key=str)
        fn = numeric_function(symbols, expr)
        with np.errstate(all="ignore"):
            try:
                out = np.broadcast_to(np.asarray(fn(*(lookup[s] for s in symbols)), dtype=float), (count,))
            except (TypeError, ValueError, ZeroDivisionError) as exc:
                raise self.fail(key, f"cannot evaluate {expr} ({exc})") from None
        return np.array(out)

    def mechanisms(self, value: Any, latents: tuple[str, ...], allowed: dict[str, sp.Symbol]) -> dict[str, sp.Expr]:
        value = self.mapping(value, "mechanisms", set(latents))
        scope = allowed | {n: sp.Symbol(n, real=True) for n in latents}
        out = {latent: parse_expression(value[latent], scope, source=self.source, key=f"mechanisms.{latent}")
               for latent in latents if latent in value}
        graph = nx.DiGraph()
        graph.add_nodes_from(latents)
        for child, expr in out.items():
            graph.add_edges_from((s.name, child) for s in expr.free_symbols if s.name in latents)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return out
        path = " -> ".join([cycle[0][0], *(edge[1] for edge in cycle)])
        raise self.fail("mechanisms", f"the mechanisms form a cycle: {path}")

    def post_nonlinear(self, value: Any, latents: tuple[str, ...]) -> dict[str, sp.Expr]:
        value = self.mapping(value, "post_nonlinear", set(latents))
        return {latent: self.invertible_map(text, f"post_nonlinear.{latent}") for latent, text in value.items()}

    def invertible_map(self, text: Any, key: str) -> sp.Expr:
        """gbar(t), refused unless a continuous, strictly monotone map of the real line (SPEC §1 Eq. 5, Cor. 3.1;
        `invertible.why_not_invertible`): kinks are allowed, jumps are not."""
        expr = parse_expression(text, {"t": PNL_SYMBOL}, source=self.source, key=key)
        if (reason := why_not_invertible(expr, PNL_SYMBOL)) is not None:
            raise self.fail(key, f"gbar(t) = {text if isinstance(text, str) else expr} {reason}")  # as written
        return expr

    def mixing(self, value: Any, latents: tuple[str, ...]) -> Mixing:
        value = self.mapping(value, "mixing", {"kind", "observed_dim", "layers", "x"})
        kind = value.get("kind", "mlp")
        ell = len(latents)
        if kind == "mlp":
            if "x" in value:
                raise self.fail("mixing.x", "only for kind: expression")
            dim, layers = value.get("observed_dim", ell), value.get("layers", 3)
            for k, v in (("observed_dim", dim), ("layers", layers)):
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise self.fail(f"mixing.{k}", f"expected a positive integer, got {v!r}")
            if dim < ell:
                raise self.fail("mixing.observed_dim", f"{dim} < {ell} latents: the mixing cannot be injective")
            if layers > MAX_MIXING_LAYERS:
                raise self.fail("mixing.layers", f"{layers} layers are more than the {MAX_MIXING_LAYERS} this "
                                                 f"toolkit accepts")
            return Mixing("mlp", dim, layers)
        if kind == "expression":
            for k in ("observed_dim", "layers"):
                if k in value:
                    raise self.fail(f"mixing.{k}", "only for kind: mlp")
            comps = value.get("x")
            if not isinstance(comps, list) or not comps:
                raise self.fail("mixing.x", "expected a non-empty list of expressions in the latents")
            scope = {n: sp.Symbol(n, real=True) for n in latents}
            exprs = tuple(parse_expression(c, scope, source=self.source, key=f"mixing.x[{k}]")
                          for k, c in enumerate(comps))
            if len(exprs) < ell:
                raise self.fail("mixing.x", f"{len(exprs)} components < {ell} latents: f cannot be injective")
            return Mixing("expression", len(exprs), 0, exprs)
        raise self.fail("mixing.kind", f"unknown kind {kind!r} (known: mlp, expression)")

    def observation_noise(self, value: Any) -> ObservationNoise:
        """The observation noise: CONTRACT §1's default, family gaussian and scale 0.01, for each key left out."""
        value = self.mapping(value, "observation_noise", {"family", "scale"})
        name = value.get("family", "gaussian")
        family = OBSERVATION_FAMILIES.get(name) if isinstance(name, str) else None
        if family is None:
            raise self.fail("observation_noise.family", f"unknown family {name!r} "
                                                        f"(known: {', '.join(OBSERVATION_FAMILIES)})")
        scale = self.number(value.get("scale", 0.0 if family.name == "none" else 0.01), "observation_noise.scale")
        if scale < 0 or (scale == 0 and family.name != "none"):
            raise self.fail("observation_noise.scale", f"expected a scale > 0, got {scale:g}")
        if scale != 0 and family.name == "none":
            raise self.fail("observation_noise.scale", f"family none is eps = 0 and takes no scale (or scale 0), "
                                                       f"got {scale:g}")
        return ObservationNoise(family, scale)


def _first_bad_environment(family: LatentFamily, values: dict[str, np.ndarray],
                           env: Environments) -> tuple[str, str] | None:
    """The problem in the first environment with an invalid parameter, and where: ("std must be > 0 (got 0)",
    " in environment 1"); None when no single environment shows it."""
    for m in range(env.count):
        problem = family.invalid({k: np.asarray(v)[m] for k, v in values.items()})
        if problem:
            return problem, f" in environment {env.labels[m]!r}"
    return None
