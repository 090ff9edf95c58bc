//! Checks shared by every service that takes text from a caller: trimming, length in
//! characters, control characters, and LIKE patterns that match literally.

use crate::error::{AppError, AppResult};

/// Trims `value` and checks its length in characters and that it has no control characters
/// but line breaks and tabs. Shared by every service that takes user text.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, true)
}

/// Like [`text`], for a single line (titles, names): no line breaks either.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, false)
}

fn checked(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> AppResult<String> {
    let value = value.trim().to_string();
    let len = value.chars().count();
    if len < min || len > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be {min}–{max} characters"),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\t' | '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(value)
}

/// Escapes `%`, `_` and `\` so user input in a LIKE pattern matches literally.
pub fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
