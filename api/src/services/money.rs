//! Money: ISO 4217 currencies with their minor-unit digits, and the conversion between exact
//! decimals on the wire and integer minor units in storage. Never a float.

use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};

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

/// `amount` in minor units of a currency with `digits`, if it has no more decimals than that.
pub fn to_minor(amount: Decimal, digits: u32) -> Option<i64> {
    let normalized = amount.normalize();
    if normalized.scale() > digits {
        return None;
    }
    let scaled = normalized * Decimal::from(10i64.pow(digits));
    i64::try_from(scaled.trunc()).ok()
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
    fn unknown_currencies_are_bad_input() {
        assert_eq!(currency("currency", " usd ").unwrap(), ("USD".into(), 2));
        assert_eq!(
            currency("currency", "XXX").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
