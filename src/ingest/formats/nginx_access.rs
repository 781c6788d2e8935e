//! Web access logs in the NCSA common/combined layout (nginx and Apache defaults), with optional
//! trailing fields such as nginx `$request_time`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{LineFormat, LineOutcome, ParseContext};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_clf;

pub struct NginxAccess;

/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent"` then anything the operator appended.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<addr>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$"#,
    )
    .expect("static regex")
});

/// A trailing `$request_time` (seconds, millisecond resolution) if the first extra field is one.
fn request_time_ms(rest: &str) -> Option<f64> {
    let first = rest.split_whitespace().next()?;
    let first = first.trim_matches('"');
    if first.contains('.') {
        first.parse::<f64>().ok().map(|s| s * 1000.0)
    } else {
        None
    }
}

impl LineFormat for NginxAccess {
    fn name(&self) -> &'static str {
        "nginx-access"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        r#"203.0.113.7 - - [15/Oct/2023:15:00:01 -0400] "POST /api/v1/login HTTP/1.1" 500 87 "-" "Mozilla/5.0""#
    }

    fn fields(&self) -> &'static str {
        "time, client, user (remote_user), method, path, status, latency (trailing $request_time)"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if parse_clf(&c["time"]).is_ok() => {
                if c.name("agent").is_some() {
                    90
                } else {
                    80
                }
            }
            _ => 0,
        }
    }

    fn parse(&self, line: &str, _ctx: &ParseContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not an access log line"));
        };
        let Ok(time) = parse_clf(&c["time"]) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable [time_local]"));
        };
        let Ok(status) = c["status"].parse::<u16>() else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable status"));
        };
        let severity = match status {
            500.. => Severity::Error,
            400..=499 => Severity::Warn,
            _ => Severity::Info,
        };
        let request = &c["request"];
        let mut parts = request.splitn(3, ' ');
        let method = parts.next().filter(|m| !m.is_empty());
        let path = parts.next();
        let mut event = Event::new(
            time,
            SourceKind::Web,
            severity,
            format!("\"{request}\" {status}"),
        );
        event.status = Some(status);
        event.client = Some(c["addr"].to_string());
        event.user = Some(&c["user"])
            .filter(|u| *u != "-")
            .map(|u| u.to_string());
        event.method = method.map(str::to_string);
        event.path = path.map(str::to_string);
        event.latency_ms = request_time_ms(&c["rest"]);
        if let Some(agent) = c.name("agent") {
            event
                .attrs
                .push(("user_agent".to_string(), agent.as_str().to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_utc;

    fn parse(line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        assert_eq!(
            NginxAccess.parse(line, &ParseContext::default(), &mut out),
            LineOutcome::Parsed
        );
        out
    }

    #[test]
    fn combined_line() {
        let e = &parse(
            r#"198.51.100.23 - - [15/Oct/2023:15:00:01 -0400] "POST /api/v1/login HTTP/1.1" 500 87 "https://app.example.com/login" "Mozilla/5.0 (X11; Linux x86_64)""#,
        )[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01Z");
        assert_eq!(e.status, Some(500));
        assert_eq!(e.client.as_deref(), Some("198.51.100.23"));
        assert_eq!(e.method.as_deref(), Some("POST"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.user, None);
        assert_eq!(e.severity, Severity::Error);
    }

    #[test]
    fn common_line_with_user_and_request_time() {
        let e = &parse(
            r#"10.1.2.3 - alice [02/Mar/2024:08:15:00 +0100] "GET /index.html HTTP/1.0" 200 1043 "-" "curl/8.5.0" 0.004"#,
        )[0];
        assert_eq!(e.user.as_deref(), Some("alice"));
        assert_eq!(e.latency_ms, Some(4.0));
        assert_eq!(format_utc(e.time), "2024-03-02T07:15:00Z");
        let e = &parse(r#"10.1.2.3 - - [02/Mar/2024:08:15:00 +0100] "GET / HTTP/1.0" 304 -"#)[0];
        assert_eq!(e.status, Some(304));
    }

    #[test]
    fn garbage_is_unparsed() {
        let mut out = Vec::new();
        let outcome = NginxAccess.parse("\u{0}\u{1}binary", &ParseContext::default(), &mut out);
        assert!(matches!(outcome, LineOutcome::Unparsed(_)));
        assert_eq!(NginxAccess.sniff(r#"{"a":1}"#), 0);
    }
}
