"""Parse spec expressions into sympy, allowing only declared symbols (SPEC §5: symbols are real), and
evaluate them (or expressions derived from them) on numpy arrays with `numeric_function`.

>>> import sympy as sp
>>> u, z1 = sp.Symbol("u", real=True), sp.Symbol("z1", real=True)
>>> parse_expression("(u - 0.5)*tanh(z1)", {"u": u, "z1": z1}, source="s.yaml", key="mechanisms.z2")
(u - 1/2)*tanh(z1)
"""

from __future__ import annotations

import builtins
import itertools
import re
import sys
import warnings
from collections import Counter
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations
from sympy.parsing.sympy_parser import rationalize as _exact_float_literals

from ..errors import SpecError
from .formula import MAX_EXPONENT, MAX_EXPONENTIAL_DEPTH, not_a_formula

__all__ = ["parse_expression", "rationalize", "numeric_function", "mpmath_function", "switch_arguments",
           "jacobian"]

# float literals become exact rationals while parsing, before sympy folds them ("-0.7*(u - 1.5)" must vanish at 1.5)
_TRANSFORMS = standard_transformations + (convert_xor, _exact_float_literals)


_FLOAT_MAX = sp.Rational(str(sys.float_info.max))
_UNEVALUATED = (sp.Derivative, sp.Integral, sp.Sum, sp.Product, sp.Limit, sp.Subs)
_PROBE = np.array([0.25, 1.5])  # where parse_expression checks that an expression evaluates numerically
#: Put before every symbol's name in lambdified code: no name numpy, scipy or lambdify prints starts with it,
#: and a common prefix keeps the symbols' order, so the printed code (and its floating-point results) is the
#: same as with the spec's names.
_ARGUMENT_PREFIX = "_sym_"
#: Heaviside is evaluated by this function rather than by sympy's printer, which rewrites it as a Piecewise
#: and folds a Max or Min argument into nested selects that numpy refuses (Heaviside(2*t - Max(t, 3*t - 1,
#: 4*t - 3, 5*t - 6)), from the derivative of a Max of five terms); same values: 0 below 0, H0 at 0, 1 above,
#: NaN at NaN.
_HEAVISIDE = sp.Function("_identcheck_heaviside")
_DIRAC = sp.Function("_identcheck_dirac")
_MAX, _MIN = sp.Function("_identcheck_max"), sp.Function("_identcheck_min")


def _heaviside(x: Any, h0: Any) -> np.ndarray:
    x = np.asarray(x)
    return np.where(np.isnan(x), np.nan, np.where(x < 0, 0.0, np.where(x == 0, h0, 1.0)))


def numeric_function(symbols: Sequence[sp.Symbol], exprs: Any) -> Callable[..., Any]:
    """Lambdify once for numpy arrays: numpy, plus scipy.special for erf, gamma, zeta, Bessel functions, ...

    Every numeric evaluation of a spec expression, or of one derived from it, goes through here, so it
    evaluates the same way everywhere. `exprs` is one expression (one array back) or a list (a list back).
    The symbols are renamed with `_ARGUMENT_PREFIX` first: the generated code calls numpy and scipy by bare
    names (select for Piecewise, e for E, maximum for Max, gammaln for loggamma), which a symbol of that name
    would shadow. Values are real: a complex result (scipy's LambertW) keeps its real part where the
    imaginary part is 0 and is NaN elsewhere; a derivative sympy leaves unevaluated (of floor, say) is NaN.
    Callers read NaN as "undefined here" (SPEC §5: evaluation errors or NaN give undecided).

    >>> import sympy as sp, numpy as np
    >>> u = sp.Symbol("u", real=True)
    >>> numeric_function([u], sp.erf(u) + sp.gamma(u))(np.array([1.0, 2.0])).round(4).tolist()
    [1.8427, 1.9953]
    >>> lambert, step = numeric_function([u], [sp.LambertW(u), sp.diff(sp.Heaviside(u) * u, u)])(
    ...     np.array([-1.0, 0.0, 1.0]))
    >>> lambert.round(4).tolist(), step.tolist()
    ([nan, 0.0, 0.5671], [0.0, nan, 1.0])
    >>> t = sp.Symbol("t", real=True)
    >>> slope = sp.diff(sp.Max(t, 2*t, 3*t - 1, 4*t - 3, 5*t - 6), t)  # Heaviside(t - Max(...)) + ...
    >>> numeric_function([t], slope)(np.array([-1.0, 0.5, 9.0])).tolist()
    [1.0, 2.0, 5.0]
    >>> a, b = sp.Dummy("t"), sp.Dummy("t")
    >>> numeric_function([a, b], a - 2*b)(np.array([1.0]), np.array([1.0])).tolist()
    [-1.0]
    """
    single = not isinstance(exprs, (list, tuple))
    names = Counter(s.name for s in symbols)  # distinct symbols of one name (two Dummy("t")) stay distinct
    safe = {s: sp.Symbol(_ARGUMENT_PREFIX + s.name + (f"_{k}" if names[s.name] > 1 else ""), **s.assumptions0)
            for k, s in enumerate(symbols)}
    defined = [_for_numpy(sp.sympify(e)).xreplace(safe) for e in ([exprs] if single else exprs)]
    fn = sp.lambdify(list(safe.values()), defined, modules=[{_HEAVISIDE.__name__: _heaviside}, "scipy"])

    def evaluate(*args: Any) -> Any:
        out = [_real(v) for v in fn(*args)]
        return out[0] if single else out

    return evaluate


