"""Parse spec expressions into sympy, allowing only declared symbols (SPEC §5: symbols are real).

>>> import sympy as sp
>>> u, z1 = sp.Symbol("u", real=True), sp.Symbol("z1", real=True)
>>> parse_expression("(u - 0.5)*tanh(z1)", {"u": u, "z1": z1}, source="s.yaml", key="mechanisms.z2")
(u - 1/2)*tanh(z1)
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import TokenError, convert_xor, parse_expr, standard_transformations
from sympy.parsing.sympy_parser import rationalize as _exact_float_literals

from ..errors import SpecError

__all__ = ["parse_expression", "rationalize"]

# float literals become exact rationals while parsing, before sympy folds them ("-0.7*(u - 1.5)" must vanish at 1.5)
_TRANSFORMS = standard_transformations + (convert_xor, _exact_float_literals)


def rationalize(expr: sp.Expr) -> sp.Expr:
    """Replace every float by the exact rational of its decimal text (0.8 -> 4/5), so zero tests are exact."""
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: sp.Rational(str(f)) for f in floats}) if floats else expr


def parse_expression(value: Any, allowed: Mapping[str, sp.Symbol], *, source: str, key: str) -> sp.Expr:
    """Parse a number or an expression string whose free symbols must all be in `allowed`.

    `^` means power. Raises SpecError naming the key for syntax errors, unknown symbols or functions,
    and complex or infinite constants.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"expected an expression or a number, got {type(value).__name__} {value!r}",
                        source=source, key=key)
    if isinstance(value, (int, float)):
        expr: Any = sp.Rational(str(value)) if isinstance(value, float) else sp.Integer(value)
    else:
        text = value.strip()
        if not text or "__" in text or ";" in text or re.search(r"\blambda\b", text):
            raise SpecError(f"cannot parse expression {value!r}", source=source, key=key)
        try:
            expr = parse_expr(text, local_dict=dict(allowed), transformations=_TRANSFORMS)
        except Exception as exc:  # sympy raises SyntaxError, TokenError, TypeError, ... for bad text
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, TokenError):
                detail = "unbalanced brackets"
            raise SpecError(f"cannot parse expression {value!r} ({detail})", source=source, key=key) from None
    if not isinstance(expr, sp.Expr):
        raise SpecError(f"{value!r} is not an arithmetic expression", source=source, key=key)
    undefined = sorted(str(f.func) for f in expr.atoms(AppliedUndef))
    if undefined:
        raise SpecError(f"unknown function '{undefined[0]}' in {value!r}", source=source, key=key)
    unknown = sorted(str(s) for s in expr.free_symbols if s not in set(allowed.values()))
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise SpecError(f"unknown symbol '{unknown[0]}' in {value!r} (allowed here: {names})",
                        source=source, key=key)
    if expr.has(sp.I) or expr.has(sp.zoo) or expr.has(sp.oo) or expr.has(sp.nan):
        raise SpecError(f"{value!r} is not a finite real expression", source=source, key=key)
    return rationalize(expr)
