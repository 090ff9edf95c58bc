//! The pricing-poll computations, exact: prices are integers in the currency's minor unit, shares
//! are fractions of the ballot count, and every comparison and interpolation is done on integers
//! (i128) — never floats. The inputs are the per-poll aggregates (how many ballots gave each
//! answer at each price), so a result costs O(price points), not O(ballots).
//!
//! Every operation is checked, whatever the stored numbers: sums of counts saturate, products
//! are formed in `i128` with checked operations, and a value that would not fit is no value
//! (`None`) rather than a panic. Prices within
//! [`MAX_AMOUNT_MINOR`](super::money::MAX_AMOUNT_MINOR) and counts within `i64` never come near
//! those limits.

use std::collections::BTreeMap;

/// A share of ballots: `count / total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub count: i64,
    pub total: i64,
}

/// One price of a CHOICE tally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceRow {
    pub price: i64,
    pub votes: i64,
    pub share: Share,
}

/// CHOICE: votes per price point and the winner (most votes, ties to the lower price; none
/// without ballots).
pub fn choice(price_points: &[i64], votes: &BTreeMap<i64, i64>) -> (Vec<ChoiceRow>, Option<i64>) {
    let total = price_points
        .iter()
        .map(|p| votes.get(p).copied().unwrap_or(0))
        .fold(0, i64::saturating_add);
    let mut sorted = price_points.to_vec();
    sorted.sort_unstable();
    let rows: Vec<ChoiceRow> = sorted
        .iter()
        .map(|p| {
            let count = votes.get(p).copied().unwrap_or(0);
            ChoiceRow {
                price: *p,
                votes: count,
                share: Share { count, total },
            }
        })
        .collect();
    let winner = if total == 0 {
        None
    } else {
        // Ascending prices: a strictly greater count is needed to replace, so ties keep the lower.
        rows.iter()
            .fold(None::<&ChoiceRow>, |best, row| match best {
                Some(b) if b.votes >= row.votes => Some(b),
                _ => Some(row),
            })
            .map(|row| row.price)
    };
    (rows, winner)
}

/// The four Van Westendorp answers of one respondent, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VwAnswer {
    pub too_cheap: i64,
    pub cheap: i64,
    pub expensive: i64,
    pub too_expensive: i64,
}

impl VwAnswer {
    /// tooCheap < cheap < expensive < tooExpensive, all positive.
    pub fn is_valid(&self) -> bool {
        self.too_cheap > 0
            && self.too_cheap < self.cheap
            && self.cheap < self.expensive
            && self.expensive < self.too_expensive
    }
}

/// How many valid ballots gave each price for each Van Westendorp question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VwTally {
    pub too_cheap: BTreeMap<i64, i64>,
    pub cheap: BTreeMap<i64, i64>,
    pub expensive: BTreeMap<i64, i64>,
    pub too_expensive: BTreeMap<i64, i64>,
}

impl VwTally {
    /// Tallies answers, dropping invalid ones.
    pub fn from_answers(answers: &[VwAnswer]) -> Self {
        let mut tally = VwTally::default();
        for a in answers.iter().filter(|a| a.is_valid()) {
            for (counts, price) in [
                (&mut tally.too_cheap, a.too_cheap),
                (&mut tally.cheap, a.cheap),
                (&mut tally.expensive, a.expensive),
                (&mut tally.too_expensive, a.too_expensive),
            ] {
                let count = counts.entry(price).or_default();
                *count = count.saturating_add(1);
            }
        }
        tally
    }

    /// Valid responses (every valid ballot answers each question once).
    pub fn responses(&self) -> i64 {
        self.too_cheap
            .values()
            .copied()
            .fold(0, i64::saturating_add)
    }
}

/// The Van Westendorp price points, each rounded half-even to the minor unit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VwResult {
    pub marginal_cheapness: Option<i64>,
    pub optimal_price: Option<i64>,
    pub indifference_price: Option<i64>,
    pub marginal_expensiveness: Option<i64>,
    pub valid_responses: i64,
}

