"""Human-readable rendering of SI figures: the only place in the project where numbers are rounded.

It sits in `bench/`'s bottom layer (it imports only `bench.metrics`), so the measuring half (the
gates, training progress, the suite's progress lines) and `reports/` share it without `bench/`
importing `reports/`.

Everything upstream (the suite's JSON, `reports.data`, `reports.pareto`, `reports.stats`) keeps SI
units and full precision; the verdict, the tables and the plot labels call these functions at the
last moment. `tests/test_reports.py` checks each unit against hand-written strings.
"""

from __future__ import annotations

import math

from bench.metrics import Unit

MISSING = "n/a"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _scaled(value: float, scales: tuple[tuple[float, str], ...], digits: int) -> str:
    """`value` divided by the largest scale not above it, with `digits` significant figures."""
    for factor, suffix in scales:
        if abs(value) >= factor or factor == scales[-1][0]:
            scaled = value / factor
            decimals = max(0, digits - 1 - math.floor(math.log10(abs(scaled)))) if scaled else 0
            return f"{scaled:.{decimals}f}{suffix}"
    raise AssertionError("unreachable: the last scale always matches")


def percent(fraction: float | None, decimals: int = 2) -> str:
    """An accuracy fraction as a percentage: 0.9135 -> "91.35 %"."""
    if _missing(fraction):
        return MISSING
    return f"{100 * fraction:.{decimals}f} %"


def points(delta_fraction: float | None, decimals: int = 2) -> str:
    """A difference of two fractions in percentage points, signed: 0.009 -> "+0.90 pp"."""
    if _missing(delta_fraction):
        return MISSING
    return f"{100 * delta_fraction:+.{decimals}f} pp"


def count(value: float | None, digits: int = 3) -> str:
    """A parameter count: 36_595_850 -> "36.6 M", 159_146 -> "159 k"."""
    if _missing(value):
        return MISSING
    if abs(value) < 1e3:
        return f"{value:.0f}"
    return _scaled(value, ((1e9, " G"), (1e6, " M"), (1e3, " k")), digits)


def macs(value: float | None, digits: int = 3) -> str:
    """Multiply-accumulates per image: 851_847_168 -> "852 M MACs"."""
    if _missing(value):
        return MISSING
    return _scaled(value, ((1e9, " G "), (1e6, " M "), (1e3, " k "), (1.0, " ")), digits) + "MACs"


def flops(value: float | None, digits: int = 3) -> str:
    """FLOPs per image: 1.7e9 -> "1.70 GFLOPs", 2.08e7 -> "20.8 MFLOPs"."""
    if _missing(value):
        return MISSING
    return _scaled(value, ((1e9, " G"), (1e6, " M"), (1e3, " k"), (1.0, " ")), digits) + "FLOPs"


def seconds(value: float | None, digits: int = 3) -> str:
    """A duration: 0.00123 -> "1.23 ms", 42.0 -> "42.0 s", 5400 -> "90.0 min"."""
    if _missing(value):
        return MISSING
    if abs(value) >= 600:
        return _scaled(value / 60, ((1.0, " min"),), digits)
    return _scaled(value, ((1.0, " s"), (1e-3, " ms"), (1e-6, " µs"), (1e-9, " ns")), digits)


