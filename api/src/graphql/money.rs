//! `Money`: an exact decimal amount with its currency, as every money field answers it.

use async_graphql::SimpleObject;
use rust_decimal::Decimal;

use crate::services::money::amount_of;

/// An exact amount: `amount` has exactly the currency's minor digits ("12.50", "-0.03", "120").
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// Minor units of `currency` as money.
    pub fn from_minor(minor: i64, currency: &str) -> Self {
        Money {
            amount: amount_of(minor, currency),
            currency: currency.to_string(),
        }
    }
}
