"""A render budget for plan templates: whatever a plan file says, rendering ends within seconds.

Jinja's sandbox stops a template from reaching Python; it does not stop one from asking for a
billion-character string, a hundred million loop iterations or a number with a million digits.
`BudgetedEnvironment` adds limits, each refused with a `BudgetError` that names the limit:

- time: `RENDER_SECONDS`, checked at every call, operator, filter, loop iteration and output
  chunk (a check in the code, not a signal: rendering may run off the main thread);
- size: `MAX_OUTPUT` characters for the rendered plan and for any string or list built on the
  way (`*`, `+`, `~`, `%`, filters and string methods are checked before they allocate);
- `range()` of at most `MAX_RANGE` items, integers of at most `MAX_INT_BITS` bits, no
  infinite or NaN numbers (the compiler would print `inf` into Python code).

Arithmetic is evaluated at render time only (no constant folding at compile time), so these
checks also cover expressions made of literals.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import TemplateRuntimeError, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

RENDER_SECONDS = 5.0
MAX_OUTPUT = 4_000_000  # characters: the rendered plan, and any one value built while rendering
MAX_RANGE = 10_000
MAX_INT_BITS = 4096
MAX_LIPSUM = 100
# Filters whose numeric arguments size their result (width, count of items per batch...).
SIZING_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice", "format"})
SIZING_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs", "format", "format_map"})
# A width or precision in a format string ("%09999999d", "{:>9999999}") allocates that much.
BIG_FIELD = re.compile(r"\d{7,}")


class BudgetError(TemplateRuntimeError):
    """The template asked for more than its render budget allows."""


class LimitSyntaxError(TemplateSyntaxError):
    """A template refused when compiled: a literal out of range, nesting too deep."""

    def __init__(self, message: str, lineno: int, hint: str, name: str | None = None, filename: str | None = None):
        super().__init__(message, lineno, name, filename)
        self.hint = hint


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple)) else 0


def _check_size(value: Any, what: str) -> Any:
    if _size(value) > MAX_OUTPUT:
        raise BudgetError(f"{what} would be {_size(value):,} long; the limit is {MAX_OUTPUT:,}")
    return value


def _check_number(value: Any, what: str = "a number") -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise BudgetError(f"{what} is out of range ({value}); numbers must be finite")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise BudgetError(f"{what} is out of range (more than {MAX_INT_BITS} bits)")
    return value


def _check_format(fmt: Any, *args: Any) -> None:
    if isinstance(fmt, str) and BIG_FIELD.search(fmt) or any(
            isinstance(a, int) and not isinstance(a, bool) and a > MAX_OUTPUT for a in args):
        raise BudgetError(f"a format width or precision is larger than {MAX_OUTPUT:,}")


class _Budgeted(NodeTransformer):
    """Rewrites the parsed template so that loops and `~` go through the budget, and refuses
    literals out of range."""

    def visit_Const(self, node: nodes.Const) -> nodes.Node:
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise LimitSyntaxError(f"number out of range: {node.value} (a literal such as 1e309 is too large)",
                                   node.lineno or 1, "numbers must be finite: at most about 1.8e308 either way")
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("budget_iter"), [node.iter], [], None, None,
                               lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("budget_concat"), [nodes.List(node.nodes, lineno=node.lineno)],
                          [], None, None, lineno=node.lineno)


class BudgetedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"-", "+"})

    def __init__(self, **options: Any):
        super().__init__(optimized=False, **options)
        self.start()  # compiling is timed too (filters on literals may run at compile time)
        self.globals["range"] = self._range
        lipsum = self.globals.get("lipsum")
        if lipsum is not None:
            self.globals["lipsum"] = lambda n=5, *a, **k: lipsum(min(int(n), MAX_LIPSUM), *a, **k)
        self.filters = {name: self._wrap_filter(name, f) for name, f in self.filters.items()}

    # -- the clock --------------------------------------------------------------------------------
    def start(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetError(f"rendering takes longer than {RENDER_SECONDS:g} seconds, the limit")

    # -- parsing ----------------------------------------------------------------------------------
    def compile(self, source: Any, name: str | None = None, filename: str | None = None, raw: bool = False,
                defer_init: bool = False) -> Any:
        try:
            return super().compile(source, name, filename, raw, defer_init)
        except RecursionError:  # `{{ ((((...)))) }}` thousands deep: the parser is recursive
            raise LimitSyntaxError("the template is nested too deeply", 1, "use fewer nested brackets or blocks",
                                   name, filename) from None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        try:
            tree = super()._parse(source, name, filename)
        except (ValueError, OverflowError) as exc:  # e.g. an integer literal with 5,000 digits
            raise LimitSyntaxError(f"number out of range: {exc}", 1, "integers have at most 4,300 digits",
                                   name, filename) from None
        return _Budgeted().visit(tree)

    # -- what the rewritten template calls --------------------------------------------------------
    def budget_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for i, item in enumerate(iterable):
            if i % 64 == 0:
                self.tick()
            yield item

    def budget_concat(self, parts: list[Any]) -> str:
        texts = [str(p) for p in parts]
        if sum(len(t) for t in texts) > MAX_OUTPUT:
            raise BudgetError(f"joining with ~ would make a string longer than {MAX_OUTPUT:,} characters, the limit")
        return "".join(texts)

    def _range(self, *args: Any) -> range:
        result = range(*args)
        if len(result) > MAX_RANGE:
            raise BudgetError(f"range() of {len(result):,} items; the limit is {MAX_RANGE:,}")
        return result

    def _wrap_filter(self, name: str, func: Any) -> Any:
        @functools.wraps(func)
        def budgeted(*args: Any, **kwargs: Any) -> Any:
            self.tick()
            if name in SIZING_FILTERS:
                values = [*args, *kwargs.values()]
                if name == "format":
                    _check_format(*values)
                elif any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_OUTPUT for v in values):
                    raise BudgetError(f"the {name} filter was given a size larger than {MAX_OUTPUT:,}")
            return _check_size(func(*args, **kwargs), f"the result of the {name} filter")

        return budgeted

    # -- the sandbox's hooks ----------------------------------------------------------------------
    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.tick()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in SIZING_METHODS:
            _check_format(owner, *args, *kwargs.values())
        result = SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)
        if isinstance(owner, (list, dict, set)) and len(owner) > MAX_OUTPUT:  # grown by append/extend/update
            raise BudgetError(f"a list or mapping grew to {len(owner):,} items; the limit is {MAX_OUTPUT:,}")
        return _check_number(_check_size(result, "a value"))

    def wrap_str_format(self, value: Any) -> Any:
        """`str.format` is wrapped at attribute access (not at `call`): check it there."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(fmt, *args, *kwargs.values())
            return wrapped(*args, **kwargs)

        return checked

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.tick()
        if operator == "*":
            seq, n = (left, right) if isinstance(right, int) else (right, left)
            if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * max(n, 0) > MAX_OUTPUT:
                raise BudgetError(f"repeating a value {n:,} times would make it {len(seq) * n:,} long; "
                                  f"the limit is {MAX_OUTPUT:,}")
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetError(f"a number is out of range (more than {MAX_INT_BITS} bits)")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1 \
                and right * left.bit_length() > MAX_INT_BITS:
            raise BudgetError(f"a number is out of range (more than {MAX_INT_BITS} bits)")
        elif operator == "+" and _size(left) + _size(right) > MAX_OUTPUT:
            raise BudgetError(f"adding would make a value longer than {MAX_OUTPUT:,}, the limit")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, *(right if isinstance(right, tuple) else (right,)))
        return _check_number(super().call_binop(context, operator, left, right))


def render_budgeted(env: BudgetedEnvironment, template: Any, **context: Any) -> str:
    """Render within the budget: the output is counted as it is generated."""
    env.start()
    chunks: list[str] = []
    total = 0
    for chunk in template.generate(**context):
        total += len(chunk)
        if total > MAX_OUTPUT:
            raise BudgetError(f"the rendered plan is longer than {MAX_OUTPUT:,} characters, the limit")
        env.tick()
        chunks.append(chunk)
    return "".join(chunks)
