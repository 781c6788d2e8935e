//! `--notes FILE`: a responder's own timeline lines (`15:20 rolled back deploy 2031`), written in
//! the report's zone, merged into the timeline. The file is read and checked before the analysis
//! (so a bad path fails at once); the date of a line that gives only a time is inferred from the
//! incident once the analysis has found it.

use std::path::Path;

use chrono::{Days, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::event::{NS_PER_SEC, TimeNs};
use crate::time::in_zone;
use crate::timeline::TimelineEntry;

/// Longest note kept; a runaway line is cut (the report clips long text anyway).
const MAX_NOTE_CHARS: usize = 500;

/// A notes file, parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotesFile {
    /// As given on the command line.
    pub path: String,
    pub lines: Vec<NoteLine>,
    /// Lines that are neither a note, a comment nor blank.
    pub problems: Vec<NoteProblem>,
}

/// One timeline line written by a person.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteLine {
    /// 1-based line number in the file.
    pub line: u64,
    /// The date when the line gives one; else it is inferred from the incident.
    pub date: Option<NaiveDate>,
    pub time: NaiveTime,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteProblem {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "--notes {path}: cannot read the notes file: {source}; give a readable text file with lines like `15:20 rolled back deploy 2031`"
)]
pub struct NotesError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// Reads and parses a notes file. Invalid UTF-8 is replaced, not fatal: the lines still count.
pub fn read(path: &Path) -> Result<NotesFile, NotesError> {
    let bytes = std::fs::read(path).map_err(|source| NotesError {
        path: path.display().to_string(),
        source,
    })?;
    Ok(parse(
        &path.display().to_string(),
        &String::from_utf8_lossy(&bytes),
    ))
}

/// Parses the text of a notes file. Accepted, one per line:
/// `15:20 text`, `15:20:05 text`, `3:20 PM text`, `2023-10-15 15:20 text`, `2023-10-15T15:20 text`,
/// each optionally after a list marker (`- `, `* `) and with a separator after the time
/// (`15:20 - text`, `15:20: text`, `15:20 | text`). Blank lines and `#` comments are skipped.
pub fn parse(path: &str, text: &str) -> NotesFile {
    let mut notes = NotesFile {
        path: path.to_string(),
        ..NotesFile::default()
    };
    for (index, raw) in text.lines().enumerate() {
        let line = index as u64 + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed) {
            Ok((date, time, text)) => notes.lines.push(NoteLine {
                line,
                date,
                time,
                text: clip(text, MAX_NOTE_CHARS),
            }),
            Err(message) => notes.problems.push(NoteProblem { line, message }),
        }
    }
    notes
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

type Parsed<'a> = (Option<NaiveDate>, NaiveTime, &'a str);

fn parse_line(line: &str) -> Result<Parsed<'_>, String> {
    let mut rest = line;
    for marker in ["- ", "* ", "+ "] {
        if let Some(r) = rest.strip_prefix(marker) {
            rest = r.trim_start();
            break;
        }
    }
    let mut date = None;
    if rest.len() >= 10
        && rest.is_char_boundary(10)
        && rest.as_bytes()[4] == b'-'
        && rest.as_bytes()[7] == b'-'
    {
        let d = NaiveDate::parse_from_str(&rest[..10], "%Y-%m-%d")
            .map_err(|_| format!("{:?} is not a date (use YYYY-MM-DD)", &rest[..10]))?;
        date = Some(d);
        rest = rest[10..].trim_start_matches(['T', ' ']);
    }
    let clock_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let clock = &rest[..clock_len];
    if !clock.contains(':') {
        return Err(
            "expected a time at the start of the line, like `15:20 rolled back deploy 2031`"
                .to_string(),
        );
    }
    let mut time = parse_clock(clock)?;
    rest = rest[clock_len..].trim_start();
    // A 12-hour clock: `3:20 PM`.
    for (suffix, pm) in [("AM", false), ("PM", true), ("am", false), ("pm", true)] {
        if let Some(r) = rest.strip_prefix(suffix)
            && r.chars().next().is_none_or(|c| !c.is_alphanumeric())
        {
            let hour = chrono::Timelike::hour(&time);
            if !(1..=12).contains(&hour) {
                return Err(format!("{clock} {suffix} is not a 12-hour time"));
            }
            let hour24 = (hour % 12) + if pm { 12 } else { 0 };
            time = chrono::Timelike::with_hour(&time, hour24)
                .ok_or_else(|| format!("{clock} {suffix} is not a time of day"))?;
            rest = r.trim_start();
            break;
        }
    }
    for separator in ["—", "–", "-", "|", ":"] {
        if let Some(r) = rest.strip_prefix(separator) {
            rest = r.trim_start();
            break;
        }
    }
    let text = rest.trim();
    if text.is_empty() {
        return Err(format!("{clock}: a time but no text"));
    }
    Ok((date, time, text))
}

fn parse_clock(clock: &str) -> Result<NaiveTime, String> {
    let formats: &[&str] = match clock.matches(':').count() {
        1 => &["%H:%M"],
        _ => &["%H:%M:%S%.f", "%H:%M:%S"],
    };
    formats
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(clock, f).ok())
        .ok_or_else(|| format!("{clock:?} is not a time of day (use HH:MM or HH:MM:SS)"))
}

