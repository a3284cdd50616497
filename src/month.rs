//! A calendar month in UTC, as AWS bills: what the monthly path budget counts and `cfinv cost`
//! reads.

use std::time::SystemTime;

/// A calendar month in UTC: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    pub start: SystemTime,
    pub end: SystemTime,
    label: String,
}

impl Month {
    /// The month `t` is in.
    pub fn containing(t: SystemTime) -> Month {
        let text = humantime::format_rfc3339_seconds(t).to_string();
        Month::parse(&text[..7]).expect("an RFC 3339 time starts with its month")
    }

    /// `YYYY-MM`, as `--month` takes it (the form of the AWS billing console and Cost Explorer).
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || format!("{text:?} is not a month: give YYYY-MM, e.g. 2026-01");
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(bad());
        }
        let (y, m): (u32, u32) = (year.parse().map_err(|_| bad())?, month.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&m) || y < 1970 {
            return Err(bad());
        }
        let (next_y, next_m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let at = |y: u32, m: u32| humantime::parse_rfc3339(&format!("{y:04}-{m:02}-01T00:00:00Z")).map_err(|_| bad());
        Ok(Month { start: at(y, m)?, end: at(next_y, next_m)?, label: format!("{y:04}-{m:02}") })
    }

    /// `YYYY-MM`.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn contains(&self, t: SystemTime) -> bool {
        self.start <= t && t < self.end
    }
}
