//! Finance exports: `GET /exports/revenue-shares.csv` as CSV, one row per revenue-share record
//! (reversals included), oldest first. `http.rs` hands over the query parameters; they are
//! checked here, the rows come from the revenue-shares service page by page, and the body
//! streams, so an export of any size holds one page in memory.

use chrono::{DateTime, Utc};
use entity::revenue_share_record::Status;
use futures_util::Stream;
use sea_orm::ActiveEnum;
use serde::Deserialize;

use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageRequest};
use crate::services::money::amount_of;
use crate::services::revenue_shares::{self, ExportRow, RecordFilter};
use crate::state::AppState;

/// The columns of the revenue-share export, in order.
pub const REVENUE_SHARE_COLUMNS: [&str; 19] = [
    "id",
    "created_at",
    "status",
    "beneficiary_id",
    "beneficiary_handle",
    "amount",
    "currency",
    "reward_id",
    "suggestion_id",
    "product_line",
    "sales_report_id",
    "external_id",
    "period_start",
    "period_end",
    "approved_at",
    "paid_at",
    "payout_reference",
    "reversal_of",
    "void_reason",
];

/// Records fetched per page of the stream.
const PAGE_ROWS: i32 = 100;

/// The query parameters of the export, as they arrive.
#[derive(Debug, Default, Deserialize)]
pub struct ExportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
}

/// The filter of `?from=&to=&status=` (RFC 3339 times, `from` inclusive, `to` exclusive, a
/// status name); anything else is BAD_USER_INPUT naming the parameter.
pub fn revenue_share_filter(params: ExportParams) -> AppResult<RecordFilter> {
    let time = |field: &str, value: Option<String>| -> AppResult<Option<DateTime<Utc>>> {
        value
            .filter(|v| !v.is_empty())
            .map(|v| {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| AppError::bad_input(field, "expected an RFC 3339 time"))
            })
            .transpose()
    };
    let status = match params.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("PENDING") => Some(Status::Pending),
        Some("APPROVED") => Some(Status::Approved),
        Some("PAID") => Some(Status::Paid),
        Some("VOIDED") => Some(Status::Voided),
        Some(_) => {
            return Err(AppError::bad_input(
                "status",
                "expected PENDING, APPROVED, PAID or VOIDED",
            ));
        }
    };
    let filter = RecordFilter {
        beneficiary_id: None,
        status,
        from: time("from", params.from)?,
        to: time("to", params.to)?,
    };
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to <= from
    {
        return Err(AppError::bad_input("to", "to must be after from"));
    }
    Ok(filter)
}

/// The CSV body: the header and the first page are read before this returns (so a caller who
/// is not an ADMIN gets an error, not an empty file); later pages are read as the body streams.
pub async fn revenue_shares_csv(
    state: AppState,
    viewer: Viewer,
    filter: RecordFilter,
) -> AppResult<impl Stream<Item = AppResult<Vec<u8>>>> {
    let first = revenue_shares::export_page(
        &state,
        &viewer,
        filter.clone(),
        &PageRequest::new(Some(PAGE_ROWS), None)?,
    )
    .await?;
    let mut head = csv_line(&REVENUE_SHARE_COLUMNS.map(String::from))?;
    let next = next_cursor(&first);
    for (_, row) in &first.items {
        head.extend(csv_line(&fields(row))?);
    }
    let start = futures_util::stream::once(async move { Ok(head) });
    let rest = futures_util::stream::unfold(
        (state, viewer, filter, next),
        |(state, viewer, filter, cursor)| async move {
            let cursor = cursor?;
            let page = match PageRequest::new(Some(PAGE_ROWS), Some(cursor)) {
                Ok(page) => page,
                Err(err) => return Some((Err(err), (state, viewer, filter, None))),
            };
            match revenue_shares::export_page(&state, &viewer, filter.clone(), &page).await {
                Ok(page) => {
                    let next = next_cursor(&page);
                    let mut chunk = Vec::new();
                    for (_, row) in &page.items {
                        match csv_line(&fields(row)) {
                            Ok(line) => chunk.extend(line),
                            Err(err) => return Some((Err(err), (state, viewer, filter, None))),
                        }
                    }
                    Some((Ok(chunk), (state, viewer, filter, next)))
                }
                Err(err) => Some((Err(err), (state, viewer, filter, None))),
            }
        },
    );
    Ok(futures_util::StreamExt::chain(start, rest))
}

/// Where the next page starts: the cursor of the last row, when there is more.
fn next_cursor(page: &Page<ExportRow>) -> Option<String> {
    if !page.has_next_page {
        return None;
    }
    page.items.last().map(|(cursor, _)| cursor.clone())
}

fn csv_line(fields: &[String]) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(AppError::internal)?;
    writer.into_inner().map_err(AppError::internal)
}

/// Text from users or partners that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`,
/// a tab or a carriage return first) gets a leading `'`, so finance sees it as text.
fn neutralized(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The cells of one record; every free-text cell is [`neutralized`] (ids, times, statuses and
/// amounts are ours, and an amount may rightly start with `-`).
fn fields(row: &ExportRow) -> Vec<String> {
    let record = &row.record;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    vec![
        record.id.to_string(),
        record.created_at.to_rfc3339(),
        record.status.to_value(),
        record.beneficiary_id.to_string(),
        neutralized(&row.beneficiary_handle),
        amount_of(record.amount_minor, &record.currency).to_string(),
        record.currency.clone(),
        record.reward_id.to_string(),
        row.reward
            .as_ref()
            .map(|r| r.suggestion_id.to_string())
            .unwrap_or_default(),
        row.reward
            .as_ref()
            .map(|r| neutralized(&r.product_line))
            .unwrap_or_default(),
        record.sales_report_id.to_string(),
        row.report
            .as_ref()
            .map(|r| neutralized(&r.external_id))
            .unwrap_or_default(),
        time(row.report.as_ref().map(|r| r.period_start)),
        time(row.report.as_ref().map(|r| r.period_end)),
        time(record.approved_at),
        time(record.paid_at),
        neutralized(record.payout_reference.as_deref().unwrap_or_default()),
        record
            .reversal_of
            .map(|id| id.to_string())
            .unwrap_or_default(),
        neutralized(record.void_reason.as_deref().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_validated() {
        let params = |from: Option<&str>, to: Option<&str>, status: Option<&str>| ExportParams {
            from: from.map(String::from),
            to: to.map(String::from),
            status: status.map(String::from),
        };
        let filter =
            revenue_share_filter(params(Some("2026-01-01T00:00:00Z"), None, Some("PAID"))).unwrap();
        assert_eq!(filter.status, Some(Status::Paid));
        assert!(filter.from.is_some() && filter.to.is_none());
        let all = revenue_share_filter(ExportParams::default()).unwrap();
        assert!(all.status.is_none());
        for bad in [
            params(None, None, Some("paid")),
            params(Some("yesterday"), None, None),
            params(None, Some("2026-01-01"), None),
            params(
                Some("2026-02-01T00:00:00Z"),
                Some("2026-01-01T00:00:00Z"),
                None,
            ),
        ] {
            let err = revenue_share_filter(bad).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn text_that_a_spreadsheet_would_run_is_made_text() {
        for formula in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralized(formula), format!("'{formula}"));
        }
        assert_eq!(neutralized("phones"), "phones");
        assert_eq!(neutralized(""), "");
    }

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        let line = csv_line(&["a,b".into(), "say \"hi\"".into(), "plain".into()]).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "\"a,b\",\"say \"\"hi\"\"\",plain\n"
        );
    }
}
