"""Metamorphic rewrites of a spec dict: changes of representation whose effect on the verdicts the theory
predicts (SPEC §2-§3). Each function is pure: it returns a new spec dict and changes nothing it was given.

- `relabel`, `reorder`: names and spec order of the latents are not part of the model;
- `rescale_noise`: n_i -> c·n_i maps η_i linearly, so rank L (iii) and every zero of (iv) are unchanged;
- `add_intercept`: a u-only term in g_i leaves every ∂g_i/∂z_j unchanged (C5);
- `reparametrise_u`: u -> a·u + b with the formulas rewritten describes the same environments;
- `duplicate_environment`: a repeated environment adds no η-difference (SPEC §5, deduplication);
- `keep_environments`: with fewer than 2ℓ+1 environments (iii) fails, so no node has a guarantee.

>>> spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1, 2]},
...         "noise": {"family": "gaussian", "params": {"z1": {"mean": "u", "std": 1}, "z2": {"mean": 0, "std": 1}}},
...         "mechanisms": {"z2": "u*z1"}}
>>> reparametrise_u(spec, 2, 1)["mechanisms"]
{'z2': 'z1*(u/2 - 1/2)'}
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Sequence

import sympy as sp

from ..spec import parse_expression

__all__ = ["relabel", "reorder", "rescale_noise", "add_intercept", "reparametrise_u", "duplicate_environment",
           "keep_environments"]

Spec = Mapping[str, Any]


def _symbols(spec: Spec) -> dict[str, sp.Symbol]:
    """Every name an expression of ``spec`` may use, as real symbols."""
    env = spec["environments"]
    names = list(spec["latents"]) + list(spec.get("parameters") or {})
    symbol = env.get("symbol", "u")
    if "values" in env and isinstance(env["values"][0], list):
        names += [f"{symbol}{k + 1}" for k in range(len(env["values"][0]))]
    elif "values" in env:
        names.append(symbol)
    return {name: sp.Symbol(name, real=True) for name in names}


def _rewrite_expressions(spec: Spec, rewrite: Callable[[sp.Expr], sp.Expr]) -> dict[str, Any]:
    """Apply ``rewrite`` to every expression in the noise parameters, mechanisms and mixing of a copy."""
    out = copy.deepcopy(dict(spec))
    allowed = _symbols(spec)

    def one(value: Any, key: str) -> Any:
        if isinstance(value, list):
            return value
        return str(rewrite(parse_expression(value, allowed, source="<metamorphic>", key=key)))

    for latent, params in out["noise"]["params"].items():
        for name, value in params.items():
            params[name] = one(value, f"noise.params.{latent}.{name}")
    for latent, value in (out.get("mechanisms") or {}).items():
        out["mechanisms"][latent] = one(value, f"mechanisms.{latent}")
    mixing = out.get("mixing") or {}
    if mixing.get("kind") == "expression":
        mixing["x"] = [one(v, f"mixing.x[{k}]") for k, v in enumerate(mixing["x"])]
    return out


def relabel(spec: Spec, mapping: Mapping[str, str]) -> dict[str, Any]:
    """Rename latents (``mapping`` old -> new; unnamed latents keep their names) everywhere in the spec.

    >>> spec = {"identcheck": 1, "latents": ["z1", "z2"], "environments": {"values": [0, 1]},
    ...         "noise": {"family": "gaussian", "params": {"z1": {"mean": 0, "std": 1}, "z2": {"mean": 0, "std": 1}}},
    ...         "mechanisms": {"z2": "u*z1"}}
    >>> out = relabel(spec, {"z1": "a", "z2": "b"})
    >>> out["latents"], out["mechanisms"]
    (['a', 'b'], {'b': 'a*u'})
    """
    names = {z: mapping.get(z, z) for z in spec["latents"]}
    swap = {sp.Symbol(old, real=True): sp.Symbol(new, real=True) for old, new in names.items()}
    out = _rewrite_expressions(spec, lambda e: e.xreplace(swap))
    out["latents"] = [names[z] for z in spec["latents"]]
    out["noise"]["params"] = {names[z]: p for z, p in out["noise"]["params"].items()}
    for key in ("mechanisms", "post_nonlinear"):
        if out.get(key):
            out[key] = {names[z]: v for z, v in out[key].items()}
    return out


def reorder(spec: Spec, order: Sequence[str]) -> dict[str, Any]:
    """List the latents in another order (a permutation of ``spec["latents"]``).

    >>> reorder({"latents": ["z1", "z2"]}, ["z2", "z1"])["latents"]
    ['z2', 'z1']
    """
    if sorted(order) != sorted(spec["latents"]):
        raise ValueError(f"{list(order)} is not a permutation of {spec['latents']}")
    out = copy.deepcopy(dict(spec))
    out["latents"] = list(order)
    return out


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, list):
        return [factor * v for v in value]
    return f"{factor!r}*({value})"


# How n -> c·n (c > 0) acts on each family's parameters; Beta is not closed under scaling.
_RESCALE: dict[str, dict[str, Callable[[float], float]]] = {
    "gaussian": {"mean": lambda c: c, "std": lambda c: c},
    "gamma": {"rate": lambda c: 1 / c},
    "inverse_gamma": {"scale": lambda c: c},
    "inverse_gaussian": {"mean": lambda c: c, "shape": lambda c: c},
}


def rescale_noise(spec: Spec, latent: str, factor: float) -> dict[str, Any]:
    """Replace the noise n_i of ``latent`` by factor·n_i (factor > 0), staying in the same family.

    >>> spec = {"noise": {"family": "gaussian", "params": {"z1": {"mean": [0.5, 1.0], "std": "exp(u)"}}}}
    >>> rescale_noise(spec, "z1", 2.0)["noise"]["params"]["z1"]
    {'mean': [1.0, 2.0], 'std': '2.0*(exp(u))'}
    """
    family = spec["noise"]["family"]
    if family not in _RESCALE or not factor > 0:
        raise ValueError(f"cannot rescale {family} noise by {factor!r}")
    out = copy.deepcopy(dict(spec))
    params = out["noise"]["params"][latent]
    for name, power in _RESCALE[family].items():
        params[name] = _scaled(params[name], power(factor))
    return out


def add_intercept(spec: Spec, latent: str, term: str, table: Sequence[float] | None = None) -> dict[str, Any]:
    """Add a term that depends on u (or parameters) only to g_i of ``latent``; a root gets g_i = term.
    With ``table``, ``term`` is the name of a new per-environment parameter holding those values (the
    only kind of u-dependence one-hot segments have).

    >>> add_intercept({"mechanisms": {"z2": "u*z1"}}, "z2", "cos(u)")["mechanisms"]
    {'z2': '(u*z1) + (cos(u))'}
    >>> add_intercept({"latents": ["z1"]}, "z1", "b", table=[1.0, -2.0])
    {'latents': ['z1'], 'mechanisms': {'z1': 'b'}, 'parameters': {'b': [1.0, -2.0]}}
    """
    out = copy.deepcopy(dict(spec))
    mechanisms = out.get("mechanisms") or {}
    out["mechanisms"] = mechanisms
    mechanisms[latent] = f"({mechanisms[latent]}) + ({term})" if latent in mechanisms else term
    if table is not None:
        out["parameters"] = {**(out.get("parameters") or {}), term: list(table)}
    return out


def reparametrise_u(spec: Spec, scale: float, shift: float) -> dict[str, Any]:
    """Describe the same environments by v = scale·u + shift: new values, formulas rewritten in v
    (u = (v − shift)/scale), and the domain mapped. Scalar u only.

    >>> spec = {"identcheck": 1, "latents": ["z1"], "environments": {"values": [0, 2], "domain": [0, 4]},
    ...         "noise": {"family": "gaussian", "params": {"z1": {"mean": "u", "std": 1}}}}
    >>> out = reparametrise_u(spec, -1, 3)
    >>> out["environments"], out["noise"]["params"]["z1"]["mean"]
    ({'values': [3, 1], 'domain': [-1, 3]}, '3 - u')
    """
    env = spec["environments"]
    if "values" not in env or isinstance(env["values"][0], list) or scale == 0:
        raise ValueError("reparametrise_u needs scalar u values and a non-zero scale")
    u = sp.Symbol(env.get("symbol", "u"), real=True)
    old = (u - sp.nsimplify(shift)) / sp.nsimplify(scale)
    out = _rewrite_expressions(spec, lambda e: e.xreplace({u: old}))
    out["environments"]["values"] = [scale * v + shift for v in env["values"]]
    if "domain" in env:
        out["environments"]["domain"] = sorted(scale * v + shift for v in env["domain"])
    return out


def _per_environment(spec: Spec, pick: Callable[[list], list]) -> dict[str, Any]:
    """Apply ``pick`` to every per-environment list: u values, parameter tables and noise tables."""
    out = copy.deepcopy(dict(spec))
    env = out["environments"]
    if "segments" in env:
        env["segments"] = len(pick(list(range(env["segments"]))))
    else:
        env["values"] = pick(env["values"])
    for name, table in (out.get("parameters") or {}).items():
        out["parameters"][name] = pick(table)
    for params in out["noise"]["params"].values():
        for name, value in params.items():
            if isinstance(value, list):
                params[name] = pick(value)
    return out


def duplicate_environment(spec: Spec, index: int) -> dict[str, Any]:
    """Append a copy of environment ``index`` (its u value and every table entry).

    >>> duplicate_environment({"environments": {"segments": 2}, "parameters": {"lam": [0, 1]},
    ...                        "noise": {"params": {}}}, 1)["parameters"]
    {'lam': [0, 1, 1]}
    """
    return _per_environment(spec, lambda values: [*values, values[index]])


def keep_environments(spec: Spec, indices: Sequence[int]) -> dict[str, Any]:
    """Keep only the environments at ``indices`` (in that order), with their table entries.

    >>> keep_environments({"environments": {"values": [0, 1, 2]}, "noise": {"params": {}}}, [0, 2])["environments"]
    {'values': [0, 2]}
    """
    return _per_environment(spec, lambda values: [values[k] for k in indices])
