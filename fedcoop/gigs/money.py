"""Quantities and money as exact decimals, never floats.

FEP-0837 writes quantities as JSON strings ("18"); Mitra-style peers may send numbers, which
are read through their decimal text so 0.1 stays 0.1. Currencies are identified on the wire by
their Wikidata item (EUR is Q4916).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from fedcoop.errors import ValidationError

MAX_AMOUNT = Decimal("1000000000")

# ISO 4217 code -> Wikidata item: the currencies a coop is likely to use; others can be added.
CURRENCIES: dict[str, str] = {
    "EUR": "https://www.wikidata.org/wiki/Q4916",
    "USD": "https://www.wikidata.org/wiki/Q4917",
    "GBP": "https://www.wikidata.org/wiki/Q25224",
    "CHF": "https://www.wikidata.org/wiki/Q25344",
    "CAD": "https://www.wikidata.org/wiki/Q1104069",
    "AUD": "https://www.wikidata.org/wiki/Q259502",
    "SEK": "https://www.wikidata.org/wiki/Q122922",
    "NOK": "https://www.wikidata.org/wiki/Q132643",
    "DKK": "https://www.wikidata.org/wiki/Q25417",
    "PLN": "https://www.wikidata.org/wiki/Q123213",
    "CZK": "https://www.wikidata.org/wiki/Q131016",
    "BRL": "https://www.wikidata.org/wiki/Q173117",
    "MXN": "https://www.wikidata.org/wiki/Q4730",
    "INR": "https://www.wikidata.org/wiki/Q80524",
    "JPY": "https://www.wikidata.org/wiki/Q8146",
}
_BY_URI = {uri: code for code, uri in CURRENCIES.items()}
# Currencies without minor units.
_ZERO_DECIMALS = frozenset({"JPY"})


def parse_decimal(value: object, *, field: str, allow_zero: bool = False) -> Decimal:
    """A non-negative finite decimal from a string, an int, or a float's decimal text."""
    if isinstance(value, bool) or value is None:
        raise ValidationError("must be a number", field=field)
    text = repr(value) if isinstance(value, float) else str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not a number", field=field) from None
    if not number.is_finite() or number < 0:
        raise ValidationError("must be a finite, non-negative number", field=field)
    if number == 0 and not allow_zero:
        raise ValidationError("must be more than zero", field=field)
    if number > MAX_AMOUNT:
        raise ValidationError("is too large", field=field)
    if number.as_tuple().exponent < -6:  # type: ignore[operator]
        raise ValidationError("has too many decimal places", field=field)
    return number


def to_text(number: Decimal) -> str:
    """Canonical wire form: no exponent, no trailing zeros ("18", "12.5")."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def currency_code(value: str, *, field: str = "currency") -> str:
    code = value.strip().upper()
    if code in CURRENCIES:
        return code
    if value in _BY_URI:
        return _BY_URI[value]
    raise ValidationError(f"unsupported currency {value!r}", field=field)


def currency_uri(code: str) -> str:
    return CURRENCIES[code]


def currency_from_uri(uri: str) -> str | None:
    return _BY_URI.get(uri)


def round_money(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal("1") if currency in _ZERO_DECIMALS else Decimal("0.01")
    return amount.quantize(exponent, rounding=ROUND_HALF_EVEN)


def minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units, for sorting and filtering indexes only (never for arithmetic)."""
    scale = 1 if currency in _ZERO_DECIMALS else 100
    return int((amount * scale).to_integral_value(rounding=ROUND_HALF_EVEN))


def is_whole_multiple(quantity: Decimal, unit: Decimal) -> bool:
    return unit > 0 and (quantity / unit) == (quantity / unit).to_integral_value()


def display(amount: Decimal, currency: str) -> str:
    """Human form with the currency's minor units: 18.5 EUR -> "18.50"."""
    return format(round_money(amount, currency), "f")
