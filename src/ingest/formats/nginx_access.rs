//! Web access logs in the NCSA common/combined layout (nginx and Apache defaults), with optional
//! trailing fields such as nginx `$request_time`. nginx error lines in the same file (a
//! container's output holds both) are read as error lines.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{
    FastLine, FileContext, LineFormat, LineOutcome, http_severity, set_request, split_request,
};
use crate::event::{Event, EventView, SourceKind};
use crate::time::parse_clf;

pub struct NginxAccess;

/// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
/// "$http_referer" "$http_user_agent"` then anything the operator appended.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^(?P<addr>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" (?P<status>[1-5]\d{2}) (?P<bytes>\d+|-)(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?(?P<rest>.*)$"#,
    )
    .expect("static regex")
});

/// The request time among the fields the operator appended, in milliseconds: nginx's
/// `$request_time` (seconds with a fraction) written first, or second after
/// `$request_length` (ingress-nginx), or as `rt=`/`request_time=`.
fn request_time_ms(rest: &str) -> Option<f64> {
    let seconds = |field: &str| -> Option<f64> {
        let field = field.trim_matches('"');
        field
            .contains('.')
            .then(|| field.parse::<f64>().ok())
            .flatten()
    };
    let mut fields = rest.split_whitespace();
    let first = fields.next()?;
    for key in ["rt=", "request_time="] {
        if let Some(v) = rest
            .split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .and_then(seconds)
        {
            return Some(v * 1000.0);
        }
    }
    if let Some(s) = seconds(first) {
        return Some(s * 1000.0);
    }
    if first.bytes().all(|b| b.is_ascii_digit()) {
        return fields.next().and_then(seconds).map(|s| s * 1000.0);
    }
    None
}

/// Reads one access line (no fallback to the error layout).
pub fn parse_access(line: &str, out: &mut Vec<Event>) -> Result<(), &'static str> {
    let c = LINE.captures(line).ok_or("not an access log line")?;
    let time = parse_clf(&c["time"]).map_err(|_| "unreadable [time_local]")?;
    let status = c["status"]
        .parse::<u16>()
        .map_err(|_| "unreadable status")?;
    let request = &c["request"];
    let mut event = Event::new(
        time,
        SourceKind::Web,
        http_severity(status),
        format!("\"{request}\" {status}"),
    );
    set_request(&mut event, request, Some(status));
    event.client = Some(c["addr"].to_string());
    event.user = Some(&c["user"])
        .filter(|u| *u != "-")
        .map(|u| u.to_string());
    event.latency_ms = request_time_ms(&c["rest"]);
    if let Some(agent) = c.name("agent") {
        event
            .attrs
            .push(("user_agent".to_string(), agent.as_str().to_string()));
    }
    out.push(event);
    Ok(())
}

/// The fields of an access line the fast path reads, as the line regex would capture them.
struct AccessFields<'a> {
    addr: &'a str,
    user: &'a str,
    time: &'a str,
    /// `"request" status`, quotes included: the event's message as the full parse writes it.
    quoted_request_and_status: &'a str,
    request: &'a str,
    status: u16,
}

/// A field of printable ASCII up to the next space (`\S+` for the lines the fast path takes).
fn printable_run(b: &[u8], from: usize) -> Option<usize> {
    let len = b.get(from..)?.iter().position(|c| *c == b' ')?;
    (len > 0 && b[from..from + len].iter().all(|c| (0x21..0x7f).contains(c))).then_some(from + len)
}

