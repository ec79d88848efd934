//! Durations as operators write them in flags and people read them in messages, the same
//! for every service: a whole number with a unit, `d` (days), `h` (hours), `m` (minutes)
//! or `s` (seconds, for drills and tests), or a bare whole number in the flag's own unit
//! (`14` for a window in days, `24` for an SLA in hours), so the values flags took before
//! they had units still mean what they meant.
//! Pairs such as complaint SLAs and promised windows are `<first>/<second>`.

/// The unit a bare number is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Days,
    Hours,
    Minutes,
    Seconds,
}

/// `text` as a non-negative duration (see the module docs); `None` if it is not one.
pub fn parse(text: &str, bare: Unit) -> Option<chrono::Duration> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (at, 'd') => (&text[..at], Unit::Days),
        (at, 'h') => (&text[..at], Unit::Hours),
        (at, 'm') => (&text[..at], Unit::Minutes),
        (at, 's') => (&text[..at], Unit::Seconds),
        _ => (text, bare),
    };
    let number = number.trim();
    if number.is_empty() || !number.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let number = number.parse::<i64>().ok()?;
    match unit {
        Unit::Days => chrono::Duration::try_days(number),
        Unit::Hours => chrono::Duration::try_hours(number),
        Unit::Minutes => chrono::Duration::try_minutes(number),
        Unit::Seconds => chrono::Duration::try_seconds(number),
    }
}

/// `<first>/<second>`, each as [`parse`] reads it.
pub fn parse_pair(text: &str, bare: Unit) -> Option<(chrono::Duration, chrono::Duration)> {
    let (first, second) = text.split_once('/')?;
    Some((parse(first, bare)?, parse(second, bare)?))
}

/// A duration for people and error messages: `14d`, `36h`, `90m`, `30s` (the largest unit
/// it is a whole number of).
pub fn display(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds();
    match seconds {
        0 => "0s".to_owned(),
        _ if seconds % 86_400 == 0 => format!("{}d", seconds / 86_400),
        _ if seconds % 3_600 == 0 => format!("{}h", seconds / 3_600),
        _ if seconds % 60 == 0 => format!("{}m", seconds / 60),
        _ => format!("{seconds}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_bare_number_is_in_the_flags_own_unit_and_a_suffix_names_another() {
        assert_eq!(parse("14", Unit::Days), Some(Duration::days(14)));
        assert_eq!(parse("24", Unit::Hours), Some(Duration::hours(24)));
        assert_eq!(parse("36h", Unit::Days), Some(Duration::hours(36)));
        assert_eq!(parse(" 90m ", Unit::Hours), Some(Duration::minutes(90)));
        assert_eq!(parse("30s", Unit::Days), Some(Duration::seconds(30)));
        assert_eq!(parse("2d", Unit::Hours), Some(Duration::days(2)));
        assert_eq!(parse("0", Unit::Hours), Some(Duration::zero()));
    }

    #[test]
    fn anything_else_is_not_a_duration() {
        for text in ["", "h", "-1", "-1h", "1.5h", "1w", "ten", "1 h 2", "99999999999999999999d"] {
            assert_eq!(parse(text, Unit::Hours), None, "{text:?}");
        }
        assert_eq!(parse_pair("8/48", Unit::Hours), Some((Duration::hours(8), Duration::hours(48))));
        assert_eq!(parse_pair("8", Unit::Hours), None);
    }

    #[test]
    fn durations_read_back_in_their_largest_whole_unit() {
        assert_eq!(display(Duration::days(14)), "14d");
        assert_eq!(display(Duration::hours(36)), "36h");
        assert_eq!(display(Duration::minutes(90)), "90m");
        assert_eq!(display(Duration::seconds(45)), "45s");
    }
}
