//! Redis server log: `pid:role DD Mon YYYY HH:MM:SS.mmm level message` (role X/C/S/M, level
//! `.` debug, `-` verbose, `*` notice, `#` warning), and the year-less `[pid] DD Mon HH:MM:SS`
//! of Redis 2.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, severity_from_text};
use crate::event::{Event, Severity, SourceKind};
use crate::time::{YearlessTime, month_number, parse_clock};

pub struct Redis;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?P<pid>\d+):(?P<role>[XCSM])|\[(?P<oldpid>\d+)\]) (?P<day>\d{1,2}) (?P<mon>[A-Z][a-z]{2}) (?:(?P<year>\d{4}) )?(?P<clock>\d{2}:\d{2}:\d{2}(?:\.\d+)?) (?P<level>[.\-*#]) (?P<msg>.*)$",
    )
    .expect("static regex")
});

fn role_name(role: &str) -> &'static str {
    match role {
        "M" => "master",
        "S" => "replica",
        "C" => "child",
        _ => "sentinel",
    }
}

impl LineFormat for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "7:M 15 Oct 2023 19:00:01.204 # Error trying to save the DB, can't exit."
    }

    fn fields(&self) -> &'static str {
        "time, pid, role, level (escalated by the message's words: `#` is also used for fatal errors), message"
    }

    fn sniff(&self, line: &str) -> u8 {
        if LINE.is_match(line) { 93 } else { 0 }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a Redis log line"));
        };
        let (Some(month), Ok(day), Some(clock)) = (
            month_number(&c["mon"]),
            c["day"].parse::<u32>(),
            parse_clock(&c["clock"]),
        ) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let time = match c.name("year").and_then(|y| y.as_str().parse::<i32>().ok()) {
            Some(year) => NaiveDate::from_ymd_opt(year, month, day)
                .ok_or(crate::time::TimeError::Malformed)
                .and_then(|d| cx.local(&d.and_time(clock))),
            None => cx.yearless(&YearlessTime {
                month,
                day,
                time: clock,
            }),
        };
        let time = match time {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let message = &c["msg"];
        let level = match &c["level"] {
            "." | "-" => Severity::Debug,
            "*" => Severity::Info,
            _ => Severity::Warn,
        };
        // Redis logs its fatal errors at warning level: the words say more.
        let severity = level.max(severity_from_text(message));
        let mut event = Event::new(time, SourceKind::Db, severity, message.to_string());
        event.service = Some("redis".to_string());
        if let Some(pid) = c.name("pid").or(c.name("oldpid")) {
            event
                .attrs
                .push(("pid".to_string(), pid.as_str().to_string()));
        }
        if let Some(role) = c.name("role") {
            event
                .attrs
                .push(("role".to_string(), role_name(role.as_str()).to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn needs_anchor(&self) -> bool {
        // Redis 2 wrote no year.
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["redis"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    #[test]
    fn modern_and_old_lines() {
        let mut cx = FileContext::new(ParseContext {
            anchor: Some(parse_iso("2023-11-01T00:00:00Z", &Default::default()).unwrap()),
            ..ParseContext::default()
        });
        let mut out = Vec::new();
        assert_eq!(
            Redis.parse(Redis.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].attr("role"), Some("master"));
        Redis.parse(
            "[4120] 15 Oct 19:00:05 * DB saved on disk",
            &mut cx,
            &mut out,
        );
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:00:05Z");
        assert_eq!(out[1].severity, Severity::Info);
        assert!(
            Redis.sniff("1:S 15 Oct 2023 19:00:01.204 * Connecting to MASTER 10.0.0.5:6379") > 90
        );
    }
}