/// Reads the access-line layout without the regex, for the common case: printable ASCII in the
/// first fields, single spaces, ASCII digits. `None` for anything else, which the regex reads
/// (so both always agree: this is the regex's match when it returns one).
fn scan_access(line: &str) -> Option<AccessFields<'_>> {
    let b = line.as_bytes();
    let addr_end = printable_run(b, 0)?;
    let ident_end = printable_run(b, addr_end + 1)?;
    let user_end = printable_run(b, ident_end + 1)?;
    // ` [time] "`
    if b.get(user_end + 1) != Some(&b'[') {
        return None;
    }
    let time_start = user_end + 2;
    let time_len = memchr::memchr(b']', b.get(time_start..)?)?;
    let time_end = time_start + time_len;
    if time_len == 0 || b.get(time_end + 1..time_end + 3) != Some(b" \"") {
        return None;
    }
    // The request: up to the first quote not escaped by a backslash.
    let quote = time_end + 2;
    let request_start = quote + 1;
    let mut i = request_start;
    let request_end = loop {
        let at = i + memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
        if b[at] == b'"' {
            break at;
        }
        // `\\.`: the backslash and the character after it (its first byte is enough: the
        // bytes of a multi-byte character are never a quote or a backslash).
        if at + 1 >= b.len() {
            return None;
        }
        i = at + 2;
    };
    // `" NNN ` (an HTTP status, 100 to 599) then the size (digits or `-`).
    let status_start = request_end + 2;
    let digits = b.get(status_start..status_start + 3)?;
    if b.get(request_end + 1) != Some(&b' ')
        || !(b'1'..=b'5').contains(&digits[0])
        || !digits.iter().all(u8::is_ascii_digit)
        || b.get(status_start + 3) != Some(&b' ')
        || !b
            .get(status_start + 4)
            .is_some_and(|c| c.is_ascii_digit() || *c == b'-')
    {
        return None;
    }
    let status = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some(AccessFields {
        addr: &line[..addr_end],
        user: &line[ident_end + 1..user_end],
        time: &line[time_start..time_end],
        quoted_request_and_status: &line[quote..status_start + 3],
        request: &line[request_start..request_end],
        status,
    })
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

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        match parse_access(line, out) {
            Ok(()) => LineOutcome::Parsed,
            Err(reason) => match super::nginx_error::parse_error(line, cx, out) {
                Ok(()) => LineOutcome::Parsed,
                Err(_) => LineOutcome::Unparsed(Cow::Borrowed(reason)),
            },
        }
    }

    fn parse_view<'a>(&self, line: &'a str, cx: &mut FileContext) -> Option<FastLine<'a>> {
        let f = scan_access(line)?;
        // A time the access layout cannot read sends the line to the error-log reading.
        let time = cx.clf(f.time).ok()?;
        let (method, path) = split_request(f.request);
        Some(FastLine::Record(EventView {
            time,
            kind: Some(SourceKind::Web),
            severity: http_severity(f.status),
            message: Cow::Borrowed(f.quoted_request_and_status),
            user: Some(f.user).filter(|u| *u != "-").map(Cow::Borrowed),
            client: Some(Cow::Borrowed(f.addr)),
            method: method.map(Cow::Borrowed),
            path: path.map(Cow::Borrowed),
            status: Some(f.status),
            ..EventView::default()
        }))
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["access", "nginx", "apache", "httpd"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::time::format_utc;

    fn parse(line: &str) -> Vec<Event> {
        let mut out = Vec::new();
        let mut cx = FileContext::new(Default::default());
        assert_eq!(
            NginxAccess.parse(line, &mut cx, &mut out),
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
        // ingress-nginx: $request_length then $request_time, then the upstream fields.
        let e = &parse(
            r#"10.4.0.9 - - [02/Mar/2024:08:15:00 +0000] "GET /api/cart HTTP/1.1" 502 150 "-" "okhttp/4.12" 412 0.031 [shop-cart-8080] [] 10.4.1.7:8080 0 0.030 502 7f3a9c"#,
        )[0];
        assert_eq!(e.latency_ms, Some(31.0));
        assert_eq!(e.path.as_deref(), Some("/api/cart"));
    }

    #[test]
    fn garbage_is_unparsed() {
        let mut out = Vec::new();
        let mut cx = FileContext::new(Default::default());
        let outcome = NginxAccess.parse("\u{0}\u{1}binary", &mut cx, &mut out);
        assert!(matches!(outcome, LineOutcome::Unparsed(_)));
        assert_eq!(NginxAccess.sniff(r#"{"a":1}"#), 0);
    }
}
