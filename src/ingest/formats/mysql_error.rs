//! MySQL and MariaDB error logs: `2020-08-06T14:25:02.835618Z 0 [Warning] [MY-010068] [Server] ...`
//! (8.0), `... 0 [Note] ...` (5.7), `2023-10-15 15:00:01 0 [ERROR] ...` (MariaDB) and the older
//! `231015 15:00:01 [Note] ...`.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_clock;

pub struct MysqlError;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?P<iso>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)|(?P<short>\d{6}) +(?P<clock>\d{1,2}:\d{2}:\d{2}))\s+(?:(?P<thread>\d+)\s+)?\[(?P<level>Note|Warning|Error|System|ERROR|WARNING|NOTE|Warn|Info)\](?: \[(?P<code>MY-\d+)\])?(?: \[(?P<subsystem>[A-Za-z]+)\])? (?P<msg>.*)$",
    )
    .expect("static regex")
});

fn severity_of(level: &str) -> Severity {
    match level.to_ascii_lowercase().as_str() {
        "error" => Severity::Error,
        "warning" | "warn" => Severity::Warn,
        _ => Severity::Info,
    }
}

impl LineFormat for MysqlError {
    fn name(&self) -> &'static str {
        "mysql-error"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "2023-10-15T19:00:01.204131Z 17 [ERROR] [MY-013183] [InnoDB] Assertion failure: ibuf0ibuf.cc:3833:ib::fatal triggered thread 140113"
    }

    fn fields(&self) -> &'static str {
        "time (UTC `Z` or local), thread, level (Note/Warning/Error/System), error code, subsystem, message"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if c.name("code").is_some() => 95,
            Some(_) => 88,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a MySQL error log line"));
        };
        let time = match (c.name("iso"), c.name("short"), c.name("clock")) {
            (Some(iso), _, _) => cx.iso(iso.as_str()).ok(),
            // YYMMDD H:MM:SS, local time.
            (None, Some(short), Some(clock)) => {
                let d = short.as_str();
                let date = NaiveDate::from_ymd_opt(
                    2000 + d[..2].parse::<i32>().unwrap_or(0),
                    d[2..4].parse().unwrap_or(0),
                    d[4..].parse().unwrap_or(0),
                );
                let padded = format!("{:0>8}", clock.as_str());
                date.zip(parse_clock(&padded))
                    .and_then(|(d, t)| cx.local(&d.and_time(t)).ok())
            }
            _ => None,
        };
        let Some(time) = time else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let level = &c["level"];
        let mut event = Event::new(
            time,
            SourceKind::Db,
            severity_of(level),
            c["msg"].to_string(),
        );
        event.service = Some("mysql".to_string());
        for (key, group) in [
            ("thread", "thread"),
            ("code", "code"),
            ("subsystem", "subsystem"),
        ] {
            if let Some(m) = c.name(group) {
                event.attrs.push((key.to_string(), m.as_str().to_string()));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["mysql", "mariadb", "mysqld", "error"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    fn parse(line: &str) -> Event {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            MysqlError.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed,
            "{line}"
        );
        out.remove(0)
    }

    #[test]
    fn versions() {
        let e = parse(MysqlError.example());
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.attr("code"), Some("MY-013183"));
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        let e =
            parse("2023-10-15T19:00:01.000000Z 0 [Warning] Changed limits: max_open_files: 1024");
        assert_eq!(e.severity, Severity::Warn);
        let e =
            parse("2023-10-15 15:00:01 0 [ERROR] mysqld: Table 'sessions' is marked as crashed");
        assert_eq!(e.severity, Severity::Error);
        let e = parse("231015  9:05:12 [Note] Event Scheduler: Loaded 0 events");
        assert_eq!(format_utc(e.time), "2023-10-15T09:05:12Z");
        assert!(MysqlError.sniff(MysqlError.example()) > 90);
        assert_eq!(MysqlError.sniff("2023-10-15 15:00:01,123 ERROR x"), 0);
    }
}
