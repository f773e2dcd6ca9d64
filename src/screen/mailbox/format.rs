//! How dates, sizes and addresses read in the mailbox. Dates are shown in one fixed
//! time zone taken at start (tests fix it, so snapshots do not depend on the machine).

use crate::i18n::{tr, tr_args};
use chrono::{DateTime, FixedOffset, Local, Offset, Utc};
use tern_core::store::Address;

/// Formats dates relative to "now" in one time zone.
#[derive(Clone, Copy, Debug)]
pub struct Dates {
    now: DateTime<FixedOffset>,
}

impl Dates {
    /// Now, in the machine's time zone.
    pub fn local() -> Dates {
        let now = Local::now();
        let offset = now.offset().fix();
        Dates {
            now: now.with_timezone(&offset),
        }
    }

    /// A fixed "now" (unix seconds) and zone (seconds east of UTC), for tests.
    pub fn fixed(now: i64, east: i32) -> Dates {
        let offset = FixedOffset::east_opt(east).unwrap_or(Utc.fix());
        let now = DateTime::from_timestamp(now, 0)
            .unwrap_or_default()
            .with_timezone(&offset);
        Dates { now }
    }

    fn at(&self, ts: i64) -> Option<DateTime<FixedOffset>> {
        Some(DateTime::from_timestamp(ts, 0)?.with_timezone(&self.now.timezone()))
    }

    /// For the list: the time today, else the date.
    pub fn short(&self, ts: i64) -> String {
        let Some(t) = self.at(ts) else {
            return String::new();
        };
        if t.date_naive() == self.now.date_naive() {
            t.format("%H:%M").to_string()
        } else {
            t.format("%Y-%m-%d").to_string()
        }
    }

    /// For the reader: date and time.
    pub fn long(&self, ts: i64) -> String {
        self.at(ts)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    }
}

/// A size in B, KB or MB.
pub fn size(bytes: u64) -> String {
    const KB: u64 = 1024;
    if bytes < KB {
        tr_args("size-bytes", &[("n", bytes.into())])
    } else if bytes < KB * KB {
        tr_args("size-kb", &[("n", bytes.div_ceil(KB).into())])
    } else {
        let tenths = bytes * 10 / (KB * KB);
        tr_args(
            "size-mb",
            &[("n", format!("{}.{}", tenths / 10, tenths % 10).into())],
        )
    }
}

/// A sender as the list shows it: the name, else the address.
pub fn sender(from: &[Address]) -> String {
    match from.first() {
        Some(a) => a
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&a.email)
            .to_string(),
        None => tr("no-sender"),
    }
}

/// An address in full: `Name <address>`, or the address.
pub fn mailbox(name: Option<&str>, email: &str) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n} <{email}>"),
        None => email.to_string(),
    }
}

/// A subject, or the translated "(no subject)"; cut to what a row can show.
pub fn subject(subject: &str, max_chars: usize) -> String {
    let s = subject.trim();
    if s.is_empty() {
        return tr("no-subject");
    }
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_time_today_and_date_before() {
        // 2024-03-05 12:00 UTC, in UTC+1.
        let d = Dates::fixed(1_709_640_000, 3600);
        assert_eq!(d.short(1_709_640_000 - 3600), "12:00");
        assert_eq!(d.short(1_709_640_000 - 86_400), "2024-03-04");
        assert_eq!(d.long(1_709_640_000), "2024-03-05 13:00");
    }

    #[test]
    fn sizes_and_subjects() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(2048), "2 KB");
        assert_eq!(size(3 * 1024 * 1024 + 200_000), "3.1 MB");
        assert_eq!(subject("  ", 10), "(no subject)");
        assert_eq!(subject("abcdef", 3), "abc…");
    }
}
