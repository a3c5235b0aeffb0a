"""One rule for reading times from files: every connector and the forecast command use it.

Accepted, per value:

- ISO 8601 dates and times with `-` or `/` between the date's parts (`2012-01-01`,
  `2012/01/01`, `2012-01-01T08:30`, `2012-01-01 08:30:00.5`), with an optional UTC
  offset (`Z`, `+02:00`, `+0200`);
- a month, `YYYY-MM` or `YYYY/MM` (its first day);
- a bare year, `YYYY` (its 1 January);
- day-first or month-first dates with the year last (`31/01/2012`, `31.01.2012`,
  `01-31-2012`), only where the column decides which (a first part above 12 means
  day-first, a second part above 12 month-first) or `--date-format` says so;
- anything, with an explicit `date_format` (strftime codes, e.g. `%d/%m/%Y %H:%M`).

Times with an offset are converted to UTC; times without one are local times in the
given time zone (UTC by default). A value matching none of these is null, and the caller
names the first such line and its value.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, replace

import polars as pl

from observatory.errors import InputError

_OFFSET = r"(Z|[+-]\d\d:?\d\d)$"
_YEAR_LAST = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(.*)$"
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                  "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
SAMPLE_ROWS = 10_000  # rows a column's formats are chosen from
_AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z",
                  "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z")
ACCEPTED = ("ISO 8601 with - or / (2024-03-01, 2024/03/01 08:30, 2024-03-01T08:30+02:00), "
            "a month (2024-03), a year (2024), or day-first dates such as 31/01/2024 "
            "(give --date-format, e.g. %d/%m/%Y, where the column cannot tell)")


def check_time_zone(tz: str, *, option: str = "--tz") -> str:
    """The IANA time-zone name, or InputError saying how to name one."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{option} {tz!r} is not a time zone; give an IANA name such as "
                         "Europe/Helsinki or UTC.") from None
    return tz


def day_first(sample: pl.Series, *, date_format: str | None = None) -> bool | None:
    """Whether the column's year-last dates are day-first (None: it has none, or the
    format is explicit); InputError when the column cannot tell."""
    if date_format is not None:
        return None
    parts = sample.cast(pl.String).str.strip_chars().str.extract_groups(_YEAR_LAST)
    first = parts.struct.field("1").cast(pl.Int32, strict=False).drop_nulls()
    second = parts.struct.field("2").cast(pl.Int32, strict=False).drop_nulls()
    if first.is_empty():
        return None
    if (first > 12).any() and not (second > 12).any():
        return True
    if (second > 12).any() and not (first > 12).any():
        return False
    example = sample.filter(parts.struct.field("1").is_not_null())[0]
    raise InputError(f"dates such as {example!r} could be day-first or month-first; give "
                     "--date-format (e.g. %d/%m/%Y or %m/%d/%Y).")


def _normalised(text: pl.Expr, *, day_first_: bool | None) -> pl.Expr:
    """Year-first ISO text: slashes to dashes, months and years to their first day."""
    text = text.str.strip_chars().str.replace(r"Z$", "+00:00")
    if day_first_ is not None:
        day, month = ("${1}", "${2}") if day_first_ else ("${2}", "${1}")
        text = text.str.replace(_YEAR_LAST, f"$3-{month}-{day}$4")
    text = text.str.replace(r"^(\d{4})/(\d{1,2})/(\d{1,2})", "$1-$2-$3")
    text = text.str.replace(r"^(\d{4})[/\-](\d{1,2})$", "$1-$2-01")
    text = text.str.replace(r"^(\d{4})$", "$1-01-01")
    # one-digit months and days (2024-3-1) to two digits
    text = text.str.replace(r"^(\d{4})-(\d)([-/])", "$1-0$2-")
    return text.str.replace(r"^(\d{4}-\d\d)-(\d)(\D|$)", "$1-0$2$3")


@dataclass(frozen=True)
class Plan:
    """How a column is read: which formats, day-first or not, and whether its text needs
    rewriting to year-first ISO first (slashes, months, years; slow on large columns)."""

    naive: tuple[str, ...] = _NAIVE_FORMATS
    aware: tuple[str, ...] = _AWARE_FORMATS
    day_first: bool | None = None
    normalise: bool = True
    date_format: str | None = None
    # every value ends in `Z` (what loggers and APIs write): cut it and read the rest as a
    # naive time in UTC, the same instants without Polars' slow offset parsing
    utc_z: bool = False
    # Polars' cache of parsed strings pays when values repeat (many stations, one clock)
    # and halves the speed when nearly every value is new
    cache: bool = True


EVERY_FORMAT = Plan()