/// Van Westendorp over the tally: curves on the grid of distinct prices answered, crossings by
/// linear interpolation between neighbouring grid points where the sign of the difference
/// changes; the lowest crossing of each pair; none → null.
pub fn van_westendorp(tally: &VwTally) -> VwResult {
    let n = tally.responses();
    if n == 0 {
        return VwResult::default();
    }
    let mut grid: Vec<i64> = tally
        .too_cheap
        .keys()
        .chain(tally.cheap.keys())
        .chain(tally.expensive.keys())
        .chain(tally.too_expensive.keys())
        .copied()
        .collect();
    grid.sort_unstable();
    grid.dedup();
    // Curves as counts out of n at each grid price, from running totals (one pass per answer).
    let at_most = |counts: &BTreeMap<i64, i64>| -> Vec<i64> {
        let mut running = 0;
        let mut entries = counts.iter().peekable();
        grid.iter()
            .map(|&p| {
                while let Some((_, c)) = entries.next_if(|(price, _)| **price <= p) {
                    running = c.saturating_add(running);
                }
                running
            })
            .collect()
    };
    let (tc, ch, ex, te) = (
        at_most(&tally.too_cheap),
        at_most(&tally.cheap),
        at_most(&tally.expensive),
        at_most(&tally.too_expensive),
    );
    let rest =
        |counts: &[i64]| -> Vec<i64> { counts.iter().map(|c| n.saturating_sub(*c)).collect() };
    let too_cheap = rest(&tc);
    let cheap = rest(&ch);
    let not_cheap = rest(&cheap);
    let expensive = ex;
    let not_expensive = rest(&expensive);
    let too_expensive = te;
    VwResult {
        marginal_cheapness: crossing(&grid, &too_cheap, &not_cheap),
        optimal_price: crossing(&grid, &too_cheap, &too_expensive),
        indifference_price: crossing(&grid, &cheap, &expensive),
        marginal_expensiveness: crossing(&grid, &too_expensive, &not_expensive),
        valid_responses: n,
    }
}

/// The lowest crossing of curves `a` and `b` over `grid`, rounded half-even (`None` also when
/// it would not fit, which no bounded price comes near).
fn crossing(grid: &[i64], a: &[i64], b: &[i64]) -> Option<i64> {
    let points = grid.len().min(a.len()).min(b.len());
    for i in 0..points.saturating_sub(1) {
        let d0 = i128::from(a[i]) - i128::from(b[i]);
        let d1 = i128::from(a[i + 1]) - i128::from(b[i + 1]);
        if d0.signum() == d1.signum() {
            continue;
        }
        let (p0, p1) = (i128::from(grid[i]), i128::from(grid[i + 1]));
        // The signs differ, so d1 ≠ d0.
        // x = p0 − d0·(p1 − p0)/(d1 − d0) = (p0·(d1 − d0) − d0·(p1 − p0)) / (d1 − d0)
        let denominator = d1 - d0;
        let numerator = p0
            .checked_mul(denominator)?
            .checked_sub(d0.checked_mul(p1 - p0)?)?;
        return round_half_even(numerator, denominator);
    }
    None
}

/// `numerator / denominator` rounded to the nearest integer, ties to even; `None` for a zero
/// denominator or a quotient outside `i64`.
pub fn round_half_even(numerator: i128, denominator: i128) -> Option<i64> {
    let (n, d) = if denominator < 0 {
        (numerator.checked_neg()?, denominator.checked_neg()?)
    } else {
        (numerator, denominator)
    };
    if d == 0 {
        return None;
    }
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    // 0 ≤ r < d: compare r with d − r instead of 2r with d, which could overflow.
    let rounded = match r.cmp(&(d - r)) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q.checked_add(1)?,
        std::cmp::Ordering::Equal if q % 2 == 0 => q,
        std::cmp::Ordering::Equal => q.checked_add(1)?,
    };
    i64::try_from(rounded).ok()
}

/// One rung of a Gabor-Granger ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgRow {
    pub price: i64,
    /// Ballots that would buy at this price.
    pub buyers: i64,
    pub ballots: i64,
}

impl GgRow {
    /// price × demand share, in minor units (rounded half-even); 0 without ballots. Never
    /// beyond the price, as buyers never outnumber ballots; numbers that break that saturate.
    pub fn revenue_index(&self) -> i64 {
        if self.ballots == 0 {
            return 0;
        }
        let product = i128::from(self.price) * i128::from(self.buyers);
        round_half_even(product, i128::from(self.ballots)).unwrap_or(
            if (product < 0) == (self.ballots < 0) {
                i64::MAX
            } else {
                i64::MIN
            },
        )
    }
}