def mpmath_function(symbols: Sequence[sp.Symbol], exprs: Any, cse: bool = True) -> Callable[..., Any] | None:
    """``exprs`` lambdified once for mpmath (common subexpressions shared), or None where sympy has no mpmath
    printer for them.

    >>> import mpmath
    >>> t = sp.Symbol("t", real=True)
    >>> mpmath_function([t], [sp.exp(t), 2*sp.exp(t)])(mpmath.mpf(0))
    [mpf('1.0'), mpf('2.0')]
    """
    # Heaviside by `_mp_heaviside`: sympy's printer rewrites it as a Piecewise, whose printing ran sympy's
    # set solver on every condition (two minutes for the Jacobian of a Max of ten terms); DiracDelta (in the
    # Jacobian of a Heaviside) by `_mp_dirac`: the printer writes it as a name that mpmath does not define
    defined = _nested(_for_mpmath, exprs)
    try:
        function = sp.lambdify(list(symbols), defined, cse=cse, modules=[
            {_HEAVISIDE.__name__: _mp_heaviside, _DIRAC.__name__: _mp_dirac, _MAX.__name__: max,
             _MIN.__name__: min}, "mpmath"])
    except (TypeError, ValueError, SyntaxError, NameError, NotImplementedError):
        return None
    # a name that neither mpmath nor Python defines (jn, erfcinv, airyai's derivative airyaiprime: the printer
    # writes them as they are) raised NameError at the first call, past every caller's except
    return None if _undefined_names(function.__code__, function.__globals__) else function


def _undefined_names(code: Any, namespace: Mapping[str, Any]) -> list[str]:
    """The global names that code (and the code nested in it) uses but neither namespace nor builtins holds."""
    missing = [n for n in code.co_names if n not in namespace and not hasattr(builtins, n)]
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            missing += _undefined_names(constant, namespace)
    return missing


def _nested(function: Callable[[sp.Expr], sp.Expr], exprs: Any) -> Any:
    """function applied to every expression of an expression or a (nested) list, tuple or Matrix of them."""
    if isinstance(exprs, (list, tuple)):
        return [_nested(function, e) for e in exprs]
    if isinstance(exprs, sp.MatrixBase):
        return exprs.applyfunc(function)
    return function(sp.sympify(exprs))


def _for_mpmath(expr: sp.Expr) -> sp.Expr:
    """expr with Heaviside and DiracDelta as `_mp_heaviside` and `_mp_dirac` evaluate them, and `_SwitchMax` and
    `_SwitchMin` as Python's max and min (sympy's mpmath printing of Max and Min; its printer looks them up by
    their class's own name, and raised KeyError)."""
    if expr.has(_SwitchMax, _SwitchMin):
        expr = expr.replace(_SwitchMax, _MAX).replace(_SwitchMin, _MIN)
    if expr.has(sp.Heaviside):
        expr = expr.replace(sp.Heaviside, lambda x, h0=sp.S.Half: _HEAVISIDE(x, h0))
    if expr.has(sp.DiracDelta):
        expr = expr.replace(sp.DiracDelta, lambda x, *order: _DIRAC(x))
    return expr


