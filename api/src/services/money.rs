//! Money: ISO 4217 currencies with their minor-unit digits, and the conversion between exact
//! decimals on the wire and integer minor units in storage. Never a float, and never an
//! unchecked operation: every conversion is checked and bounded.
//!
//! **The maximum.** Every amount and price Canyu accepts — a price point, a ballot's price, a
//! report's net sales — has a magnitude of at most [`MAX_AMOUNT_MINOR`] = 10¹⁵ minor units:
//! 10 000 000 000 000.00 in a two-digit currency (USD, EUR), 1 000 000 000 000 000 in a
//! zero-digit one (JPY), 1 000 000 000 000.000 in a three-digit one (KWD). Anything larger, or
//! with more decimals than the currency has, is refused by [`to_minor`], which the services
//! answer with BAD_USER_INPUT naming the field. The bound keeps every product the pricing and
//! dividend math forms (price × ballots, net sales × basis points) far inside `i128` and
//! `Decimal`, and nine thousand maximal amounts still sum inside an `i64`.

use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

/// The largest magnitude of any amount or price, in minor units (10¹⁵; see the module docs).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// The minor-unit digits of the currencies Canyu accepts (ISO 4217).
pub fn minor_digits(currency: &str) -> Option<u32> {
    match currency {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "PYG" => Some(0),
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => Some(3),
        "USD" | "EUR" | "GBP" | "CNY" | "CAD" | "AUD" | "NZD" | "CHF" | "SEK" | "NOK" | "DKK"
        | "PLN" | "CZK" | "HUF" | "INR" | "BRL" | "MXN" | "SGD" | "HKD" | "TWD" | "ZAR" | "THB"
        | "MYR" | "IDR" | "PHP" | "TRY" | "ILS" | "AED" | "SAR" | "RON" => Some(2),
        _ => None,
    }
}

/// A currency code from input, upper-cased, with its minor digits; BAD_USER_INPUT naming
/// `field` when Canyu does not know it.
pub fn currency(field: &str, code: &str) -> AppResult<(String, u32)> {
    let code = code.trim().to_uppercase();
    let digits = minor_digits(&code)
        .ok_or_else(|| AppError::bad_input(field, "unknown or unsupported currency"))?;
    Ok((code, digits))
}

/// `amount` in minor units of a currency with `digits`, if it has no more decimals than that
/// and its magnitude is at most [`MAX_AMOUNT_MINOR`]; `None` otherwise (never a panic, whatever
/// the decimal: `Decimal::MAX` and 28-decimal values included). `-0` is 0.
pub fn to_minor(amount: Decimal, digits: u32) -> Option<i64> {
    let normalized = amount.normalize();
    if normalized.scale() > digits {
        return None;
    }
    let unit = Decimal::from(10i64.checked_pow(digits)?);
    let minor = i64::try_from(normalized.checked_mul(unit)?.trunc()).ok()?;
    (minor.checked_abs()? <= MAX_AMOUNT_MINOR).then_some(minor)
}

/// [`to_minor`] for input in `field`, with a message saying which rule `amount` broke: too
/// many decimals for the currency, or beyond the largest amount.
pub fn input_minor(field: &str, amount: Decimal, digits: u32) -> AppResult<i64> {
    to_minor(amount, digits).ok_or_else(|| {
        if amount.normalize().scale() > digits {
            AppError::bad_input(
                field,
                format!("{field} may have at most {digits} decimals in this currency"),
            )
        } else {
            AppError::bad_input(
                field,
                format!(
                    "{field} is beyond the largest amount, {}",
                    from_minor(MAX_AMOUNT_MINOR, digits)
                ),
            )
        }
    })
}

/// Minor units back to a decimal amount, with exactly `digits` decimals.
pub fn from_minor(minor: i64, digits: u32) -> Decimal {
    Decimal::new(minor, digits)
}

/// Minor units of a stored currency back to a decimal (stored codes were validated).
pub fn amount_of(minor: i64, currency: &str) -> Decimal {
    from_minor(minor, minor_digits(currency).unwrap_or(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_through_minor_units() {
        let amount: Decimal = "12.50".parse().unwrap();
        assert_eq!(to_minor(amount, 2), Some(1250));
        assert_eq!(from_minor(1250, 2).to_string(), "12.50");
        assert_eq!(from_minor(-3, 2).to_string(), "-0.03");
        assert_eq!(from_minor(120, 0).to_string(), "120");
        assert_eq!(to_minor("1.001".parse().unwrap(), 2), None);
        assert_eq!(to_minor("1.000".parse().unwrap(), 2), Some(100));
    }

    #[test]
    fn extreme_decimals_are_refused_not_panicked_on() {
        let parse = |text: &str| text.parse::<Decimal>().unwrap();
        assert_eq!(to_minor(Decimal::MAX, 2), None);
        assert_eq!(to_minor(Decimal::MIN, 2), None);
        assert_eq!(to_minor(Decimal::MAX, 0), None);
        assert_eq!(to_minor(parse("0.0000000000000000000000000001"), 2), None);
        assert_eq!(to_minor(parse("7.9228162514264337593543950335"), 3), None);
        assert_eq!(to_minor(parse("-0"), 2), Some(0));
        assert_eq!(to_minor(parse("-0.00"), 2), Some(0));
        // Digits no currency has: refused, not an overflow of 10^digits.
        assert_eq!(to_minor(parse("1"), 19), None);
        assert_eq!(to_minor(parse("1"), 40), None);
    }

    #[test]
    fn amounts_are_bounded_by_the_maximum() {
        let parse = |text: &str| text.parse::<Decimal>().unwrap();
        assert_eq!(
            to_minor(parse("10000000000000.00"), 2),
            Some(MAX_AMOUNT_MINOR)
        );
        assert_eq!(
            to_minor(parse("-10000000000000"), 2),
            Some(-MAX_AMOUNT_MINOR)
        );
        assert_eq!(to_minor(parse("10000000000000.01"), 2), None);
        assert_eq!(to_minor(parse("-10000000000000.01"), 2), None);
        assert_eq!(
            to_minor(parse("1000000000000000"), 0),
            Some(MAX_AMOUNT_MINOR)
        );
        assert_eq!(to_minor(parse("1000000000000.001"), 3), None);
        // Beyond i64 before the bound is even reached.
        assert_eq!(to_minor(parse("92233720368547758.08"), 2), None);
    }

    #[test]
    fn unknown_currencies_are_bad_input() {
        assert_eq!(currency("currency", " usd ").unwrap(), ("USD".into(), 2));
        assert_eq!(
            currency("currency", "XXX").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
