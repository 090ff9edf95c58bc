//! Checks shared by every service that takes text from a caller: trimming, length in
//! characters, which characters a text may hold, and LIKE patterns that match literally.
//!
//! # Which Unicode a text may hold
//!
//! Canyu keeps what people write — every script, emoji with their joiners, variation selectors
//! and tag sequences, combining marks, right-to-left text with its marks — and refuses only what
//! hides or disguises text:
//!
//! - **Control characters** (general category Cc: NUL, ESC, DEL, the C1 controls) are refused
//!   everywhere, except line feed, carriage return and tab in multi-line [`text`] (bodies,
//!   descriptions, notes, reasons).
//! - **A single [`line`]** (titles, names, product names and lines, references) refuses line
//!   breaks — those controls, and U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR — and the
//!   bidirectional embedding, override and isolate controls U+202A–U+202E and U+2066–U+2069,
//!   which reorder whatever follows them where the line is shown (a list, a notification, a
//!   page title). The bidi marks U+200E, U+200F and U+061C stay: they reorder nothing beyond
//!   themselves, and right-to-left writers need them. Multi-line text keeps the bidi controls
//!   too: it is shown as a block of its own.
//! - **Invisible text is empty.** Whitespace (Unicode `White_Space`), format characters
//!   (general category Cf: zero-width space and joiners, U+FEFF, U+2060, the bidi marks and
//!   controls, tag characters) and the fillers that render as nothing (Hangul fillers U+115F,
//!   U+1160, U+3164, U+FFA0; combining grapheme joiner U+034F; variation selectors; Mongolian
//!   free variation selectors; Khmer U+17B4, U+17B5; U+2800 BRAILLE PATTERN BLANK) are
//!   invisible. The minimum length counts visible characters only, so zero-width characters
//!   cannot pass for a title's three characters; the maximum counts every character. A value
//!   with no visible character at all is refused where something is required, and stored as
//!   `""` where it is optional.
//! - Leading and trailing whitespace is trimmed; nothing else is changed (no normalization).
//!
//! Handles are stricter still: ASCII `a-z`, `0-9` and `_` (`users::normalize_handle`).

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::{AppError, AppResult};

/// Trims `value` and checks it as multi-line text: `min`–`max` characters (the minimum counted
/// in visible characters), no control characters but line breaks and tabs. Shared by every
/// service that takes user text.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, true)
}

/// Like [`text`], for a single line (titles, names): no line breaks and no bidi embedding,
/// override or isolate controls either.
pub fn line(field: &str, value: &str, min: usize, max: usize) -> AppResult<String> {
    checked(field, value, min, max, false)
}

/// Whether `c` shows nothing: whitespace, a format character, or a filler that renders as
/// nothing (see the module docs).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.general_category() == GeneralCategory::Format
        || matches!(
            c,
            '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FFA0}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// The bidirectional embedding, override and isolate controls (LRE, RLE, PDF, LRO, RLO, LRI,
/// RLI, FSI, PDI).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn checked(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> AppResult<String> {
    let value = value.trim();
    let allowed = |c: char| multiline && matches!(c, '\n' | '\t' | '\r');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not contain control characters"),
        ));
    }
    if !multiline {
        if value.chars().any(|c| matches!(c, '\u{2028}' | '\u{2029}')) {
            return Err(AppError::bad_input(
                field,
                format!("{field} must be a single line"),
            ));
        }
        if value.chars().any(is_bidi_control) {
            return Err(AppError::bad_input(
                field,
                format!("{field} must not contain bidirectional override or isolate controls"),
            ));
        }
    }
    let len = value.chars().count();
    let visible = value.chars().filter(|c| !is_invisible(*c)).count();
    if visible == 0 && min > 0 {
        return Err(AppError::bad_input(
            field,
            format!("{field} must not be blank"),
        ));
    }
    if visible < min || len > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} must be {min}–{max} characters"),
        ));
    }
    Ok(if visible == 0 {
        String::new()
    } else {
        value.to_string()
    })
}