def _mp_dirac(x: Any) -> Any:
    """DiracDelta for mpmath, as `numeric_function` evaluates it: 0 away from 0, NaN at 0 (and for NaN).

    >>> [_mp_dirac(x) for x in (mpmath.mpf(-2), 0, mpmath.nan)]
    [0, mpf('nan'), mpf('nan')]
    """
    return mpmath.nan if mpmath.isnan(x) or x == 0 else 0


def _mp_heaviside(x: Any, h0: Any) -> Any:
    """Heaviside for mpmath, with the values of sympy's own printing of it: 0 below 0, H0 at 0, 1 above; NaN
    stays NaN (as `numeric_function`'s Heaviside).

    >>> [_mp_heaviside(x, 0.5) for x in (mpmath.mpf(-2), 0, mpmath.mpf(3), mpmath.nan)]
    [0, 0.5, 1, mpf('nan')]
    """
    if mpmath.isnan(x):
        return x
    return 0 if x < 0 else h0 if x == 0 else 1


class _Unsimplified:
    """A Max or Min that is not simplified when built (unless its arguments are numbers): sympy's compares its
    arguments pairwise whenever one is built, and its derivative builds one of the n - 1 others per argument
    (8 s for a Max of 20 terms). Printers print it as Max or Min (they look it up along the class's bases),
    with the same values. ``_evaluated``: sympy's own class; ``_sign``: 1 for Max, whose fdiff is
    Heaviside(a_i - Max(others)), -1 for Min."""

    __slots__ = ()
    _evaluated: Any
    _sign: int

    def __new__(cls, *args: Any, **assumptions: Any) -> Any:
        args = tuple(sp.sympify(a) for a in args)
        if all(a.is_number for a in args):  # cheap, and the numbers' Max is a number
            return cls._evaluated(*args)
        assumptions["evaluate"] = False
        return cls._evaluated.__new__(cls, *args, **assumptions)

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        """sympy's Max.fdiff or Min.fdiff, with the others' Max or Min left unevaluated."""
        i, args = argindex - 1, self.args  # type: ignore[attr-defined]
        others = args[:i] + args[i + 1:]
        return sp.Heaviside(self._sign * (args[i] - (others[0] if len(others) == 1 else type(self)(*others))))


class _SwitchMax(_Unsimplified, sp.Max):
    """`_Unsimplified` Max."""
    _evaluated, _sign = sp.Max, 1


class _SwitchMin(_Unsimplified, sp.Min):
    """`_Unsimplified` Min."""
    _evaluated, _sign = sp.Min, -1


def jacobian(exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol]) -> sp.Matrix:
    """∂exprs/∂symbols, equal to sympy's Matrix.jacobian in value, but without its pairwise comparisons of the
    arguments of a Max or Min: these are differentiated as sympy does, Heaviside(a_i - Max(others)) times
    a_i', with the Max of the others left as written (see `_SwitchMax`); one of numbers alone is evaluated.

    >>> t = sp.Symbol("t", real=True)
    >>> jacobian([sp.Max(t, 2*t - 1, 3*t - 3)], [t])[0, 0].subs(t, 5)
    3
    """
    switched = [sp.sympify(e).replace(sp.Max, _SwitchMax).replace(sp.Min, _SwitchMin) for e in exprs]
    return sp.Matrix([[e.diff(z) for z in symbols] for e in switched])


def switch_arguments(expr: sp.Expr, kinks: bool = True) -> list[sp.Expr]:
    """The expressions whose zeros are where ``expr`` switches: the argument of a Heaviside or sign, and the
    two sides' difference of each relation in a Piecewise's conditions (where it may jump); with ``kinks``,
    the argument of an Abs and the pairwise differences of a Max's or Min's arguments too (where it bends).

    >>> t = sp.Symbol("t", real=True)
    >>> switch_arguments(sp.Heaviside(t - 1) + sp.Max(t, 2*t - 3), kinks=False), switch_arguments(sp.Abs(t + 2))
    ([t - 1], [t + 2])
    """
    found = [f.args[0] for f in expr.atoms(sp.Heaviside, sp.sign)]
    found += [r.lhs - r.rhs for f in expr.atoms(sp.Piecewise) for _, condition in f.args
              for r in getattr(condition, "atoms", lambda *_: ())(sp.core.relational.Relational)]
    if kinks:
        found += [f.args[0] for f in expr.atoms(sp.Abs)]
        found += [a - b for f in expr.atoms(sp.Max, sp.Min) for a, b in itertools.combinations(f.args, 2)]
    return found


