//! BSD syslog (RFC 3164) as `/var/log/messages` and rsyslog write it:
//! `[<PRI>]Mmm dd HH:MM:SS host tag[pid]: message`, or with an RFC 3339 time instead. The
//! classic time has no year: it comes from the other inputs or the file's modification time,
//! rolling over at New Year.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, severity_from_text};
use crate::event::{Event, Severity, SourceKind, TimeNs};
use crate::time::{TimeError, parse_syslog_date};

pub struct Syslog;

/// The header: priority, time (classic or RFC 3339), host; then the rest.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:<(?P<pri>\d{1,3})>)?(?:(?P<classic>[A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2}(?:\.\d+)?)|(?P<iso>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)) +(?P<host>\S+) (?P<rest>.*)$",
    )
    .expect("static regex")
});

/// `tag[pid]: message` (the tag may hold parentheses, dots, slashes: `sshd(pam_unix)[42]:`).
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>[^\]]*)\])?: ?(?P<msg>.*)$")
        .expect("static regex")
});

/// Who and from where, in authentication messages (`Failed password for root from 203.0.113.9`,
/// PAM's `rhost=203.0.113.9 user=root`).
static AUTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:for (?:invalid user )?(?P<user>[\w.@-]+) from (?P<from>[0-9a-fA-F.:]+))|(?:rhost=(?P<rhost>\S+)(?:\s+user=(?P<ruser>\S+))?)",
    )
    .expect("static regex")
});

/// A syslog line's header, split.
#[derive(Debug, Clone, PartialEq)]
pub struct Header<'a> {
    pub priority: Option<u8>,
    /// `Jun 14 15:16:01` (no year) or an RFC 3339 time.
    pub time_text: &'a str,
    pub classic: bool,
    pub host: &'a str,
    pub tag: Option<&'a str>,
    pub pid: Option<&'a str>,
    pub message: &'a str,
}

/// Splits a syslog line into its header fields and message.
pub fn parse_header(line: &str) -> Option<Header<'_>> {
    // Cheap refusal before the regex: the line starts with `<`, a month or a year.
    let first = *line.as_bytes().first()?;
    if !(first == b'<' || first.is_ascii_uppercase() || first.is_ascii_digit()) {
        return None;
    }
    let c = HEADER.captures(line)?;
    let (time_text, classic) = match (c.name("classic"), c.name("iso")) {
        (Some(t), _) => (t.as_str(), true),
        (None, Some(t)) => (t.as_str(), false),
        _ => return None,
    };
    let rest = c.name("rest").map_or("", |m| m.as_str());
    let (tag, pid, message) = match TAG.captures(rest) {
        Some(t) => (
            t.name("tag").map(|m| m.as_str()),
            t.name("pid").map(|m| m.as_str()),
            t.name("msg").map_or("", |m| m.as_str()),
        ),
        None => (None, None, rest),
    };
    Some(Header {
        priority: c.name("pri").and_then(|p| p.as_str().parse().ok()),
        time_text,
        classic,
        host: c.name("host").map_or("", |m| m.as_str()),
        tag,
        pid,
        message,
    })
}

impl Header<'_> {
    /// The header's time in UTC (the classic form takes its year from the reference time).
    pub fn time(&self, cx: &mut FileContext) -> Result<TimeNs, TimeError> {
        if self.classic {
            let t = parse_syslog_date(self.time_text).ok_or(TimeError::Malformed)?;
            cx.yearless(&t)
        } else {
            cx.iso(self.time_text)
        }
    }

    /// The program, without the PAM module or path (`sshd(pam_unix)` → `sshd`).
    pub fn program(&self) -> Option<&str> {
        self.tag
            .map(|t| t.split(['(', '/']).next().unwrap_or(t))
            .filter(|t| !t.is_empty())
    }

    /// Severity from the priority, else from the message's words.
    pub fn severity(&self) -> Severity {
        match self.priority {
            Some(p) => Severity::from_syslog(p & 7),
            None => severity_from_text(self.message),
        }
    }
}