impl NotesFile {
    /// Timeline entries for the notes, in `tz`. A line without a date takes the date that puts it
    /// nearest to `around` (the outage window, else the span of the logs): a note at 00:10 about
    /// an outage from 23:30 to 00:30 belongs to the second day.
    pub fn entries(&self, tz: Tz, around: (TimeNs, TimeNs)) -> Vec<TimelineEntry> {
        let (start, end) = (around.0.min(around.1), around.0.max(around.1));
        let distance = |t: TimeNs| {
            if t < start {
                start - t
            } else if t > end {
                t - end
            } else {
                0
            }
        };
        let mut days: Vec<NaiveDate> = Vec::new();
        for anchor in [start, end] {
            let day = in_zone(anchor, tz).date_naive();
            for d in [
                day.checked_sub_days(Days::new(1)),
                Some(day),
                day.checked_add_days(Days::new(1)),
            ]
            .into_iter()
            .flatten()
            {
                if !days.contains(&d) {
                    days.push(d);
                }
            }
        }
        days.sort();
        self.lines
            .iter()
            .filter_map(|note| {
                let candidates: Vec<NaiveDate> = match note.date {
                    Some(d) => vec![d],
                    None => days.clone(),
                };
                let time = candidates
                    .iter()
                    .filter_map(|d| local_instant(tz, *d, note.time))
                    .min_by_key(|t| (distance(*t), *t))?;
                Some(TimelineEntry {
                    time,
                    kind: "note",
                    origin: None,
                    text: note.text.clone(),
                    source: Some(format!("{}:{}", self.path, note.line)),
                    ..TimelineEntry::default()
                })
            })
            .collect()
    }
}

/// A wall-clock time on a local date as UTC nanoseconds; in a DST gap, the time an hour later.
fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> Option<TimeNs> {
    let wall = date.and_time(time);
    let local = tz.from_local_datetime(&wall).earliest().or_else(|| {
        tz.from_local_datetime(&(wall + chrono::Duration::hours(1)))
            .earliest()
    })?;
    let seconds = local.timestamp();
    let nanos = i64::from(local.timestamp_subsec_nanos());
    seconds.checked_mul(NS_PER_SEC)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> TimeNs {
        New_York
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .map(|t| t.timestamp() * NS_PER_SEC)
            .unwrap_or_default()
    }

    #[test]
    fn parses_the_usual_shapes_and_reports_bad_lines() {
        let text = "# our notes\n\n15:20 rolled back deploy 2031\n- 15:21:30 - checked dashboards\n3:40 PM: paged DBA\n2023-10-15 16:00 | status page updated\nlunch\n25:61 impossible\n16:10\n";
        let notes = parse("notes.txt", text);
        let got: Vec<(u64, String, &str)> = notes
            .lines
            .iter()
            .map(|n| {
                (
                    n.line,
                    n.time.format("%H:%M:%S").to_string(),
                    n.text.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "15:20:00".to_string(), "rolled back deploy 2031"),
                (4, "15:21:30".to_string(), "checked dashboards"),
                (5, "15:40:00".to_string(), "paged DBA"),
                (6, "16:00:00".to_string(), "status page updated"),
            ]
        );
        assert_eq!(notes.lines[3].date, NaiveDate::from_ymd_opt(2023, 10, 15));
        let bad: Vec<u64> = notes.problems.iter().map(|p| p.line).collect();
        assert_eq!(bad, vec![7, 8, 9]);
        assert!(notes.problems[0].message.contains("expected a time"));
        assert!(notes.problems[1].message.contains("not a time of day"));
        assert!(notes.problems[2].message.contains("no text"));
    }

    #[test]
    fn dates_are_inferred_from_the_incident() {
        let notes = parse(
            "n.txt",
            "15:20 rolled back\n00:10 recovered\n23:50 first page\n",
        );
        // An outage from 23:30 to 00:30 across midnight, New York time.
        let around = (ny(2023, 10, 15, 23, 30), ny(2023, 10, 16, 0, 30));
        let entries = notes.entries(New_York, around);
        // 15:20 on the first day is 8 h before the outage, on the second 15 h after it.
        assert_eq!(entries[0].time, ny(2023, 10, 15, 15, 20));
        assert_eq!(entries[1].time, ny(2023, 10, 16, 0, 10));
        assert_eq!(entries[2].time, ny(2023, 10, 15, 23, 50));
        assert_eq!(entries[1].source.as_deref(), Some("n.txt:2"));
        assert_eq!(entries[1].kind, "note");
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for line in [
            "\u{202E}12:00 x",
            "12:",
            ":",
            "9999-99-99 12:00 x",
            "é5:00 x",
            "12:00 AM",
        ] {
            let _ = parse("n", line);
        }
        let notes = parse("n", "12:00 AM midnight\n12:30 pm half past noon");
        assert_eq!(
            notes.lines[0].time,
            NaiveTime::from_hms_opt(0, 0, 0).unwrap()
        );
        assert_eq!(
            notes.lines[1].time,
            NaiveTime::from_hms_opt(12, 30, 0).unwrap()
        );
    }
}
