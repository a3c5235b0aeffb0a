"""One definition, two engines: an indicator's DuckDB SQL translated for Spark with SQLGlot.

The definition is written once, in DuckDB's dialect. For Spark it is parsed by SQLGlot,
its parameters are bound as literals (they come from the definition's YAML, typed), the
store's macros (`h3_parent`, `walk_reach_cells`, `nearest_station`, … read from the store
itself, `duckdb_functions()`) are expanded in place (a scalar macro's body with its
arguments, a table macro as a subquery), a few DuckDB idioms are rewritten where Spark
spells them differently (1-based list indexing as `element_at`, `list_position`,
`error`), and the tree is written in Spark's dialect. What cannot be translated raises
`TranslationError` with the SQL's line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from observatory.errors import LocatedError

READ, WRITE = "duckdb", "spark"
# DuckDB functions Spark names otherwise (SQLGlot leaves them as they are).
RENAMED = {"list_position": "array_position", "error": "raise_error",
           "list_contains": "array_contains", "list_max": "array_max",
           "list_min": "array_min", "to_days": "make_dt_interval"}


class TranslationError(LocatedError):
    """SQL that cannot be run on Spark: what, where (the SQL's line) and how to fix."""


@dataclass(frozen=True)
class Macro:
    """A store macro: its parameters and its body (an expression, or a query for a table
    macro)."""

    name: str
    parameters: tuple[str, ...]
    body: str
    table: bool


def store_macros(con: duckdb.DuckDBPyConnection) -> dict[str, Macro]:
    """The macros of the store `con` reads, by name."""
    rows = con.execute(
        "SELECT function_name, parameters, macro_definition, function_type FROM "
        "duckdb_functions() WHERE function_type IN ('macro', 'table_macro') AND "
        "database_name = current_database() AND schema_name = 'main'").fetchall()
    return {name: Macro(name, tuple(params), body, kind == "table_macro")
            for name, params, body, kind in rows}


def _literal(value: object) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _bind(tree: exp.Expression, parameters: dict[str, object], where: str) -> exp.Expression:
    def bound(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder | exp.Parameter) and node.name:
            if node.name not in parameters:
                raise TranslationError(where, f"`${node.name}` has no value; declare it "
                                       "under `parameters`.")
            return _literal(parameters[node.name])
        return node

    return tree.transform(bound)


def _substitute(body: exp.Expression, names: tuple[str, ...],
                arguments: list[exp.Expression]) -> exp.Expression:
    values = dict(zip(names, arguments, strict=True))

    def replaced(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return exp.Paren(this=values[node.name].copy())
        return node

    return body.transform(replaced)


def _call_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _arguments(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    return [v for v in node.args.values() if isinstance(v, exp.Expression)]


def _expand(tree: exp.Expression, macros: dict[str, Macro], depth: int = 0) -> exp.Expression:
    """Inline every macro call (macros may call macros)."""
    if depth > 8:
        raise TranslationError("the store's macros", "they call each other more than 8 "
                               "levels deep.")

    def inlined(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
            macro = macros.get(node.this.name.lower())
            if macro is not None and macro.table:
                body = sqlglot.parse_one(macro.body, read=READ)
                query = _substitute(body, macro.parameters, list(node.this.expressions))
                alias = node.alias or macro.name
                subquery = exp.Subquery(this=_expand(query, macros, depth + 1),
                                        alias=exp.TableAlias(this=exp.to_identifier(alias)))
                for key in ("joins", "laterals", "pivots"):  # `(macro() AS c JOIN …)`
                    if node.args.get(key):
                        subquery.set(key, node.args[key])
                return subquery
        name = _call_name(node)
        macro = macros.get(name) if name else None
        if macro is not None and not macro.table:
            body = sqlglot.parse_one(macro.body, read=READ)
            expanded = _substitute(body, macro.parameters, _arguments(node))
            return exp.Paren(this=_expand(expanded, macros, depth + 1))
        return node

    return tree.transform(inlined)


def _spark_idioms(tree: exp.Expression) -> exp.Expression:
    def rewritten(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
            # DuckDB lists are 1-based, as Spark's element_at is
            index = exp.Cast(this=_spark_idioms(node.expressions[0].copy()),
                             to=exp.DataType.build("INT"))
            return exp.Anonymous(this="element_at", expressions=[
                _spark_idioms(node.this.copy()), index])
        name = _call_name(node)
        if name == "count_star" and not _arguments(node):  # DuckDB's spelling of count(*)
            return exp.Count(this=exp.Star())
        if name in RENAMED:
            return exp.Anonymous(this=RENAMED[name], expressions=[
                _spark_idioms(a.copy()) for a in _arguments(node)])
        return node

    return tree.transform(rewritten)


def _line_of(error: Exception, sql: str) -> int | None:
    errors = getattr(error, "errors", None)
    if errors and isinstance(errors[0], dict) and errors[0].get("line"):
        return int(errors[0]["line"])
    found = re.search(r"[Ll]ine (\d+)", str(error))
    return int(found.group(1)) if found else None


def _only_tables(tree: exp.Expression, tables: set[str], sql: str, where: str) -> None:
    """Refuse any table but the store's (and the query's own CTEs): no file paths
    (parquet.`/path`), no table functions that read files."""
    own = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if isinstance(table.this, exp.Anonymous | exp.Func):
            name = _function_name(table.this, READ) or "a table function"
        elif table.db or table.catalog or table.name.lower() not in tables | own:
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
        else:
            continue
        raise TranslationError(where, f"reads `{name}`, which is not a table of the store; "
                               "definitions read the store's tables and views only.",
                               position=_where_named(sql, name))


# Spark functions a definition may never call: they run Java methods on the driver or
# read which file a row came from.
FORBIDDEN = {"reflect", "java_method", "try_reflect", "input_file_name",
             "input_file_block_start", "input_file_block_length"}
# Function-like SQL forms that are not in pyspark.sql.functions' list.
_SQL_FORMS = {"cast", "try_cast", "case", "if", "in", "exists", "array", "struct", "map",
              "interval", "extract", "trim", "substring", "position", "overlay", "filter"}


@functools.cache
def spark_functions() -> frozenset[str]:
    """The names of Spark's built-in functions (pyspark's own list); empty without
    pyspark, when the check is left to Spark."""
    try:
        import pyspark.sql.functions as functions
    except ImportError:
        return frozenset()
    return frozenset(n.lower() for n in dir(functions) if not n.startswith("_"))


def _spark_only(tree: exp.Expression, sql: str, where: str) -> None:
    """Refuse functions and joins Spark does not have, naming the first with its line."""
    known = spark_functions()
    for join in tree.find_all(exp.Join):
        if "ASOF" in join.sql(dialect=READ).upper().split(" JOIN")[0]:
            raise TranslationError(where, "Spark has no ASOF JOIN; join on a window or "
                                   "the nearest time with a regular join.",
                                   position=_where_named(sql, "asof"))
    for node in tree.find_all(exp.Func):
        name = _function_name(node, WRITE)
        if name in FORBIDDEN:
            raise TranslationError(where, f"`{name}` is not allowed: it runs code or reads "
                                   "files on the Spark driver.", position=_where_named(
                                       sql, _function_name(node, READ) or name))
        if known and name and name not in known and name not in _SQL_FORMS:
            original = _function_name(node, READ) or name
            raise TranslationError(where, f"Spark has no function `{name}` (DuckDB's "
                                   f"`{original}`); write it with functions both engines "
                                   "have.", position=_where_named(sql, original))


def _function_name(node: exp.Expression, dialect: str) -> str | None:
    """The name a function call is written with in `dialect`."""
    found = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", node.sql(dialect=dialect))
    return found.group(1).lower() if found else None


def _where_named(sql: str, name: str) -> str:
    line = line_naming(sql, f"`{name}`")
    return f"line {line}" if line else ""


def to_spark(sql: str, *, parameters: dict[str, object], macros: dict[str, Macro],
             where: str = "the query", tables: set[str] | None = None) -> str:
    """`sql` (DuckDB's dialect) as Spark SQL, parameters bound and macros expanded; with
    `tables`, refused when it reads anything else."""
    try:
        tree = sqlglot.parse_one(sql, read=READ)
    except ParseError as exc:
        line = _line_of(exc, sql)
        raise TranslationError(where, f"SQLGlot cannot parse it: {str(exc).splitlines()[0]}",
                               position=f"line {line}" if line else "") from None
    tree = _spark_idioms(_expand(_bind(tree, parameters, where), macros))
    if tables is not None:
        _only_tables(tree, {t.lower() for t in tables}, sql, where)
    _spark_only(tree, sql, where)
    try:
        return tree.sql(dialect=WRITE, unsupported_level=ErrorLevel.RAISE, comments=False)
    except UnsupportedError as exc:
        raise TranslationError(where, f"Spark has no equivalent: {exc}; write it with "
                               "functions both engines have.") from None


def line_naming(sql: str, words: str) -> int | None:
    """The first line of `sql` that holds a name quoted in Spark's message (`words`)."""
    for name in re.findall(r"`([^`]+)`", words):
        bare = name.split(".")[-1].strip("`").lower()
        for number, line in enumerate(sql.splitlines(), start=1):
            if re.search(rf"\b{re.escape(bare)}\b", line.split("--")[0].lower()):
                return number
    return None
