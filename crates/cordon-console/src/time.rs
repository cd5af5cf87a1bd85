//! Times as officers read them: UK local time (Europe/London), and ages.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The console's time zone: UK time, with British Summer Time.
static LONDON: LazyLock<TimeZone> =
    LazyLock::new(|| TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC));

/// The timestamp of `seconds` (Unix), clamped into jiff's range.
fn timestamp(seconds: u64) -> Timestamp {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    Timestamp::from_second(seconds).unwrap_or(Timestamp::MAX)
}

/// `seconds` (Unix) as UK date and time, e.g. "Mon 3 Mar 2025, 14:05".
pub(crate) fn format(seconds: u64) -> String {
    timestamp(seconds)
        .to_zoned(LONDON.clone())
        .strftime("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// The UK calendar date of `seconds` (Unix).
pub(crate) fn date_of(seconds: u64) -> Date {
    timestamp(seconds).to_zoned(LONDON.clone()).date()
}

/// The Unix seconds at which UK date `date` begins (midnight, or the first
/// moment of the day where a clock change skips midnight).
pub(crate) fn day_start(date: Date) -> u64 {
    date.to_zoned(LONDON.clone())
        .map(|z| u64::try_from(z.timestamp().as_second()).unwrap_or(0))
        .unwrap_or(0)
}

/// The Unix seconds at which the UK day after `date` begins.
pub(crate) fn day_end(date: Date) -> u64 {
    match date.tomorrow() {
        Ok(next) => day_start(next),
        Err(_) => u64::MAX,
    }
}

/// A short label for a day in a chart, e.g. "Mon 3 Mar".
pub(crate) fn day_label(date: Date) -> String {
    date.strftime("%a %-d %b").to_string()
}

/// How long `seconds` is, in words: "under a minute", "5 minutes",
/// "3 hours 10 minutes", "2 days 4 hours".
pub(crate) fn age(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
    );
    if days > 0 {
        if hours > 0 {
            format!("{} {}", plural(days, "day"), plural(hours, "hour"))
        } else {
            plural(days, "day")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{} {}", plural(hours, "hour"), plural(minutes, "minute"))
        } else {
            plural(hours, "hour")
        }
    } else if minutes > 0 {
        plural(minutes, "minute")
    } else {
        "under a minute".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_uk_time_with_summer_time() {
        // 2025-01-15 12:00 UTC is 12:00 GMT; 2025-07-15 12:00 UTC is 13:00 BST.
        assert_eq!(format(1_736_942_400), "Wed 15 Jan 2025, 12:00");
        assert_eq!(format(1_752_580_800), "Tue 15 Jul 2025, 13:00");
        // Out of range does not panic.
        let _ = format(u64::MAX);
        let _ = date_of(u64::MAX);
    }

    #[test]
    fn days_follow_the_uk_calendar() {
        let date: Date = "2025-07-15".parse().unwrap();
        // Midnight BST is 23:00 UTC the day before.
        assert_eq!(day_start(date), 1_752_534_000);
        assert_eq!(day_end(date), 1_752_534_000 + 86_400);
        assert_eq!(date_of(1_752_534_000), date);
        assert_eq!(date_of(1_752_533_999), date.yesterday().unwrap());
        assert_eq!(day_label(date), "Tue 15 Jul");
        // The spring-forward day is 23 hours long.
        let spring: Date = "2025-03-30".parse().unwrap();
        assert_eq!(day_end(spring) - day_start(spring), 23 * 3_600);
    }

    #[test]
    fn ages_read_as_words() {
        assert_eq!(age(0), "under a minute");
        assert_eq!(age(60), "1 minute");
        assert_eq!(age(3_600 + 600), "1 hour 10 minutes");
        assert_eq!(age(7_200), "2 hours");
        assert_eq!(age(2 * 86_400 + 4 * 3_600 + 59), "2 days 4 hours");
        assert_eq!(age(86_400), "1 day");
    }
}