def _for_numpy(expr: sp.Basic) -> sp.Basic:
    """expr as numpy evaluates it: unevaluated derivatives become NaN, DiracDelta (the derivative of
    Heaviside, sign, Max) 0 away from its argument's zero and NaN at it, Heaviside `_heaviside`, and Max and
    Min are kept as written (`_SwitchMax`)."""
    derivatives = expr.atoms(sp.Derivative)
    if derivatives:
        expr = expr.xreplace({d: sp.nan for d in derivatives})
    if expr.has(sp.DiracDelta):
        expr = expr.replace(sp.DiracDelta, lambda x, *order: sp.Piecewise((sp.nan, sp.Eq(x, 0)), (0, True)))
    if expr.has(sp.Heaviside):
        expr = expr.replace(sp.Heaviside, lambda x, h0=sp.S.Half: _HEAVISIDE(x, h0))
    if expr.has(sp.Max, sp.Min):  # the renaming of the symbols rebuilds them: sympy's Max would compare its
        # arguments pairwise again (2.7 s for a Max of 29 terms)
        expr = expr.replace(sp.Max, _SwitchMax).replace(sp.Min, _SwitchMin)
    return expr


def _real(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if np.iscomplexobj(array):
        return np.where(array.imag == 0, array.real, np.nan)
    return array


@lru_cache(maxsize=4096)  # property suites load the same expressions many times
def _numeric_problem(expr: sp.Expr) -> str | None:
    """Why `expr` cannot be evaluated on float arrays (an unsupported function, an unevaluated integral), or
    None. Values at the probe points (NaN, inf, complex) do not matter here, only whether evaluation runs."""
    symbols = sorted(expr.free_symbols, key=str)
    try:
        fn = numeric_function(symbols, expr)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.asarray(fn(*([_PROBE] * len(symbols))), dtype=float)
    except NameError as exc:
        return f"function '{exc.name}' has no numerical implementation"
    except Exception as exc:  # sympy's printers and scipy raise NotImplementedError, ValueError, TypeError, ...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"it cannot be evaluated numerically ({detail})"
    return None


def rationalize(expr: sp.Expr) -> sp.Expr:
    """Replace every float by the exact rational of its decimal text (0.8 -> 4/5), so zero tests are exact."""
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: sp.Rational(str(f)) for f in floats}) if floats else expr


def _exponential_depth(expr: sp.Basic) -> int:
    """How deeply exponential growth nests in expr: exp, sinh, cosh, and a power whose exponent is not a
    number (z1**z1) each count one level.

    >>> z = sp.Symbol("z1")
    >>> _exponential_depth(sp.exp(sp.exp(z) + sp.tanh(sp.exp(z)))), _exponential_depth(z**2 + sp.cosh(z**z))
    (2, 2)
    """
    inner = max((_exponential_depth(a) for a in expr.args), default=0)
    grows = isinstance(expr, (sp.exp, sp.sinh, sp.cosh)) or (expr.is_Pow and not expr.exp.is_Number)
    return inner + 1 if grows else inner


