"""Which Python a spec expression may be written in, checked before sympy's `parse_expr` evaluates it.

`parse_expr` runs its text as Python, so a spec that is not a formula can do anything: ``exec("...")`` runs
code, ``open("x", "w")`` empties a file, and plain Python reads as the wrong formula (a symbol is a true
object, so ``z1 if u else 0`` is z1, ``z1 or u`` is z1, and ``(u == 1)`` is False). A formula is numbers,
names, arithmetic, comparisons with ``<``, ``>``, ``<=``, ``>=``, tuples (Piecewise's pieces) and calls of
sympy's mathematical functions by name; anything else is refused before it runs.

>>> not_a_formula("Piecewise((u*tanh(z1), u > 1), (0, True)) + sqrt(2)^3") is None
True
>>> not_a_formula('exec("import os")')
"a call of 'exec', which is not one of sympy's mathematical functions"
"""

from __future__ import annotations

import ast

import numpy as np
import sympy as sp

__all__ = ["not_a_formula", "CALLABLE", "MAX_EXPONENT", "MAX_EXPONENTIAL_DEPTH"]

#: The largest |exponent| a spec expression may write as a number (`x**1001` is rejected): larger powers make the
#: symbolic checks (derivatives, zero sets) expand numbers of millions of digits instead of answering, and
#: 9**9**9 would not even finish parsing.
MAX_EXPONENT = 1000
#: Exponentials nested deeper than this (exp, sinh, cosh, z1**z1) cannot be evaluated even at 50 digits:
#: exp applied five times to 1 has an exponent of 1.6 million digits (mpmath took minutes, then more).
MAX_EXPONENTIAL_DEPTH = 4
#: The largest number a factorial-type function may be given: beyond it the value overflows float64 anyway
#: (171! does) and exact evaluation slows to seconds (10**6!) or minutes.
MAX_FACTORIAL = 1000
_FACTORIAL_LIKE = frozenset({"factorial", "factorial2", "subfactorial", "gamma", "multigamma", "binomial",
                             "RisingFactorial", "FallingFactorial", "rf", "ff"})
#: The functions a formula may call: sympy's elementary and special functions, factorials and logic (for
#: Piecewise's conditions), not its number theory, transforms or the makers of new functions; also the
#: constructors of numbers, powers and relations, the unevaluated operations (refused later with a message
#: of their own), sqrt-like helpers that are plain functions, and the builtins that sympy answers.
CALLABLE: frozenset[str] = frozenset(
    {name for name in dir(sp) if isinstance(getattr(sp, name), sp.FunctionClass)
     and getattr(sp, name).__module__.startswith(("sympy.functions.elementary", "sympy.functions.special",
                                                  "sympy.functions.combinatorial.factorials", "sympy.logic"))}
    | {"sqrt", "cbrt", "root", "real_root", "Rational", "Integer", "Float", "Pow", "Mul", "Add",
       "Eq", "Ne", "Lt", "Gt", "Le", "Ge", "Derivative", "Integral", "Sum", "Product", "Limit", "Subs",
       "abs", "pow", "max", "min"})

_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.keyword, ast.Name, ast.Constant, ast.Tuple,
          ast.Compare, ast.Load, ast.operator, ast.unaryop, ast.cmpop)
_ORDER = (ast.Lt, ast.Gt, ast.LtE, ast.GtE)
_NAMED: dict[type, str] = {
    ast.IfExp: "a conditional 'a if c else b' (write Piecewise((a, c), (b, True)))",
    ast.BoolOp: "'and' / 'or' (write And(...) / Or(...))", ast.Subscript: "indexing",
    ast.Attribute: "attribute access", ast.NamedExpr: "an assignment", ast.Starred: "unpacking",
    ast.Lambda: "a lambda", ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.JoinedStr: "an f-string",
}


def not_a_formula(text: str) -> str | None:
    """What in `text` (``^`` read as power) is Python rather than a formula, or None for a formula. Text that is
    not Python at all is named by its syntax error.

    >>> not_a_formula("z1 if u else 0")
    "a conditional 'a if c else b' (write Piecewise((a, c), (b, True)))"
    >>> not_a_formula("u*z1 +")
    'invalid syntax'
    """
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
        for node in ast.walk(tree):
            problem = _problem(node)
            if problem:
                return problem
    except SyntaxError as exc:
        return exc.msg
    except ValueError as exc:  # a NUL byte
        return str(exc)
    except (RecursionError, MemoryError):  # Python's parser gives up on 1000s of nested operations
        return "it is nested too deeply for Python's parser: write a long sum as Add(...) of its terms"
    return None


def _problem(node: ast.AST) -> str | None:
    if not isinstance(node, _NODES):
        return _NAMED.get(type(node), f"Python's {type(node).__name__} syntax")
    if isinstance(node, ast.Constant) and (isinstance(node.value, (str, bytes)) or node.value is None
                                           or node.value is Ellipsis):
        return f"the constant {node.value!r} (a formula holds numbers and names only)"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return "'not' (write Not(...))"
    if isinstance(node, ast.Compare):
        wrong = next((op for op in node.ops if not isinstance(op, _ORDER)), None)
        if isinstance(wrong, (ast.Eq, ast.NotEq)):
            return "'==' / '!=', which compare expressions as Python objects (write Eq(a, b) / Ne(a, b))"
        if wrong is not None:
            return "'is' / 'in'"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        power = _constant(node.right)
        if power is not None and not abs(power) <= MAX_EXPONENT:
            return f"the power {power:.6g}; exponents are limited to |p| <= {MAX_EXPONENT}"
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):  # z1.diff(u), Function('f')(z1): what is called says why
            return _problem(node.func) or "a call of something other than a function's name"
        if node.func.id not in CALLABLE:
            return f"a call of '{node.func.id}', which is not one of sympy's mathematical functions"
        if node.func.id in _FACTORIAL_LIKE:
            big = [v for v in map(_constant, node.args) if v is not None and not abs(v) <= MAX_FACTORIAL]
            if big:
                return (f"{node.func.id} of {big[0]:.6g}; it takes numbers up to {MAX_FACTORIAL} only (beyond, "
                        "its value overflows floats and exact arithmetic on it takes minutes)")
    return None


def _constant(node: ast.AST) -> float | None:
    """The value of a subtree of numbers, signs and + - * / ** in float arithmetic (±inf where it overflows or
    divides by zero), or None when the subtree holds anything else or its value is undefined (0/0).

    >>> _constant(ast.parse("9**9**9", mode="eval").body), _constant(ast.parse("2*z1", mode="eval").body)
    (inf, None)
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value) if abs(node.value) < 1e308 else float("inf")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        value = _constant(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow))):
        return None
    left, right = _constant(node.left), _constant(node.right)
    if left is None or right is None:
        return None
    with np.errstate(all="ignore"):
        value = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                 ast.Pow: np.power}[type(node.op)](np.float64(left), np.float64(right))
    return None if np.isnan(value) else float(value)
