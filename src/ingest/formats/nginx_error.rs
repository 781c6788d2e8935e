//! nginx error log: `YYYY/MM/DD HH:MM:SS [level] pid#tid: *cid message, client: ..., server:
//! ..., request: "GET / HTTP/1.1", upstream: "...", host: "..."` (local time, no zone). Access
//! lines in the same file (a container's output holds both) are read as access lines.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, split_request};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_slashed;

pub struct NginxError;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>debug|info|notice|warn|error|crit|alert|emerg)\] (?P<pid>\d+)#(?P<tid>\d+): (?:\*(?P<cid>\d+) )?(?P<msg>.*)$",
    )
    .expect("static regex")
});

/// The `, key: value` pairs nginx appends to a message.
fn context<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    let marker = format!(", {key}: ");
    let start = msg.find(&marker)? + marker.len();
    let rest = &msg[start..];
    let value = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next().unwrap_or(quoted)
    } else {
        rest.split(", ").next().unwrap_or(rest)
    };
    Some(value)
}

fn severity_of(level: &str) -> Severity {
    match level {
        "debug" => Severity::Debug,
        "info" | "notice" => Severity::Info,
        "warn" => Severity::Warn,
        "error" => Severity::Error,
        _ => Severity::Fatal,
    }
}

/// Reads one error line (no fallback to the access layout).
pub fn parse_error(
    line: &str,
    cx: &mut FileContext,
    out: &mut Vec<Event>,
) -> Result<(), &'static str> {
    let c = LINE.captures(line).ok_or("not an nginx error log line")?;
    let time = parse_slashed(&c["time"])
        .and_then(|n| cx.local(&n).ok())
        .ok_or("unreadable time")?;
    let msg = &c["msg"];
    let text = msg.split(", client: ").next().unwrap_or(msg);
    let mut event = Event::new(
        time,
        SourceKind::Web,
        severity_of(&c["level"]),
        text.to_string(),
    );
    event.client = context(msg, "client").map(str::to_string);
    if let Some(request) = context(msg, "request") {
        let (method, path) = split_request(request);
        event.method = method.map(str::to_string);
        event.path = path.map(str::to_string);
    }
    for key in ["server", "upstream", "host"] {
        if let Some(v) = context(msg, key) {
            event.attrs.push((key.to_string(), v.to_string()));
        }
    }
    event.attrs.push(("pid".to_string(), c["pid"].to_string()));
    if let Some(cid) = c.name("cid") {
        event
            .attrs
            .push(("connection".to_string(), cid.as_str().to_string()));
    }
    out.push(event);
    Ok(())
}

impl LineFormat for NginxError {
    fn name(&self) -> &'static str {
        "nginx-error"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        r#"2023/10/15 15:00:01 [error] 2381#2381: *88121 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: auth.example.com, request: "POST /api/v1/login HTTP/1.1", upstream: "http://10.0.2.15:8080/api/v1/login", host: "auth.example.com""#
    }

    fn fields(&self) -> &'static str {
        "time (local), level, pid, connection, message, client, server, method and path of the request, upstream"
    }

    fn sniff(&self, line: &str) -> u8 {
        if LINE.is_match(line) { 95 } else { 0 }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        match parse_error(line, cx, out) {
            Ok(()) => LineOutcome::Parsed,
            Err(reason) => match super::nginx_access::parse_access(line, out) {
                Ok(()) => LineOutcome::Parsed,
                Err(_) => LineOutcome::Unparsed(Cow::Borrowed(reason)),
            },
        }
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["error", "nginx"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn upstream_failure() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            NginxError.parse(NginxError.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T15:00:01Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.method.as_deref(), Some("POST"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.status, None);
        assert_eq!(
            e.message,
            "connect() failed (111: Connection refused) while connecting to upstream"
        );
        assert_eq!(
            e.attr("upstream"),
            Some("http://10.0.2.15:8080/api/v1/login")
        );
        assert!(NginxError.sniff("2023/10/15 15:00:01 [notice] 1#1: start worker processes") > 90);
        // An access line in the same output.
        let access = r#"10.0.0.9 - - [15/Oct/2023:15:00:02 +0000] "GET / HTTP/1.1" 502 150 "-" "curl/8.4.0""#;
        assert_eq!(
            NginxError.parse(access, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[1].status, Some(502));
    }
}
