//! HAProxy logs, usually through syslog: the HTTP log format
//! (`client:port [accept date] frontend backend/server Tq/Tw/Tc/Tr/Ta status bytes ... "request"`),
//! the TCP log format, and HAProxy's own messages (`Server web/app1 is DOWN`...).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::syslog::parse_header;
use super::{
    FileContext, LineFormat, LineOutcome, http_severity, set_request, severity_from_text,
    strip_port,
};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_clf_in;

pub struct Haproxy;

static HTTP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<client>\S+):(?P<port>\d+) \[(?P<accept>[^\]]+)\] (?P<frontend>\S+) (?P<backend>[^/\s]+)/(?P<server>\S+) (?P<timers>-?\d+/-?\d+/-?\d+/-?\d+/\+?-?\d+) (?P<status>-?\d{1,3}) (?P<bytes>\+?\d+) \S+ \S+ (?P<term>\S{4}) (?P<conns>[\d/+]+) (?P<queues>\d+/\d+)(?: \{(?P<reqh>[^}]*)\})?(?: \{(?P<resh>[^}]*)\})? "(?P<request>[^"]*)"?"#,
    )
    .expect("static regex")
});

static TCP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<client>\S+):(?P<port>\d+) \[(?P<accept>[^\]]+)\] (?P<frontend>\S+) (?P<backend>[^/\s]+)/(?P<server>\S+) (?P<timers>-?\d+/-?\d+/\+?-?\d+) (?P<bytes>\+?\d+) (?P<term>\S{2}) ",
    )
    .expect("static regex")
});

/// The HAProxy part of a line: after `haproxy[pid]: ` when a syslog header is there.
fn body(line: &str) -> (&str, bool) {
    match parse_header(line) {
        Some(h) if h.program() == Some("haproxy") => (h.message, true),
        _ => (line, false),
    }
}

fn accept_time(c: &regex::Captures<'_>, cx: &FileContext) -> Option<i64> {
    parse_clf_in(&c["accept"], cx.time().assume_tz).ok()
}

impl LineFormat for Haproxy {
    fn name(&self) -> &'static str {
        "haproxy"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        r#"Oct 15 15:00:01 lb-1 haproxy[912]: 203.0.113.7:51544 [15/Oct/2023:15:00:01.204] https-in~ auth/auth-2 0/0/1/12/13 503 212 - - SC-- 41/38/2/1/0 0/0 "POST /api/v1/login HTTP/1.1""#
    }

    fn fields(&self) -> &'static str {
        "time (accept date), client, frontend, backend, server, status, latency (Ta), termination state, method, path; TCP lines and HAProxy's own messages as events"
    }

    fn sniff(&self, line: &str) -> u8 {
        let (body, tagged) = body(line);
        if HTTP.is_match(body) {
            96
        } else if TCP.is_match(body) {
            88
        } else if tagged {
            82
        } else {
            0
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let (body, _) = body(line);
        if let Some(c) = HTTP.captures(body) {
            let Some(time) = accept_time(&c, cx) else {
                return LineOutcome::Unparsed(Cow::Borrowed("unreadable accept date"));
            };
            let status = c["status"]
                .parse::<u16>()
                .ok()
                .filter(|s| (100..600).contains(s));
            let request = c.name("request").map_or("", |m| m.as_str());
            let severity = status.map_or(Severity::Warn, http_severity);
            let mut event = Event::new(
                time,
                SourceKind::Web,
                severity,
                format!("\"{request}\" {}", &c["status"]),
            );
            set_request(&mut event, request, status);
            event.client = Some(strip_port(&c["client"]).to_string());
            event.service = Some("haproxy".to_string());
            // Ta (total active time) is the last timer; -1 means the request did not finish.
            event.latency_ms = c["timers"]
                .rsplit('/')
                .next()
                .and_then(|t| t.trim_start_matches('+').parse::<f64>().ok())
                .filter(|t| *t >= 0.0);
            for key in ["frontend", "backend", "server", "term"] {
                event.attrs.push((key.to_string(), c[key].to_string()));
            }
            out.push(event);
            return LineOutcome::Parsed;
        }
        if let Some(c) = TCP.captures(body) {
            let Some(time) = accept_time(&c, cx) else {
                return LineOutcome::Unparsed(Cow::Borrowed("unreadable accept date"));
            };
            let mut event = Event::new(
                time,
                SourceKind::Web,
                Severity::Info,
                format!("tcp {}/{} {}", &c["backend"], &c["server"], &c["term"]),
            );
            event.client = Some(strip_port(&c["client"]).to_string());
            event.service = Some("haproxy".to_string());
            for key in ["frontend", "backend", "server", "term"] {
                event.attrs.push((key.to_string(), c[key].to_string()));
            }
            out.push(event);
            return LineOutcome::Parsed;
        }
        // HAProxy's own messages: the syslog header gives the time.
        let Some(header) = parse_header(line).filter(|h| h.program() == Some("haproxy")) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not an HAProxy log line"));
        };
        let time = match header.time(cx) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let message = header.message;
        let severity =
            if message.contains(" is DOWN") || message.contains("has no server available") {
                Severity::Error
            } else {
                header.severity().max(severity_from_text(message))
            };
        let mut event = Event::new(time, SourceKind::Web, severity, message.to_string());
        event.service = Some("haproxy".to_string());
        out.push(event);
        LineOutcome::Parsed
    }

    fn needs_anchor(&self) -> bool {
        // HAProxy's own messages carry only the year-less syslog time.
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["haproxy"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    #[test]
    fn http_tcp_and_messages() {
        let mut cx = FileContext::new(ParseContext {
            anchor: Some(parse_iso("2023-10-16T00:00:00Z", &Default::default()).unwrap()),
            ..ParseContext::default()
        });
        let mut out = Vec::new();
        assert_eq!(
            Haproxy.parse(Haproxy.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(e.status, Some(503));
        assert_eq!(e.latency_ms, Some(13.0));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(format_utc(e.time), "2023-10-15T15:00:01.204Z");
        assert_eq!(e.attr("backend"), Some("auth"));
        // Without syslog, with captured headers.
        let line = r#"10.0.0.9:40312 [15/Oct/2023:15:00:02.000] www www/web-1 0/0/0/5/5 200 1043 - - ---- 1/1/0/0/0 0/0 {curl/8.4.0} {} "GET /health HTTP/1.1""#;
        assert!(Haproxy.sniff(line) > 90);
        Haproxy.parse(line, &mut cx, &mut out);
        assert_eq!(out[1].status, Some(200));
        let tcp = "Oct 15 15:00:03 lb-1 haproxy[912]: 10.0.0.9:40313 [15/Oct/2023:15:00:03.001] pg-in pg/pg-1 1/0/2001 412 -- 3/3/2/1/0 0/0";
        assert_eq!(Haproxy.parse(tcp, &mut cx, &mut out), LineOutcome::Parsed);
        assert_eq!(out[2].status, None);
        let down = "Oct 15 15:00:04 lb-1 haproxy[912]: Server auth/auth-2 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"";
        Haproxy.parse(down, &mut cx, &mut out);
        assert_eq!(out[3].severity, Severity::Error);
        assert_eq!(format_utc(out[3].time), "2023-10-15T15:00:04Z");
    }
}
