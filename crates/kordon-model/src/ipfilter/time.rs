//! `expires_time`: `YYYY-MM-DD HH:mm` in the server's configured time zone. kordon also reads
//! seconds (`YYYY-MM-DD HH:mm:ss`), a `T` separator and RFC 3339 with an offset; replies use
//! the document's form, to the minute.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The document's form.
pub const FORMAT: &str = "%Y-%m-%d %H:%M";

/// The latest `expires_time` accepted: the end of year 9999.
pub const LATEST: i64 = 253_402_300_799;

/// Reads an `expires_time` in `tz` to unix seconds.
pub fn parse(text: &str, tz: Tz) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Ok(moment.timestamp());
    }
    const FORMATS: [&str; 4] = [
        FORMAT,
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ];
    let Some(naive) = FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    else {
        return Err(format!(
            "\"{text}\" is not a date-time; use \"YYYY-MM-DD HH:mm\" (e.g. \"2064-05-15 16:00\")."
        ));
    };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(moment) => Ok(moment.timestamp()),
        LocalResult::Ambiguous(earliest, _) => Ok(earliest.timestamp()),
        LocalResult::None => Err(format!("\"{text}\" does not exist in time zone {tz}.")),
    }
}

/// Unix seconds as `YYYY-MM-DD HH:mm` in `tz`.
pub fn format(unix_seconds: i64, tz: Tz) -> String {
    DateTime::<Utc>::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .format(FORMAT)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_document_form() {
        let moscow = chrono_tz::Europe::Moscow;
        let at = parse("2064-05-15 16:00", moscow).unwrap();
        assert_eq!(format(at, moscow), "2064-05-15 16:00");
        assert_eq!(format(at, chrono_tz::UTC), "2064-05-15 13:00");
        assert_eq!(parse("2064-05-15 16:00:30", moscow), Ok(at + 30));
        assert_eq!(parse("2064-05-15T13:00:00Z", moscow), Ok(at));
        assert!(parse("15.05.2064 16:00", moscow).is_err());
        assert!(parse("2064-13-15 16:00", moscow).is_err());
        assert!(parse("", moscow).is_err());
    }
}