/// Escapes `%`, `_` and `\` so user input in a LIKE pattern matches literally.
pub fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: AppResult<String>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(err) => err.code(),
        }
    }

    #[test]
    fn lines_refuse_controls_breaks_and_bidi_overrides() {
        for bad in [
            "nul\u{0}",
            "esc\u{1B}[31m",
            "del\u{7F}",
            "c1\u{85}nel",
            "two\nlines",
            "tab\there",
            "one\u{2028}two",
            "one\u{2029}two",
            "\u{202E}evil",
            "\u{202A}lre",
            "\u{202B}rle",
            "\u{202C}pdf",
            "\u{202D}lro",
            "\u{2066}lri",
            "\u{2067}rli",
            "\u{2068}fsi",
            "pdi\u{2069}",
        ] {
            assert_eq!(
                code(line("title", bad, 1, 200)),
                "BAD_USER_INPUT",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn text_keeps_line_breaks_tabs_and_bidi_controls() {
        let body = "first\r\n\tsecond\u{2028}third \u{2067}אבג\u{2069} \u{202E}x";
        assert_eq!(text("body", body, 1, 100).unwrap(), body);
        assert_eq!(code(text("body", "nul\u{0}", 0, 100)), "BAD_USER_INPUT");
        assert_eq!(code(text("body", "bell\u{7}", 0, 100)), "BAD_USER_INPUT");
    }

    #[test]
    fn invisible_only_values_are_blank() {
        for blank in [
            "\u{200B}\u{200B}\u{200B}",
            "\u{FEFF}\u{2060}\u{200D}\u{200C}",
            " \u{3164}\u{3164} ",
            "\u{115F}\u{1160}\u{FFA0}",
            "\u{2800}\u{2800}\u{2800}",
            "\u{200E}\u{200F}\u{061C}",
            "\u{FE0F}\u{FE0F}\u{034F}",
            "\u{E0041}\u{E0042}\u{E007F}",
            "\u{00AD}\u{180E}\u{2061}",
            " \t\u{3000}\u{00A0}",
        ] {
            let refused = line("title", blank, 3, 200).unwrap_err();
            assert_eq!(refused.code(), "BAD_USER_INPUT", "{blank:?}");
            assert!(
                refused.to_string().contains("blank"),
                "{blank:?}: {refused}"
            );
            assert_eq!(code(text("body", blank, 1, 100)), "BAD_USER_INPUT");
            // Optional: stored as nothing, not as invisible characters.
            assert_eq!(line("productLine", blank, 0, 100).unwrap(), "");
            assert_eq!(text("description", blank, 0, 100).unwrap(), "");
        }
    }

    #[test]
    fn the_minimum_counts_visible_characters_and_the_maximum_all() {
        assert_eq!(
            code(line("title", "ab\u{200B}\u{200B}", 3, 200)),
            "BAD_USER_INPUT"
        );
        assert_eq!(line("title", "abc\u{200B}", 3, 200).unwrap(), "abc\u{200B}");
        assert_eq!(code(line("title", "abc\u{200B}", 3, 3)), "BAD_USER_INPUT");
        assert_eq!(line("title", "  abc  ", 3, 3).unwrap(), "abc");
        // Characters, not bytes.
        let cjk = "字".repeat(200);
        assert_eq!(line("title", &cjk, 3, 200).unwrap(), cjk);
        assert_eq!(
            code(line("title", &"字".repeat(201), 3, 200)),
            "BAD_USER_INPUT"
        );
        assert_eq!(
            code(line("title", &"x".repeat(60_000), 3, 200)),
            "BAD_USER_INPUT"
        );
    }

    #[test]
    fn what_people_write_is_kept() {
        for kept in [
            "Emoji \u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{2764}\u{FE0F} and a flag \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
            "中文标题 and 日本語 and 한국어",
            "Z\u{0351}\u{0354}a\u{0303}l\u{0305}g\u{0306}o",
            "\u{0301}\u{0302}\u{0303}",
            "עברית \u{200F}mark",
            "العربية\u{061C} text",
            "soft\u{00AD}hyphen",
            "Persian می\u{200C}خواهم",
        ] {
            assert_eq!(line("title", kept, 3, 200).unwrap(), kept, "{kept:?}");
        }
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
