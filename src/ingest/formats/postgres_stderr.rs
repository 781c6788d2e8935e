//! PostgreSQL's stderr log: `log_line_prefix` (time with zone, pid, ...) then `LEVEL:  message`;
//! DETAIL/HINT/QUERY/CONTEXT/LOCATION/STATEMENT lines join the message before them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{LineFormat, LineOutcome, ParseContext, append_continuation};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_iso;

pub struct PostgresStderr;

/// A prefix that starts with `%m` or `%t` (time, optional zone), then whatever else the prefix
/// holds (`[%p]`, `%u@%d`, `%c`, ...), then the level and two spaces.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z][A-Za-z0-9/_+-]*| [+-]\d{2}(?::?\d{2})?)?) (?P<prefix>.*?)(?P<level>DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):  (?P<message>.*)$",
    )
    .expect("static regex")
});

static PID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(\d+)(?:-\d+)?\]").expect("static regex"));
static USER_DB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s\[])(?:user=)?(?P<user>[A-Za-z_][\w$-]*)(?:@|,db=)(?P<db>[A-Za-z_][\w$-]*)",
    )
    .expect("static regex")
});

fn is_continuation_level(level: &str) -> bool {
    matches!(
        level,
        "DETAIL" | "HINT" | "QUERY" | "CONTEXT" | "LOCATION" | "STATEMENT"
    )
}

fn severity_of(level: &str) -> Severity {
    match level {
        "ERROR" => Severity::Error,
        "FATAL" | "PANIC" => Severity::Fatal,
        "WARNING" => Severity::Warn,
        l if l.starts_with("DEBUG") => Severity::Debug,
        _ => Severity::Info,
    }
}

impl LineFormat for PostgresStderr {
    fn name(&self) -> &'static str {
        "postgres-stderr"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "2023-10-15 14:59:50.123 EDT [48213] LOG:  statement: DROP TABLE sessions;"
    }

    fn fields(&self) -> &'static str {
        "time (zone abbreviation or offset), pid, user@db, level, message; DETAIL/HINT/STATEMENT... joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if parse_iso(&c["time"], &Default::default()).is_ok() => 90,
            Some(_) => 60,
            None => 0,
        }
    }

    fn parse(&self, line: &str, ctx: &ParseContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no PostgreSQL log_line_prefix"));
        };
        let level = &c["level"];
        if is_continuation_level(level) {
            return LineOutcome::Continuation;
        }
        let time = match parse_iso(&c["time"], &ctx.time) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let mut event = Event::new(
            time,
            SourceKind::Db,
            severity_of(level),
            c["message"].to_string(),
        );
        event.service = Some("postgresql".to_string());
        let prefix = &c["prefix"];
        if let Some(pid) = PID.captures(prefix) {
            event.attrs.push(("pid".to_string(), pid[1].to_string()));
        }
        if let Some(ud) = USER_DB.captures(prefix) {
            event.user = Some(ud["user"].to_string());
            event
                .attrs
                .push(("database".to_string(), ud["db"].to_string()));
        }
        event.attrs.push(("level".to_string(), level.to_string()));
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        match LINE.captures(line) {
            Some(c) if is_continuation_level(&c["level"]) => {
                let key = c["level"].to_ascii_lowercase();
                append_continuation(event, &key, &c["message"]);
            }
            _ => append_continuation(event, "continuation", line.trim()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_utc;

    fn parse(line: &str) -> (LineOutcome, Vec<Event>) {
        let mut out = Vec::new();
        let o = PostgresStderr.parse(line, &ParseContext::default(), &mut out);
        (o, out)
    }

    #[test]
    fn statement_line_with_zone_abbreviation() {
        let (o, events) =
            parse("2023-10-15 14:59:50.123 EDT [48213] LOG:  statement: DROP TABLE sessions;");
        assert_eq!(o, LineOutcome::Parsed);
        let e = &events[0];
        assert_eq!(format_utc(e.time), "2023-10-15T18:59:50.123Z");
        assert_eq!(e.message, "statement: DROP TABLE sessions;");
        assert_eq!(e.attr("pid"), Some("48213"));
        assert_eq!(e.severity, Severity::Info);
    }

    #[test]
    fn error_then_statement_continuation() {
        let (_, events) = parse(
            "2023-10-15 15:00:01.002 EDT [48301] ERROR:  relation \"sessions\" does not exist at character 31",
        );
        let mut e = events[0].clone();
        assert_eq!(e.severity, Severity::Error);
        let cont = "2023-10-15 15:00:01.002 EDT [48301] STATEMENT:  SELECT user_id FROM sessions WHERE token = $1";
        assert_eq!(parse(cont).0, LineOutcome::Continuation);
        PostgresStderr.join(&mut e, cont);
        assert_eq!(
            e.attr("statement"),
            Some("SELECT user_id FROM sessions WHERE token = $1")
        );
    }

    #[test]
    fn prefix_with_user_and_database() {
        let (_, events) = parse(
            "2025-08-16 13:02:58 CEST [885178-1] app@shop FATAL:  password authentication failed for user \"app\"",
        );
        let e = &events[0];
        assert_eq!(e.severity, Severity::Fatal);
        assert_eq!(e.user.as_deref(), Some("app"));
        assert_eq!(e.attr("database"), Some("shop"));
        assert_eq!(format_utc(e.time), "2025-08-16T11:02:58Z");
    }

    #[test]
    fn other_text_is_not_postgres() {
        assert_eq!(PostgresStderr.sniff("\tpages: 0 removed, 1234 remain"), 0);
        assert_eq!(PostgresStderr.sniff(r#"{"level":"info"}"#), 0);
    }
}