def clock(value: float | None) -> str:
    """A duration as a clock reading, for progress lines: 5.2 -> "0:05", 3725 -> "1:02:05"."""
    if _missing(value):
        return MISSING
    total = max(round(value), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def mebibytes(value: float | None, digits: int = 3) -> str:
    """Bytes as MiB (GiB from 1 GiB): 536_870_912 -> "512 MiB"."""
    if _missing(value):
        return MISSING
    return _scaled(
        value, ((2.0**30, " GiB"), (2.0**20, " MiB"), (2.0**10, " KiB"), (1.0, " B")), digits
    )


def images_per_s(value: float | None, digits: int = 3) -> str:
    """A throughput: 12_345.6 -> "12.3 k images/s"."""
    if _missing(value):
        return MISSING
    if abs(value) < 1e3:
        return _scaled(value, ((1.0, ""),), digits) + " images/s"
    return _scaled(value, ((1e6, " M"), (1e3, " k")), digits) + " images/s"


def joules(value: float | None, digits: int = 3) -> str:
    """An energy: 1234.5 -> "1.23 kJ", 0.0456 -> "45.6 mJ"."""
    if _missing(value):
        return MISSING
    return _scaled(value, ((1e6, " MJ"), (1e3, " kJ"), (1.0, " J"), (1e-3, " mJ")), digits)


def figure(unit: Unit, value: float | None, digits: int = 3) -> str:
    """Render a figure of a metric by its unit (`bench.metrics.Metric.unit`)."""
    render = {
        "count": count,
        "macs": macs,
        "flops": flops,
        "s": seconds,
        "bytes": mebibytes,
        "images/s": images_per_s,
        "J": joules,
    }
    if unit == "fraction":
        return percent(value)
    return render[unit](value, digits=digits)


def ratio(value: float | None) -> str:
    """A cost ratio: 5.3755 -> "5.38×", 0.5 -> "0.500×", 136.2 -> "136×"."""
    if _missing(value):
        return MISSING
    return _scaled(value, ((1.0, "×"),), 3) if value >= 1 else f"{value:.3f}×"


# The levels a p-value is compared with anywhere in the project (accuracy tests 0.05, cost ties
# 0.01, the gates 0.002): a rounded p-value must stay on the same side of each.
P_LEVELS = (0.05, 0.01, 0.002, 0.001)


def _p_digits(p: float, digits: int) -> str:
    """`p` to `digits` significant figures, more when fewer would cross one of `P_LEVELS`."""
    for more in range(digits, 12):
        text = f"{p:.{more}g}"
        if all((float(text) < level) == (p < level) for level in P_LEVELS):
            return text
    return repr(p)


def p_value(p: float | None) -> str:
    """A p-value for prose: "p = 0.0269", "p = 0.45", "p < 0.001"; never rounded across a level
    it is judged against (0.04996 -> "p = 0.04996", not "p = 0.05")."""
    if _missing(p):
        return MISSING
    if p < 0.001:
        return "p < 0.001"
    return f"p = {_p_digits(p, 3 if p < 0.1 else 2)}"


def number(value: float | None, digits: int = 3) -> str:
    """A dimensionless figure such as a loss, to `digits` significant figures.

    0.69314 -> "0.693", 2.3 -> "2.30", 0.0001234 -> "0.000123".
    """
    if _missing(value):
        return MISSING
    return _scaled(value, ((1.0, ""),), digits)


# Formats of the regression gates' tables (`bench.gates.table`, `bench.gates.paired`): a gate
# sets figures against settings, so it shows exact counts whole and ratios to fixed decimals.


def exact(value: float | None) -> str:
    """A figure that must not change, in full with thousands separators: 159146 -> "159,146"."""
    return MISSING if _missing(value) else f"{value:,}"


def factor(value: float | None, decimals: int = 3) -> str:
    """A ratio set against a threshold, to fixed decimals: 1.14849 -> "1.148"."""
    return MISSING if _missing(value) else f"{value:.{decimals}f}"


def interval(low: float | None, high: float | None, decimals: int = 3) -> str:
    """An interval of ratios: (1.0204, 1.3) -> "[1.020, 1.300]"."""
    return f"[{factor(low, decimals)}, {factor(high, decimals)}]"


def p_compact(p: float | None) -> str:
    """A p-value for a table column, two significant figures (more when two would cross a level
    of `P_LEVELS`): 1.234e-10 -> "1.2e-10", 0.00199 -> "0.00199"."""
    return MISSING if _missing(p) else _p_digits(p, 2)


def setting(value: float | None) -> str:
    """A setting echoed in its shortest form, as a user would type it: 5e-05 -> "5e-05"."""
    return MISSING if _missing(value) else f"{value:g}"
