//! The arithmetic of idea dividends, exact in integer minor units: a report's pool under a
//! reward, and its split over the contributors so that the parts sum to the pool. Every
//! operation is checked: inputs beyond the bounds give `None` (the pool) or saturate (the
//! split), never a panic.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::money::MAX_AMOUNT_MINOR;

/// Basis points in a whole.
pub const WHOLE_BPS: i32 = 10_000;

/// Largest net sales magnitude a report may carry, in minor units: the bound of every amount,
/// [`MAX_AMOUNT_MINOR`] (10¹⁵: ten trillion dollars), which keeps every pool and part far
/// inside `i64`.
pub const MAX_NET_MINOR: i64 = MAX_AMOUNT_MINOR;

/// `net × share_bps / 10000`, rounded half-even to the minor unit (exact: the product fits in
/// a `Decimal`, and dividing by 10⁴ only moves the point). `None` beyond [`MAX_NET_MINOR`] or
/// for a share outside 0–10000 basis points.
pub fn pool(net_minor: i64, share_bps: i32) -> Option<i64> {
    if net_minor.checked_abs()? > MAX_NET_MINOR || !(0..=WHOLE_BPS).contains(&share_bps) {
        return None;
    }
    let exact = Decimal::from(net_minor)
        .checked_mul(Decimal::from(share_bps))?
        .checked_div(Decimal::from(WHOLE_BPS))?;
    exact
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i64()
}

/// Splits `pool` by `weights` (summing to 10000) with the largest-remainder method: each part
/// is the floor of its exact share, and the units left over go one each to the largest
/// remainders, ties to the earlier contributor. A negative pool splits as the mirror of the
/// positive one, so a return exactly cancels the sale it undoes. With weights that sum to
/// 10000 every part lies between 0 and the pool, so it fits in an `i64`. The products are
/// formed in `i128`; weights that sum to more (which the services refuse) give parts that
/// saturate instead of overflowing.
pub fn split(pool: i64, weights: &[i32]) -> Vec<i64> {
    let magnitude = i128::from(pool).abs();
    let exact: Vec<(i128, i128)> = weights
        .iter()
        .map(|w| {
            let product = magnitude * i128::from(*w);
            (
                product / i128::from(WHOLE_BPS),
                product % i128::from(WHOLE_BPS),
            )
        })
        .collect();
    let mut parts: Vec<i128> = exact.iter().map(|(floor, _)| *floor).collect();
    let left = parts
        .iter()
        .try_fold(magnitude, |left, part| left.checked_sub(*part))
        .unwrap_or(0);
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for index in order.into_iter().take(usize::try_from(left).unwrap_or(0)) {
        parts[index] += 1;
    }
    let sign: i128 = if pool < 0 { -1 } else { 1 };
    parts
        .into_iter()
        .map(|part| {
            let signed = sign * part;
            i64::try_from(signed).unwrap_or(if signed < 0 { i64::MIN } else { i64::MAX })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_round_half_to_even() {
        assert_eq!(pool(100_000, 100), Some(1_000)); // 1% of 1000.00 = 10.00
        assert_eq!(pool(1_250, 100), Some(12)); // 0.125 → 0.12
        assert_eq!(pool(1_350, 100), Some(14)); // 0.135 → 0.14
        assert_eq!(pool(1_251, 100), Some(13)); // 0.1251 → 0.13
        assert_eq!(pool(-1_250, 100), Some(-12));
        assert_eq!(pool(-1_350, 100), Some(-14));
        assert_eq!(pool(7, 10_000), Some(7));
        assert_eq!(pool(MAX_NET_MINOR, 10_000), Some(MAX_NET_MINOR));
        assert_eq!(pool(MAX_NET_MINOR + 1, 100), None);
    }

    #[test]
    fn splits_sum_to_the_pool_by_largest_remainder() {
        assert_eq!(split(1_000, &[3_333, 3_333, 3_334]), vec![333, 333, 334]);
        // 0.10 over 3333/3333/3334: exact 3.333, 3.333, 3.334 → the one unit left goes to .334
        assert_eq!(split(10, &[3_333, 3_333, 3_334]), vec![3, 3, 4]);
        // equal remainders: the earlier contributors get the leftover units
        assert_eq!(split(11, &[2_500, 2_500, 2_500, 2_500]), vec![3, 3, 3, 2]);
        assert_eq!(
            split(-11, &[2_500, 2_500, 2_500, 2_500]),
            vec![-3, -3, -3, -2]
        );
        assert_eq!(split(1, &[5_000, 5_000]), vec![1, 0]);
        assert_eq!(split(0, &[7_000, 3_000]), vec![0, 0]);
        assert_eq!(split(99, &[10_000]), vec![99]);
    }

    #[test]
    fn extreme_pools_and_weights_never_panic() {
        assert_eq!(pool(i64::MIN, 100), None);
        assert_eq!(pool(i64::MAX, 100), None);
        assert_eq!(pool(-MAX_NET_MINOR, 10_000), Some(-MAX_NET_MINOR));
        assert_eq!(pool(100, -1), None);
        assert_eq!(pool(100, 10_001), None);
        assert_eq!(pool(100, i32::MIN), None);
        assert_eq!(split(i64::MIN, &[10_000]), vec![i64::MIN]);
        assert_eq!(split(i64::MAX, &[10_000]), vec![i64::MAX]);
        let halves = split(i64::MAX, &[5_000, 5_000]);
        assert_eq!(
            halves.iter().map(|p| i128::from(*p)).sum::<i128>(),
            i128::from(i64::MAX)
        );
        assert_eq!(
            split(i64::MIN, &[5_000, 5_000]),
            vec![i64::MIN / 2, i64::MIN / 2]
        );
        // Weights the services refuse still give an answer, saturated.
        assert_eq!(
            split(i64::MAX, &[i32::MAX, i32::MAX]),
            vec![i64::MAX, i64::MAX]
        );
        assert_eq!(split(i64::MIN, &[i32::MAX]), vec![i64::MIN]);
        assert_eq!(split(7, &[]), Vec::<i64>::new());
        assert_eq!(split(7, &[i32::MIN, 10_000]).len(), 2);
    }

    #[test]
    fn every_split_sums_exactly() {
        let weights = [1, 2_999, 4_000, 3_000];
        for pool_minor in -2_000..2_000 {
            let parts = split(pool_minor, &weights);
            assert_eq!(parts.iter().sum::<i64>(), pool_minor);
            assert_eq!(
                split(-pool_minor, &weights),
                parts.iter().map(|p| -p).collect::<Vec<_>>()
            );
        }
    }
}
