//! Dates and durations as the farm dialect shows them: `26 окт 2020 15:24:55` in the reading
//! user's time zone, and Russian relative phrases (`3 минуты назад`, `3 дня`).
//!
//! Written here because the phrases follow Django's Russian locale, which no Rust crate
//! reproduces (the month abbreviations and the three plural forms).

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Django's Russian abbreviated month names (`MONTHS_3`).
pub const MONTHS_RU: [&str; 12] = [
    "янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек",
];

/// Unix seconds as `DD MMM YYYY HH:mm:ss` in `tz`.
pub fn format(unix_seconds: i64, tz: Tz) -> String {
    let utc = DateTime::<Utc>::from_timestamp(unix_seconds, 0).unwrap_or_default();
    let local = utc.with_timezone(&tz);
    let month = MONTHS_RU[local.format("%m").to_string().parse::<usize>().unwrap_or(1) - 1];
    format!(
        "{} {} {}",
        local.format("%d"),
        month,
        local.format("%Y %H:%M:%S")
    )
}

/// Reads a date-time sent by a client: the API's own Russian form, RFC 3339 / ISO 8601 with an
/// offset, or a naive ISO form (`2020-10-26 15:24:55`, `2020-10-26T15:24`, `2020-10-26`) taken
/// in `tz`. Returns unix seconds.
pub fn parse(text: &str, tz: Tz) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Ok(dt.timestamp());
    }
    let naive = parse_russian(text).or_else(|| {
        const FORMATS: [&str; 4] = [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
        ];
        FORMATS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
    });
    let Some(naive) = naive else {
        return Err(format!(
            "\"{text}\" is not a date-time; use \"DD MMM YYYY HH:mm:ss\" (e.g. \"26 окт 2020 15:24:55\") or ISO 8601."
        ));
    };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(dt.timestamp()),
        LocalResult::Ambiguous(earliest, _) => Ok(earliest.timestamp()),
        LocalResult::None => Err(format!("\"{text}\" does not exist in time zone {tz}.")),
    }
}

fn parse_russian(text: &str) -> Option<NaiveDateTime> {
    let mut parts = text.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month_text = parts.next()?.to_lowercase();
    let month = MONTHS_RU
        .iter()
        .position(|m| month_text.starts_with(m) || (month_text == "мая" && *m == "май"))?
        as u32
        + 1;
    let year: i32 = parts.next()?.parse().ok()?;
    let time = parts.next().unwrap_or("00:00:00");
    if parts.next().is_some() {
        return None;
    }
    let mut hms = time.split(':').map(|p| p.parse::<u32>());
    let hour = hms.next()?.ok()?;
    let minute = hms.next().unwrap_or(Ok(0)).ok()?;
    let second = hms.next().unwrap_or(Ok(0)).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(hour, minute, second)
}

/// Russian plural form index: 0 for 1/21/31…, 1 for 2–4/22–24…, 2 for the rest.
fn plural_form(n: i64) -> usize {
    let n = n.abs();
    if n % 10 == 1 && n % 100 != 11 {
        0
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        1
    } else {
        2
    }
}

struct Unit {
    seconds: i64,
    /// Nominative forms ("3 дня") for durations.
    nominative: [&'static str; 3],
    /// Accusative forms ("3 минуты назад", "1 минуту назад") for relative times.
    accusative: [&'static str; 3],
}

const UNITS: [Unit; 7] = [
    Unit {
        seconds: 365 * 86_400,
        nominative: ["год", "года", "лет"],
        accusative: ["год", "года", "лет"],
    },
    Unit {
        seconds: 30 * 86_400,
        nominative: ["месяц", "месяца", "месяцев"],
        accusative: ["месяц", "месяца", "месяцев"],
    },
    Unit {
        seconds: 7 * 86_400,
        nominative: ["неделя", "недели", "недель"],
        accusative: ["неделю", "недели", "недель"],
    },
    Unit {
        seconds: 86_400,
        nominative: ["день", "дня", "дней"],
        accusative: ["день", "дня", "дней"],
    },
    Unit {
        seconds: 3_600,
        nominative: ["час", "часа", "часов"],
        accusative: ["час", "часа", "часов"],
    },
    Unit {
        seconds: 60,
        nominative: ["минута", "минуты", "минут"],
        accusative: ["минуту", "минуты", "минут"],
    },
    Unit {
        seconds: 1,
        nominative: ["секунда", "секунды", "секунд"],
        accusative: ["секунду", "секунды", "секунд"],
    },
];

fn largest_unit(seconds: i64) -> (i64, &'static Unit) {
    let seconds = seconds.max(0);
    for unit in &UNITS {
        if seconds >= unit.seconds {
            return (seconds / unit.seconds, unit);
        }
    }
    (0, &UNITS[UNITS.len() - 1])
}

/// A duration in its largest whole unit: `3 дня`, `1 час`, `0 секунд`.
pub fn humanize_duration(seconds: i64) -> String {
    let (count, unit) = largest_unit(seconds);
    format!("{count} {}", unit.nominative[plural_form(count)])
}

/// How long ago something happened: `3 минуты назад`; `сейчас` under a second; a moment in
/// the future reads `через 3 минуты`.
pub fn humanize_ago(seconds_ago: i64) -> String {
    if seconds_ago == 0 {
        return "сейчас".to_string();
    }
    let (count, unit) = largest_unit(seconds_ago.abs());
    let word = unit.accusative[plural_form(count)];
    if seconds_ago > 0 {
        format!("{count} {word} назад")
    } else {
        format!("через {count} {word}")
    }
}

/// Current unix time in seconds.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_seed() {
        // 2020-10-26 12:24:55 UTC is 15:24:55 in Moscow.
        let ts = 1_603_715_095;
        assert_eq!(
            format(ts, chrono_tz::Europe::Moscow),
            "26 окт 2020 15:24:55"
        );
        assert_eq!(
            parse("26 окт 2020 15:24:55", chrono_tz::Europe::Moscow),
            Ok(ts)
        );
        assert_eq!(parse("2020-10-26T12:24:55Z", chrono_tz::UTC), Ok(ts));
        assert_eq!(
            parse("2020-10-26 15:24:55", chrono_tz::Europe::Moscow),
            Ok(ts)
        );
        assert!(parse("yesterday", chrono_tz::UTC).is_err());
        assert!(parse("32 окт 2020 15:24:55", chrono_tz::UTC).is_err());
    }

    #[test]
    fn plural_forms() {
        assert_eq!(humanize_ago(180), "3 минуты назад");
        assert_eq!(humanize_ago(60), "1 минуту назад");
        assert_eq!(humanize_ago(11 * 60), "11 минут назад");
        assert_eq!(humanize_ago(21 * 3600), "21 час назад");
        assert_eq!(humanize_ago(-120), "через 2 минуты");
        assert_eq!(humanize_duration(74_327), "20 часов");
        assert_eq!(humanize_duration(3 * 86_400 + 5), "3 дня");
        assert_eq!(humanize_duration(5 * 86_400), "5 дней");
        assert_eq!(humanize_duration(60), "1 минута");
        assert_eq!(humanize_duration(0), "0 секунд");
    }
}
