"""One number format for everything managers read (settings.number_locale: Swedish by default).

The dashboard formats in the browser with the same locale (Intl.NumberFormat, given `BROWSER_LOCALE`);
Excel cells keep numeric formats, which Excel shows in the reader's own locale, so only text written
into the workbook is formatted here.
"""

from __future__ import annotations

BROWSER_LOCALE: dict[str, str] = {"sv": "sv-SE", "en": "en-GB"}
# (thousands separator, decimal mark); Swedish groups with a no-break space, as Intl's sv-SE does
_SEPARATORS: dict[str, tuple[str, str]] = {"sv": ("\u00a0", ","), "en": (",", ".")}


def format_number(value: float, decimals: int = 0, locale: str = "sv") -> str:
    """`value` with grouped thousands and `decimals` places (trailing zeros dropped), in the locale's marks."""
    if locale not in _SEPARATORS:
        raise ValueError(f"number locale must be one of {', '.join(_SEPARATORS)}, got {locale!r}")
    thousands, decimal = _SEPARATORS[locale]
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)