def plan_for(sample: pl.Series, *, date_format: str | None = None) -> Plan:
    """The cheapest plan that reads every readable value of the sample.

    InputError when year-last dates could be day-first or month-first (see `day_first`).
    """
    if date_format is not None:
        return Plan(date_format=date_format)
    if sample.drop_nulls().is_empty():
        return EVERY_FORMAT
    order = day_first(sample, date_format=None)
    raw = sample.cast(pl.String).str.strip_chars()
    full = _readable(pl.DataFrame({"t": raw}).select(
        _normalised(pl.col("t"), day_first_=order)).to_series())
    plain = _readable(raw.str.replace(r"Z$", "+00:00"))
    if full[2] == 0:  # nothing readable in the sample: try every rule on every row
        return Plan(day_first=order)
    if order is None and plain[2] == full[2]:  # already ISO: no rewriting
        plan = Plan(naive=plain[0], aware=plain[1], day_first=None, normalise=False)
        values = raw.drop_nulls()
        if plan.aware and values.str.ends_with("Z").all():
            bare = _readable(values.str.strip_suffix("Z"))
            if bare[2] == plain[2] and not bare[1]:
                plan = Plan(naive=bare[0], aware=(), normalise=False, utc_z=True)
    else:
        plan = Plan(naive=full[0], aware=full[1], day_first=order)
    return replace(_lean(plan, raw), cache=raw.n_unique() * 2 < raw.len())


def _lean(plan: Plan, sample: pl.Series) -> Plan:
    """The plan with only the formats the sample needs, cheapest (no fractions) first: a
    plan tries every format it holds on every row, so each one dropped saves a pass."""
    frame = pl.DataFrame({"t": sample})

    def read(p: Plan) -> pl.Series:
        return frame.select(parse_utc("t", plan=p)).to_series()

    target = read(plan)
    chosen = replace(plan, naive=(), aware=())
    candidates = [("naive", f) for f in plan.naive] + [("aware", f) for f in plan.aware]
    for kind, fmt in sorted(candidates, key=lambda c: "%.f" in c[1]):
        trial = replace(chosen, **{kind: (*getattr(chosen, kind), fmt)})
        if read(trial).is_not_null().sum() > read(chosen).is_not_null().sum():
            chosen = trial
    return chosen if read(chosen).equals(target) else plan


def _readable(text: pl.Series) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(naive formats, aware formats) that read some value, and how many values they read."""
    naive, aware = [], []
    hit = pl.Series([False] * text.len(), dtype=pl.Boolean)
    for formats, into in ((_NAIVE_FORMATS, naive), (_AWARE_FORMATS, aware)):
        for f in formats:
            ok = text.str.to_datetime(f, strict=False, time_unit="us").is_not_null()
            if ok.any():
                into.append(f)
                hit = hit | ok
    return tuple(naive), tuple(aware), int(hit.sum())


def parse_utc(column: str | pl.Expr, *, tz: str = "UTC", plan: Plan = EVERY_FORMAT) -> pl.Expr:
    """Times as UTC datetimes (microseconds); null where the text matches no rule.

    `tz` is the zone of times written without an offset; with the plan's `date_format`
    the text is read with exactly that format (an offset in it, `%z`, is honoured).
    """
    raw = pl.col(column) if isinstance(column, str) else column
    cache = plan.cache
    if plan.utc_z:  # values without the `Z` (or with spaces) are null here: re-read by
        naive = _first_of([raw.cast(pl.String).str.to_datetime(  # every rule, which
            f"{f}Z", strict=False, time_unit="us", cache=cache)  # strips them
            for f in plan.naive], pl.Datetime("us"))
        return naive.dt.replace_time_zone("UTC")
    text = raw.cast(pl.String).str.strip_chars()
    if plan.date_format is not None:
        return _localised(text.str.to_datetime(plan.date_format, strict=False,
                                               time_unit="us", cache=cache), tz)
    if plan.normalise:
        text = _normalised(text, day_first_=plan.day_first)
    elif plan.aware:
        text = text.str.replace(r"Z$", "+00:00")
    aware = _first_of([text.str.to_datetime(f, strict=False, time_unit="us", time_zone="UTC",
                                            cache=cache) for f in plan.aware],
                      pl.Datetime("us", "UTC"))
    naive = _first_of([text.str.to_datetime(f, strict=False, time_unit="us", cache=cache)
                       for f in plan.naive], pl.Datetime("us"))
    if not plan.aware:
        return _localised(naive, tz)
    if not plan.naive:
        return aware
    return pl.when(text.str.contains(_OFFSET)).then(aware).otherwise(_localised(naive, tz))


def _first_of(parsed: list[pl.Expr], dtype: pl.DataType) -> pl.Expr:
    if not parsed:
        return pl.lit(None, dtype=dtype)
    return parsed[0] if len(parsed) == 1 else pl.coalesce(parsed)


def _localised(parsed: pl.Expr, tz: str) -> pl.Expr:
    """Naive times read in `tz`, to UTC."""
    local = parsed.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def parse_series(values: pl.Series, *, tz: str = "UTC",
                 date_format: str | None = None) -> pl.Series:
    """A whole column to UTC: its plan comes from the first SAMPLE_ROWS values, and the
    rows that plan does not read are tried again with every rule (null: unreadable)."""
    plan = plan_for(values.head(SAMPLE_ROWS), date_format=date_format)
    frame = pl.DataFrame({"t": values.cast(pl.String)})
    parsed = frame.select(parse_utc("t", tz=tz, plan=plan)).to_series()
    missed = parsed.is_null() & values.is_not_null()
    if date_format is None and plan != EVERY_FORMAT and missed.any():
        order = day_first(values.filter(missed), date_format=None)
        order = plan.day_first if order is None else order
        again = frame.filter(missed).select(
            parse_utc("t", tz=tz, plan=Plan(day_first=order))).to_series()
        parsed = parsed.scatter(missed.arg_true(), again)
    return parsed
