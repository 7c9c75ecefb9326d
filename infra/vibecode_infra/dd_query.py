"""A parser for the Datadog metric queries we declare, so a malformed monitor, dashboard or SLO
query fails `vibe render` and the tests instead of `pulumi up` (Datadog validates only on apply).

The grammar covers the metric-query language as we use it: `space_agg:metric{scope} by {keys}`
with `.as_count()`/`.as_rate()`/`.rollup(...)`, arithmetic between queries and numbers, and
functions such as `anomalies(...)` and `forecast(...)`; a monitor query wraps it as
`time_agg(window): expression comparator threshold`. Built on lark (Earley), not regexes.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

_GRAMMAR = r"""
monitor: TIME_AGG "(" WINDOW ")" ":" expr COMPARATOR NUMBER
?expr: term (ADD_OP term)*
?term: factor (MUL_OP factor)*
?factor: NUMBER -> number
       | query
       | FUNC "(" expr ("," arg)* ")" -> call
       | "(" expr ")"
?arg: NUMBER | STRING | WORD
query: SPACE_AGG ":" METRIC "{" scope "}" group? modifier*
scope: "*" | TAG ("," TAG)*
group: "by" "{" TAG_KEY ("," TAG_KEY)* "}"
modifier: "." MODIFIER "(" (arg ("," arg)*)? ")"

TIME_AGG: "avg" | "sum" | "min" | "max" | "change" | "pct_change"
WINDOW: /(last|next)_[0-9]+[mhdw]/
COMPARATOR: ">=" | "<=" | ">" | "<"
SPACE_AGG: "avg" | "sum" | "min" | "max" | /p(50|75|90|95|99)/
METRIC: /[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)+/
TAG: /!?[a-zA-Z][a-zA-Z0-9_.\/-]*(:[a-zA-Z0-9_.\/*<>-]+)?/
TAG_KEY: /[a-zA-Z][a-zA-Z0-9_.\/-]*/
MODIFIER: "as_count" | "as_rate" | "rollup" | "fill"
FUNC: "anomalies" | "forecast" | "outliers" | "abs" | "log10" | "timeshift" | "week_before"
ADD_OP: "+" | "-"
MUL_OP: "*" | "/"
WORD: /[a-z_]+/
STRING: /'[^']*'/
NUMBER: /-?[0-9]+(\.[0-9]+)?/

%import common.WS
%ignore WS
"""

_monitor = Lark(_GRAMMAR, start="monitor", parser="earley")
_expr = Lark(_GRAMMAR, start="expr", parser="earley")


class QueryError(ValueError):
    """The query and what is wrong with it, in one line."""


@dataclass(frozen=True)
class MonitorQuery:
    comparator: str
    threshold: float
    metrics: tuple[str, ...]
    scopes: tuple[tuple[str, ...], ...]


def _metrics(tree: Tree[Token]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    names, scopes = [], []
    for q in tree.find_data("query"):
        names.append(str(q.children[1]))
        scope = next(q.find_data("scope"))
        scopes.append(tuple(str(t) for t in scope.children))
    return tuple(names), tuple(scopes)


def parse_monitor(query: str) -> MonitorQuery:
    try:
        tree = _monitor.parse(query)
    except LarkError as err:
        raise QueryError(
            f"not a metric monitor query: {query!r}: {str(err).splitlines()[0]}"
        ) from None
    comparator, threshold = tree.children[-2], tree.children[-1]
    names, scopes = _metrics(tree)
    return MonitorQuery(str(comparator), float(str(threshold)), names, scopes)


def parse_expression(query: str) -> tuple[str, ...]:
    """A dashboard or SLO query; the metric names it reads."""
    try:
        tree = _expr.parse(query)
    except LarkError as err:
        raise QueryError(f"not a metric query: {query!r}: {str(err).splitlines()[0]}") from None
    if isinstance(tree, Token):
        raise QueryError(f"not a metric query: {query!r}: a constant")
    return _metrics(tree)[0]
