//! MySQL / MariaDB general query log: `Time Id Command Argument`, tab separated
//! (`2023-10-15T19:00:01.204131Z\t   12 Query\tDROP TABLE sessions`; before 5.7 `231015 19:00:01`,
//! and lines of the same second leave the time out). Statements spanning lines join their record.

use std::borrow::Cow;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::mysql_slow::is_preamble;
use super::{FileContext, LineFormat, LineOutcome, Multiline, append_continuation, strip_port};
use crate::event::{Event, Severity, SourceKind, TimeNs};
use crate::time::parse_clock;

pub struct MysqlGeneral;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?P<short>\d{6})\s+(?P<clock>\d{1,2}:\d{2}:\d{2}))?\t\s*(?P<id>\d+) (?P<command>[A-Z][A-Za-z ]*?)\t(?P<arg>.*)$",
    )
    .expect("static regex")
});

/// `user@host on db using TCP/IP` of a Connect line.
static CONNECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<user>[^@\s]+)@(?P<host>\S+)(?: on (?P<db>\S*))?").expect("static regex")
});

fn time_of(c: &regex::Captures<'_>, cx: &mut FileContext) -> Option<TimeNs> {
    if let Some(iso) = c.name("iso") {
        return cx.iso(iso.as_str()).ok();
    }
    match (c.name("short"), c.name("clock")) {
        (Some(short), Some(clock)) => {
            let d = short.as_str();
            let date = NaiveDate::from_ymd_opt(
                2000 + d.get(..2)?.parse::<i32>().ok()?,
                d.get(2..4)?.parse().ok()?,
                d.get(4..)?.parse().ok()?,
            )?;
            let clock = parse_clock(&format!("{:0>8}", clock.as_str()))?;
            cx.local(&date.and_time(clock)).ok()
        }
        // Same second as the line before.
        _ => cx.last_time,
    }
}

impl LineFormat for MysqlGeneral {
    /// Not cut into chunks: a line without a time takes the time of the line before.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "mysql-general"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "2023-10-15T18:59:50.123456Z\t   88 Query\tDROP TABLE sessions"
    }

    fn fields(&self) -> &'static str {
        "time (or the line before's), connection id, command, statement; user, client and database of Connect lines"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if c.name("iso").is_some() || c.name("short").is_some() => 92,
            Some(_) => 70,
            None if is_preamble(line) => 80,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            if is_preamble(line) {
                return LineOutcome::Parsed;
            }
            return LineOutcome::Unparsed(Cow::Borrowed("not a general query log line"));
        };
        let Some(time) = time_of(&c, cx) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let command = c["command"].trim();
        let arg = &c["arg"];
        let message = match command {
            "Query" | "Execute" => arg.to_string(),
            _ if arg.is_empty() => command.to_string(),
            _ => format!("{command} {arg}"),
        };
        let mut event = Event::new(time, SourceKind::Db, Severity::Info, message);
        event.service = Some("mysql".to_string());
        if command == "Connect"
            && let Some(m) = CONNECT.captures(arg)
        {
            event.user = Some(m["user"].to_string());
            event.client = Some(strip_port(&m["host"]).to_string());
            if let Some(db) = m.name("db").filter(|d| !d.as_str().is_empty()) {
                event
                    .attrs
                    .push(("database".to_string(), db.as_str().to_string()));
            }
        }
        event
            .attrs
            .push(("connection".to_string(), c["id"].to_string()));
        event
            .attrs
            .push(("command".to_string(), command.to_string()));
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "statement", line);
    }

    fn multiline(&self) -> Multiline {
        Multiline::AnyLine
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["general", "mysql", "query"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn queries_connects_and_timeless_lines() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert!(MysqlGeneral.sniff(MysqlGeneral.example()) > 90);
        assert_eq!(
            MysqlGeneral.parse(MysqlGeneral.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].message, "DROP TABLE sessions");
        assert_eq!(format_utc(out[0].time), "2023-10-15T18:59:50.123Z");
        cx.last_time = Some(out[0].time);
        let connect = "231015 18:59:51\t   89 Connect\tapp@10.0.3.7 on auth using TCP/IP";
        MysqlGeneral.parse(connect, &mut cx, &mut out);
        assert_eq!(out[1].user.as_deref(), Some("app"));
        assert_eq!(out[1].client.as_deref(), Some("10.0.3.7"));
        assert_eq!(out[1].attr("database"), Some("auth"));
        cx.last_time = Some(out[1].time);
        MysqlGeneral.parse("\t\t   89 Query\tSELECT 1", &mut cx, &mut out);
        assert_eq!(format_utc(out[2].time), "2023-10-15T18:59:51Z");
    }
}