/// Gabor-Granger: a ballot buys at p when its highest "would buy" price is ≥ p. `highest` holds
/// how many ballots had each highest would-buy price (`None`: would buy at no price).
pub fn gabor_granger(
    price_points: &[i64],
    highest: &BTreeMap<Option<i64>, i64>,
) -> (Vec<GgRow>, Option<i64>) {
    let ballots = highest.values().copied().fold(0, i64::saturating_add);
    let mut sorted = price_points.to_vec();
    sorted.sort_unstable();
    let rows: Vec<GgRow> = sorted
        .iter()
        .map(|&p| GgRow {
            price: p,
            buyers: highest
                .iter()
                .filter(|(h, _)| h.is_some_and(|h| h >= p))
                .map(|(_, c)| *c)
                .fold(0, i64::saturating_add),
            ballots,
        })
        .collect();
    if ballots == 0 {
        return (rows, None);
    }
    // Compare revenue exactly (same denominator): price × buyers; ties keep the lower price.
    let best = rows
        .iter()
        .fold(None::<&GgRow>, |best, row| match best {
            Some(b)
                if i128::from(b.price) * i128::from(b.buyers)
                    >= i128::from(row.price) * i128::from(row.buyers) =>
            {
                Some(b)
            }
            _ => Some(row),
        })
        .map(|row| row.price);
    (rows, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(i64, i64)]) -> BTreeMap<i64, i64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn choice_ties_go_to_the_lower_price() {
        let (rows, winner) = choice(&[300, 100, 200], &counts(&[(100, 2), (200, 3), (300, 3)]));
        assert_eq!(winner, Some(200));
        assert_eq!(rows[0].price, 100);
        assert_eq!(rows[2].share, Share { count: 3, total: 8 });
        assert_eq!(choice(&[100, 200], &BTreeMap::new()).1, None);
    }

    #[test]
    fn half_even_rounding() {
        assert_eq!(round_half_even(5, 2), Some(2));
        assert_eq!(round_half_even(7, 2), Some(4));
        assert_eq!(round_half_even(-5, 2), Some(-2));
        assert_eq!(round_half_even(10, 3), Some(3));
        assert_eq!(round_half_even(11, 3), Some(4));
        assert_eq!(round_half_even(9, -2), Some(-4));
    }

    #[test]
    fn rounding_at_the_limits_is_checked() {
        assert_eq!(round_half_even(1, 0), None);
        assert_eq!(round_half_even(i128::MIN, -1), None);
        assert_eq!(round_half_even(1, i128::MIN), None);
        assert_eq!(round_half_even(i128::MAX, 1), None);
        assert_eq!(round_half_even(i128::MAX, i128::MAX), Some(1));
        assert_eq!(round_half_even(i128::MAX - 1, i128::MAX), Some(1));
        assert_eq!(round_half_even(i128::MIN, i128::MAX), Some(-1));
        assert_eq!(round_half_even(i128::from(i64::MAX), 1), Some(i64::MAX));
        assert_eq!(round_half_even(i128::from(i64::MIN), 1), Some(i64::MIN));
        assert_eq!(round_half_even(i128::from(i64::MAX) + 1, 1), None);
    }

    #[test]
    fn extreme_prices_and_counts_never_panic() {
        let answers = [
            VwAnswer {
                too_cheap: 1,
                cheap: 2,
                expensive: i64::MAX - 1,
                too_expensive: i64::MAX,
            },
            VwAnswer {
                too_cheap: i64::MAX - 3,
                cheap: i64::MAX - 2,
                expensive: i64::MAX - 1,
                too_expensive: i64::MAX,
            },
        ];
        let result = van_westendorp(&VwTally::from_answers(&answers));
        assert_eq!(result.valid_responses, 2);
        // Counts at the top of i64 saturate instead of overflowing.
        let tally = VwTally {
            too_cheap: counts(&[(1, i64::MAX), (2, i64::MAX)]),
            cheap: counts(&[(3, i64::MAX), (4, i64::MAX)]),
            expensive: counts(&[(i64::MAX - 1, i64::MAX)]),
            too_expensive: counts(&[(i64::MAX, i64::MAX)]),
        };
        assert_eq!(tally.responses(), i64::MAX);
        van_westendorp(&tally);
        let (rows, winner) = choice(
            &[1, i64::MAX],
            &counts(&[(1, i64::MAX), (i64::MAX, i64::MAX)]),
        );
        assert_eq!(rows[0].share.total, i64::MAX);
        assert_eq!(winner, Some(1));
        let highest: BTreeMap<Option<i64>, i64> = [
            (Some(i64::MAX), i64::MAX),
            (Some(1), i64::MAX),
            (None, i64::MAX),
        ]
        .into_iter()
        .collect();
        let (rows, best) = gabor_granger(&[1, i64::MAX], &highest);
        assert_eq!(best, Some(i64::MAX));
        assert!(rows.iter().all(|row| row.revenue_index() >= 0));
        let row = GgRow {
            price: i64::MAX,
            buyers: i64::MAX,
            ballots: 1,
        };
        assert_eq!(row.revenue_index(), i64::MAX);
        let row = GgRow {
            price: i64::MIN,
            buyers: i64::MAX,
            ballots: 1,
        };
        assert_eq!(row.revenue_index(), i64::MIN);
    }

    // Two respondents: (1, 2, 3, 4) and (2, 3, 4, 5) in whole units (minor digits 0).
    // Grid 1..5. tooCheap(p) = #{tc > p}: 1,0,0,0,0 → counts out of 2: [1,0,0,0,0]
    // cheap: #{c > p}: [2,1,0,0,0]; notCheap: [0,1,2,2,2]
    // expensive: #{e ≤ p}: [0,0,1,2,2]; notExpensive: [2,2,1,0,0]
    // tooExpensive: #{te ≤ p}: [0,0,0,1,2]
    #[test]
    fn van_westendorp_on_a_hand_worked_case() {
        let answers = [
            VwAnswer {
                too_cheap: 1,
                cheap: 2,
                expensive: 3,
                too_expensive: 4,
            },
            VwAnswer {
                too_cheap: 2,
                cheap: 3,
                expensive: 4,
                too_expensive: 5,
            },
        ];
        let result = van_westendorp(&VwTally::from_answers(&answers));
        // tooCheap − notCheap: [1, −1, …] crosses between 1 and 2: x = 1 − 1·1/(−2) = 1.5 → 2.
        assert_eq!(result.marginal_cheapness, Some(2));
        // tooCheap − tooExpensive: [1, 0, 0, −1, −2]: 1→0 between 1 and 2 at x = 2 exactly.
        assert_eq!(result.optimal_price, Some(2));
        // cheap − expensive: [2, 1, −1, …]: between 2 and 3: x = 2 − 1·1/(−2) = 2.5 → 2 (even).
        assert_eq!(result.indifference_price, Some(2));
        // tooExpensive − notExpensive: [−2, −2, −1, 1, 2]: between 3 and 4: 3 + 1/2 = 3.5 → 4.
        assert_eq!(result.marginal_expensiveness, Some(4));
        assert_eq!(result.valid_responses, 2);
    }

    #[test]
    fn invalid_answers_are_dropped_and_no_crossing_is_null() {
        let answers = [
            VwAnswer {
                too_cheap: 5,
                cheap: 4,
                expensive: 6,
                too_expensive: 7,
            },
            VwAnswer {
                too_cheap: 0,
                cheap: 1,
                expensive: 2,
                too_expensive: 3,
            },
        ];
        let tally = VwTally::from_answers(&answers);
        assert_eq!(tally.responses(), 0);
        assert_eq!(van_westendorp(&tally), VwResult::default());
        // One respondent: tooCheap − tooExpensive over grid [100, 200, 300, 400] is
        // [0, 0, 0, −1]: 0 → −1 is a sign change, at x = 300 − 0 = 300 (a grid point).
        let one = [VwAnswer {
            too_cheap: 100,
            cheap: 200,
            expensive: 300,
            too_expensive: 400,
        }];
        let result = van_westendorp(&VwTally::from_answers(&one));
        assert_eq!(result.optimal_price, Some(300));
    }

    #[test]
    fn gabor_granger_counts_buyers_below_their_highest_price() {
        let highest: BTreeMap<Option<i64>, i64> = [(Some(100), 1), (Some(300), 2), (None, 1)]
            .into_iter()
            .collect();
        let (rows, best) = gabor_granger(&[100, 200, 300], &highest);
        assert_eq!(rows.iter().map(|r| r.buyers).collect::<Vec<_>>(), [3, 2, 2]);
        // Revenue: 100·3 = 300, 200·2 = 400, 300·2 = 600 (÷ 4 ballots).
        assert_eq!(best, Some(300));
        assert_eq!(rows[0].revenue_index(), 75);
        // A tie between 100·2 and 200·1 keeps the lower price.
        let tie: BTreeMap<Option<i64>, i64> =
            [(Some(100), 1), (Some(200), 1)].into_iter().collect();
        assert_eq!(gabor_granger(&[100, 200], &tie).1, Some(100));
    }
}
