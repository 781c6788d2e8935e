//! Apache httpd error log: `[Sun Dec 04 04:47:44 2005] [error] message` (2.0/2.2, with
//! `[client addr]`) and `[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328]
//! [client 72.15.99.187:49134] AH00135: message` (2.4). Local time, no zone.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, strip_port};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_ctime;

pub struct ApacheError;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] \[(?:(?P<module>[\w-]+):)?(?P<level>emerg|alert|crit|error|warn|notice|info|debug|trace\d)\](?: \[pid (?P<pid>\d+)(?::tid \d+)?\])?(?: \[(?:client|remote) (?P<client>[^\]]+)\])? ?(?P<msg>.*)$",
    )
    .expect("static regex")
});

fn severity_of(level: &str) -> Severity {
    match level {
        "emerg" | "alert" | "crit" => Severity::Fatal,
        "error" => Severity::Error,
        "warn" => Severity::Warn,
        "notice" | "info" => Severity::Info,
        _ => Severity::Debug,
    }
}

impl LineFormat for ApacheError {
    fn name(&self) -> &'static str {
        "apache-error"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        "[Sun Oct 15 15:00:01.204131 2023] [proxy:error] [pid 2211:tid 139872] [client 203.0.113.7:51544] AH00940: HTTP: disabled connection for (10.0.2.15)"
    }

    fn fields(&self) -> &'static str {
        "time (local), module, level, pid, client, message"
    }

    fn sniff(&self, line: &str) -> u8 {
        if line.starts_with('[') && LINE.is_match(line) {
            94
        } else {
            0
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not an Apache error log line"));
        };
        let Some(time) = parse_ctime(&c["time"]).and_then(|n| cx.local(&n).ok()) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let mut event = Event::new(
            time,
            SourceKind::Web,
            severity_of(&c["level"]),
            c["msg"].to_string(),
        );
        event.client = c.name("client").map(|m| strip_port(m.as_str()).to_string());
        for key in ["module", "pid"] {
            if let Some(m) = c.name(key) {
                event.attrs.push((key.to_string(), m.as_str().to_string()));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["error", "apache", "httpd"]
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
            ApacheError.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        out.remove(0)
    }

    #[test]
    fn versions() {
        let e = parse(ApacheError.example());
        assert_eq!(format_utc(e.time), "2023-10-15T15:00:01.204Z");
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.attr("module"), Some("proxy"));
        assert_eq!(e.severity, Severity::Error);
        let e = parse(
            "[Sun Oct 15 15:00:01 2023] [error] [client 198.51.100.4] File does not exist: /var/www/favicon.ico",
        );
        assert_eq!(e.client.as_deref(), Some("198.51.100.4"));
        let e = parse(
            "[Mon Oct  2 08:00:00 2023] [notice] Apache/2.2.22 configured -- resuming normal operations",
        );
        assert_eq!(format_utc(e.time), "2023-10-02T08:00:00Z");
        assert_eq!(ApacheError.sniff("[2023-10-15 15:00:01,123] WARN x"), 0);
    }
}
