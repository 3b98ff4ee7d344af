"""BigQuery's FORMAT(format_string, ...): its specifiers, and each value formatted as BigQuery does.

`specifiers` cuts a literal format string into text and `%[flags][width][.precision]specifier`
pieces (the transpiler builds the call from them, one DuckDB function call per value, by the
value's type); the `format_*` functions below run as those DuckDB functions (udfs.py). They
follow the string_functions reference page (FORMAT): C's printf for numbers and strings,
`'` groups an integer's digits (by three with `,` for %d, by four with `,` for %o and with
`:` for %x), `#` adds 0 / 0x / 0X to a non-zero integer, inf and nan are never zero-padded.

Refused (with the reason) where the page leaves the answer open or DuckDB cannot see the
value's type: %t, %T, %p, %P, `*` widths and precisions, a precision on an integer
specifier, and %e / %g of a NUMERIC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_SPECIFIER = re.compile(r"%([-+ #0']*)(\*|\d+)?(?:\.(\*|\d*))?(.?)")
INTEGER, FLOAT, STRING = "dioxX", "fFeEgG", "s"


class FormatSpecError(ValueError):
    """A format string BigQuery rejects, or one the local engine cannot answer for."""


@dataclass(frozen=True)
class Spec:
    """One `%...` specifier: `text` as written, and its parts."""

    text: str
    flags: str
    width: int | None
    precision: int | None
    conversion: str


def specifiers(fmt: str) -> list[str | Spec]:
    """The format string as literal text and specifiers, in order ('%%' is the text '%')."""
    pieces: list[str | Spec] = []
    position = 0
    for match in _SPECIFIER.finditer(fmt):
        if match.start() > position:
            pieces.append(fmt[position : match.start()])
        flags, width, precision, conversion = match.groups()
        position = match.end()
        if conversion == "%" and not (flags or width or precision is not None):
            pieces.append("%")
            continue
        if not conversion:
            raise FormatSpecError(f"FORMAT: invalid format string {fmt!r}: '%' at its end")
        if conversion in "tTpP":
            raise FormatSpecError(
                f"FORMAT: %{conversion} is not supported by the local engine (it writes values "
                "by their BigQuery type, which DuckDB's types do not tell)"
            )
        if conversion not in INTEGER + FLOAT + STRING:
            raise FormatSpecError(f"FORMAT: invalid format specifier %{conversion} in {fmt!r}")
        if width == "*" or precision == "*":
            raise FormatSpecError("FORMAT: '*' widths and precisions are not supported by the local engine")
        if precision is not None and conversion in INTEGER:
            raise FormatSpecError(f"FORMAT: a precision on %{conversion} is not supported by the local engine")
        pieces.append(
            Spec(
                match.group(0),
                flags,
                int(width) if width else None,
                int(precision or 0) if precision is not None else None,
                conversion,
            )
        )
    if position < len(fmt):
        pieces.append(fmt[position:])
    return pieces


def parse_spec(text: str) -> Spec:
    found = specifiers(text)
    assert len(found) == 1 and isinstance(found[0], Spec), text
    return found[0]


def _grouped(digits: str, size: int, separator: str) -> str:
    head = len(digits) % size or size
    return separator.join([digits[:head]] + [digits[i : i + size] for i in range(head, len(digits), size)])


def _padded(spec: Spec, sign: str, prefix: str, body: str, zero_pad: bool = True) -> str:
    width = spec.width or 0
    short = width - len(sign) - len(prefix) - len(body)
    if short <= 0:
        return sign + prefix + body
    if "-" in spec.flags:
        return sign + prefix + body + " " * short
    if "0" in spec.flags and zero_pad:
        return sign + prefix + "0" * short + body
    return " " * short + sign + prefix + body


def _sign(spec: Spec, negative: bool) -> str:
    return "-" if negative else "+" if "+" in spec.flags else " " if " " in spec.flags else ""


def format_integer(text: str, value: int) -> str:
    spec = parse_spec(text)
    conversion = spec.conversion
    if conversion in "oxX" and value < 0:
        raise FormatSpecError(f"FORMAT: %{conversion} of a negative value ({value})")
    magnitude = abs(value)
    digits = format(magnitude, {"o": "o", "x": "x", "X": "X"}.get(conversion, "d"))
    if "'" in spec.flags:
        digits = (
            _grouped(digits, 3, ",") if conversion in "di" else _grouped(digits, 4, "," if conversion == "o" else ":")
        )
    prefix = {"o": "0", "x": "0x", "X": "0X"}.get(conversion, "") if "#" in spec.flags and value else ""
    return _padded(spec, _sign(spec, value < 0) if conversion in "di" else "", prefix, digits)


def format_float(text: str, value: float) -> str:
    spec = parse_spec(text)
    flags = spec.flags.replace("'", "")
    if value != value or value in (float("inf"), float("-inf")):
        flags = flags.replace("0", "")  # C pads inf and nan with spaces
    precision = "" if spec.precision is None else f".{spec.precision}"
    return f"%{flags}{spec.width or ''}{precision}{spec.conversion}" % value


def format_numeric(text: str, value: Decimal) -> str:
    spec = parse_spec(text)
    if spec.conversion not in "fF":
        raise FormatSpecError(f"FORMAT: %{spec.conversion} of a NUMERIC is not supported by the local engine")
    places = 6 if spec.precision is None else spec.precision
    # NUMERIC rounds half away from zero, as its CAST and ROUND do.
    body = format(abs(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    if places == 0 and "#" in spec.flags:
        body += "."
    return _padded(spec, _sign(spec, value < 0), "", body)


def format_string(text: str, value: str) -> str:
    spec = parse_spec(text)
    if spec.precision is not None:
        value = value[: spec.precision]
    return _padded(spec, "", "", value, zero_pad=False)