/// The generic event of a syslog line: system kind, service from the program.
pub fn syslog_event(header: &Header<'_>, time: TimeNs) -> Event {
    let mut event = Event::new(
        time,
        SourceKind::System,
        header.severity(),
        header.message.to_string(),
    );
    event.service = header.program().map(str::to_string);
    event
        .attrs
        .push(("host".to_string(), header.host.to_string()));
    if let Some(pid) = header.pid {
        event.attrs.push(("pid".to_string(), pid.to_string()));
    }
    if let Some(c) = AUTH.captures(header.message) {
        event.user = c
            .name("user")
            .or(c.name("ruser"))
            .map(|m| m.as_str().to_string());
        event.client = c
            .name("from")
            .or(c.name("rhost"))
            .map(|m| m.as_str().to_string());
    }
    event
}

impl LineFormat for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn example(&self) -> &'static str {
        "Oct 15 15:00:02 auth-1 sshd[2211]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2"
    }

    fn fields(&self) -> &'static str {
        "time (year from the other inputs or the file's date), host, program (service), pid, severity (priority, else the message's words), message; user and client of authentication failures"
    }

    fn sniff(&self, line: &str) -> u8 {
        match parse_header(line) {
            Some(h) if h.tag.is_some() && h.priority.is_some() => 85,
            Some(h) if h.tag.is_some() => 80,
            Some(_) => 60,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(header) = parse_header(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no syslog header"));
        };
        let time = match header.time(cx) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        out.push(syslog_event(&header, time));
        LineOutcome::Parsed
    }

    fn needs_anchor(&self) -> bool {
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["syslog", "messages", "auth.log", "secure"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    fn cx_anchored(anchor: &str) -> FileContext {
        FileContext::new(ParseContext {
            anchor: Some(parse_iso(anchor, &Default::default()).unwrap()),
            ..ParseContext::default()
        })
    }

    #[test]
    fn classic_line_takes_the_year_from_the_anchor() {
        let mut cx = cx_anchored("2023-10-16T00:00:00Z");
        let mut out = Vec::new();
        let line = "Oct 15 15:00:02 auth-1 sshd[2211]: Failed password for invalid user admin from 203.0.113.9 port 52114 ssh2";
        assert_eq!(Syslog.parse(line, &mut cx, &mut out), LineOutcome::Parsed);
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T15:00:02Z");
        assert_eq!(e.service.as_deref(), Some("sshd"));
        assert_eq!(e.user.as_deref(), Some("admin"));
        assert_eq!(e.client.as_deref(), Some("203.0.113.9"));
        assert_eq!(e.severity, Severity::Error);
        assert!(cx.yearless_used);
    }

    #[test]
    fn new_year_rollover() {
        // Collected on January 2nd: December lines belong to the year before.
        let mut cx = cx_anchored("2024-01-02T08:00:00Z");
        let mut out = Vec::new();
        for line in [
            "Dec 31 23:59:58 db-2 kernel: clocksource: tsc unstable",
            "Jan  1 00:00:03 db-2 CRON[881]: (root) CMD (logrotate /etc/logrotate.conf)",
        ] {
            Syslog.parse(line, &mut cx, &mut out);
        }
        assert_eq!(format_utc(out[0].time), "2023-12-31T23:59:58Z");
        assert_eq!(format_utc(out[1].time), "2024-01-01T00:00:03Z");
        assert_eq!(out[1].service.as_deref(), Some("CRON"));
    }

    #[test]
    fn priority_and_rfc3339_time() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let line = "<27>2023-10-15T15:00:02.118+02:00 web-3 nginx[17]: worker process 41 exited on signal 9";
        assert_eq!(Syslog.parse(line, &mut cx, &mut out), LineOutcome::Parsed);
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(format_utc(out[0].time), "2023-10-15T13:00:02.118Z");
        assert!(Syslog.sniff(line) >= 85);
    }

    #[test]
    fn without_a_reference_time_the_year_is_missing() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let outcome = Syslog.parse("Oct 15 15:00:02 h app: x", &mut cx, &mut out);
        assert!(matches!(outcome, LineOutcome::Unparsed(r) if r.contains("year")));
        assert_eq!(Syslog.sniff("2023-10-15 15:00:01 INFO hello"), 0);
    }
}