def _quoted(value: Any, width: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``width`` characters with the length named (a 5000-term sum).

    >>> _quoted("z1*u" * 100)
    "'z1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1*uz1...' (400 characters)"
    """
    text = repr(value)
    return text if len(text) <= width else f"{text[:width - 5]}...{text[-1]} ({len(str(value)):,} characters)"


#: sympy's truth-valued classes, as a TypeError names them when one meets arithmetic ((u*z1 > 0)*u)
_TRUTH_VALUES = (r"'(StrictGreaterThan|StrictLessThan|GreaterThan|LessThan|Equality|Unequality|And|Or|Not|Xor|"
                 r"BooleanTrue|BooleanFalse)'")
_TRUTH_HINT = ("a comparison is a truth value, not a number: write Heaviside(a - b) for a > b, or "
               "Piecewise((value, condition), (otherwise, True))")


def parse_expression(value: Any, allowed: Mapping[str, sp.Symbol], *, source: str, key: str) -> sp.Expr:
    """Parse a number or an expression string whose free symbols must all be in `allowed`.

    `^` means power. Raises SpecError naming the key for syntax errors, Python that is not a formula
    (`not_a_formula`: it is refused before sympy runs the text), unknown symbols or functions, and complex or
    infinite constants.
    """
    shown = _quoted(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"expected an expression or a number, got {type(value).__name__} {shown}",
                        source=source, key=key)
    if isinstance(value, float) and not np.isfinite(value):
        raise SpecError(f"{shown} is not a finite number", source=source, key=key)
    if isinstance(value, (int, float)):
        expr: Any = sp.Rational(str(value)) if isinstance(value, float) else sp.Integer(value)
    else:
        text = value.strip()
        problem = not_a_formula(text) if text else "it is empty"  # parse_expr runs its text as Python
        if problem:
            raise SpecError(f"cannot parse expression {shown}: {problem}", source=source, key=key)
        try:
            expr = parse_expr(text, local_dict=dict(allowed), transformations=_TRANSFORMS)
        except Exception as exc:  # valid Python sympy cannot build: TypeError (z1(u)), ValueError, ...
            called = [name for name in allowed if re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", text)]
            if called:  # a latent named tanh, then tanh(z1): the name is a symbol here, not the function
                raise SpecError(f"'{called[0]}' is called as a function in {shown}, but here it names a latent, "
                                f"a parameter or u: rename it", source=source, key=key) from None
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, TypeError) and re.search(_TRUTH_VALUES, detail):  # (u*z1 > 0)*u, Eq(u, 1)*z1
                detail = _TRUTH_HINT
            raise SpecError(f"cannot parse expression {shown} ({detail})", source=source, key=key) from None
    if not isinstance(expr, sp.Expr):
        hint = f" ({_TRUTH_HINT})" if isinstance(expr, sp.logic.boolalg.Boolean) else ""
        raise SpecError(f"{shown} is not an arithmetic expression{hint}", source=source, key=key)
    undefined = sorted(str(f.func) for f in expr.atoms(AppliedUndef))
    if undefined:
        raise SpecError(f"unknown function '{undefined[0]}' in {shown}", source=source, key=key)
    unknown = sorted(str(s) for s in expr.free_symbols if s not in set(allowed.values()))
    if unknown:
        names = ", ".join(sorted(allowed)) or "none"
        raise SpecError(f"unknown symbol '{unknown[0]}' in {shown} (allowed here: {names})",
                        source=source, key=key)
    if expr.has(sp.I) or expr.has(sp.zoo) or expr.has(sp.oo) or expr.has(sp.nan):
        raise SpecError(f"{shown} is not a finite real expression", source=source, key=key)
    if any(abs(n) > _FLOAT_MAX for n in expr.atoms(sp.Number)):
        raise SpecError(f"{shown} holds a number beyond the floating-point range", source=source, key=key)
    exponents = [p.exp for p in expr.atoms(sp.Pow) if p.exp.is_Number and abs(p.exp) > MAX_EXPONENT]
    if exponents:
        raise SpecError(f"{shown} raises to the power {exponents[0]}: exponents are limited to "
                        f"|p| <= {MAX_EXPONENT}", source=source, key=key)
    depth = _exponential_depth(expr)
    if depth > MAX_EXPONENTIAL_DEPTH:
        raise SpecError(f"{shown} nests exponentials {depth} deep: beyond "
                        f"{MAX_EXPONENTIAL_DEPTH}, its values cannot be evaluated even at 50 digits "
                        f"(exp(exp(exp(exp(exp(1))))) has an exponent of 1.6 million digits)", source=source, key=key)
    if expr.has(sp.DiracDelta):
        raise SpecError(f"{shown} holds DiracDelta, a distribution rather than a function", source=source,
                        key=key)
    unevaluated = sorted({type(a).__name__ for a in expr.atoms(*_UNEVALUATED)})
    if unevaluated:
        raise SpecError(f"{shown} holds an unevaluated {unevaluated[0]}: write it in closed form",
                        source=source, key=key)
    problem = _numeric_problem(expr)
    if problem:
        raise SpecError(f"{shown}: {problem}", source=source, key=key)
    return rationalize(expr)
