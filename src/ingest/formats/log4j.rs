//! Java logging layouts of log4j and logback: `2023-10-15 15:00:01,123 ERROR [main] com.acme.Foo
//! - message` (pattern `%d %p [%t] %c - %m`), `... [main] ERROR com.acme.Foo - message` (logback's
//! default), and Kafka's `[2016-12-19 20:39:48,918] WARN message (logger)`. Stack traces
//! (`at ...`, `Caused by:`, `... N more`) and multi-line messages join the record above.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, Multiline, append_continuation};
use crate::event::{Event, Severity, SourceKind};

pub struct Log4j;

static BRACKETED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[,.]\d{3})\] (?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL) (?P<msg>.*?)(?: \((?P<logger>[\w.$-]+)\))?$",
    )
    .expect("static regex")
});

static PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}[,.]\d{3}(?:Z|[+-]\d{2}:?\d{2})?)\s+(?:\[(?P<thread1>[^\]]+)\]\s+)?(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+(?:\[(?P<thread2>[^\]]+)\]\s+)?(?:(?P<logger>[A-Za-z_][\w.$]*)(?::\d+)?\s+-\s+)?(?P<msg>.*)$",
    )
    .expect("static regex")
});

impl LineFormat for Log4j {
    fn name(&self) -> &'static str {
        "log4j"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        "2023-10-15 15:00:01,204 ERROR [http-nio-8080-exec-7] com.acme.auth.LoginService - login failed: org.postgresql.util.PSQLException: ERROR: relation \"sessions\" does not exist"
    }

    fn fields(&self) -> &'static str {
        "time (no zone: --assume-tz), level, thread, logger, message; stack traces joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        if line.starts_with('[') {
            return if BRACKETED.is_match(line) { 92 } else { 0 };
        }
        match PATTERN.captures(line) {
            Some(c)
                if c.name("logger").is_some()
                    || c.name("thread1").is_some()
                    || c.name("thread2").is_some() =>
            {
                90
            }
            Some(_) => 70,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = BRACKETED.captures(line).or_else(|| PATTERN.captures(line)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a log4j/logback line"));
        };
        let time = match cx.iso(&c["time"]) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(format!("unreadable time: {e}"))),
        };
        let severity = Severity::from_word(&c["level"]).unwrap_or_default();
        let mut event = Event::new(time, SourceKind::App, severity, c["msg"].to_string());
        if let Some(thread) = c.name("thread1").or(c.name("thread2")) {
            event
                .attrs
                .push(("thread".to_string(), thread.as_str().to_string()));
        }
        if let Some(logger) = c.name("logger") {
            event
                .attrs
                .push(("logger".to_string(), logger.as_str().to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "stack", line);
    }

    fn multiline(&self) -> Multiline {
        Multiline::AnyLine
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["log4j", "logback", "server.log", "catalina", "kafka"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn layouts() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            Log4j.parse(Log4j.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].attr("logger"), Some("com.acme.auth.LoginService"));
        assert_eq!(out[0].attr("thread"), Some("http-nio-8080-exec-7"));
        assert_eq!(format_utc(out[0].time), "2023-10-15T15:00:01.204Z");
        let logback =
            "2023-10-15 15:00:02.001 [main] WARN  c.a.auth.Pool - connection pool exhausted";
        assert!(Log4j.sniff(logback) >= 90);
        Log4j.parse(logback, &mut cx, &mut out);
        assert_eq!(out[1].severity, Severity::Warn);
        assert_eq!(out[1].message, "connection pool exhausted");
        let kafka = "[2023-10-15 15:00:03,500] ERROR [ReplicaFetcher replicaId=1] Error in response for fetch request (kafka.server.ReplicaFetcherThread)";
        assert!(Log4j.sniff(kafka) > 90);
        Log4j.parse(kafka, &mut cx, &mut out);
        assert_eq!(
            out[2].attr("logger"),
            Some("kafka.server.ReplicaFetcherThread")
        );
        assert_eq!(out[2].severity, Severity::Error);
    }
}
