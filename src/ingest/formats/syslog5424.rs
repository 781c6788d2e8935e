//! Syslog RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [STRUCTURED-DATA] MSG`, with `-`
//! for absent fields. A syslog server's file may hold BSD (RFC 3164) lines too, from senders set
//! up differently: they are read as such.

use std::borrow::Cow;

use super::syslog::{parse_header, syslog_event};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, Severity, SourceKind};

pub struct Syslog5424;

/// The fields of a line, split.
struct Parts<'a> {
    priority: u8,
    time: &'a str,
    host: &'a str,
    app: &'a str,
    procid: &'a str,
    msgid: &'a str,
    structured: &'a str,
    message: &'a str,
}

/// The structured data: `-` or one or more `[id k="v" ...]` (with `\]` escapes); returns it and
/// the rest.
fn take_structured(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(("", rest));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let mut in_quotes = false;
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 1,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        i += 1;
    }
    (i > 0).then(|| (&s[..i], &s[i..]))
}

fn split(line: &str) -> Option<Parts<'_>> {
    let rest = line.strip_prefix('<')?;
    let close = rest.find('>')?;
    let priority: u8 = rest[..close].parse().ok()?;
    let rest = rest[close + 1..].strip_prefix("1 ")?;
    let mut fields = rest.splitn(6, ' ');
    let time = fields.next()?;
    let host = fields.next()?;
    let app = fields.next()?;
    let procid = fields.next()?;
    let msgid = fields.next()?;
    let tail = fields.next().unwrap_or("");
    let (structured, message) = take_structured(tail)?;
    let message = message.strip_prefix(' ').unwrap_or(message);
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Some(Parts {
        priority,
        time,
        host,
        app,
        procid,
        msgid,
        structured,
        message,
    })
}

fn present(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

impl LineFormat for Syslog5424 {
    fn name(&self) -> &'static str {
        "syslog-5424"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn example(&self) -> &'static str {
        r#"<163>1 2023-10-15T15:00:01.204-04:00 auth-1 auth-api 2211 LOGIN [origin ip="10.0.3.7"] login failed for user u-00412: relation "sessions" does not exist"#
    }

    fn fields(&self) -> &'static str {
        "time, severity (priority), host, app (service), process id, message id, structured data, message"
    }

    fn sniff(&self, line: &str) -> u8 {
        match split(line) {
            Some(p) if p.time == "-" || p.time.contains('T') => 96,
            _ => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(p) = split(line) else {
            let Some(header) = parse_header(line) else {
                return LineOutcome::Unparsed(Cow::Borrowed("not an RFC 5424 syslog line"));
            };
            return match header.time(cx) {
                Ok(time) => {
                    out.push(syslog_event(&header, time));
                    LineOutcome::Parsed
                }
                Err(e) => LineOutcome::Unparsed(Cow::Owned(e.to_string())),
            };
        };
        let time = match present(p.time) {
            Some(t) => cx.iso(t).ok(),
            None => cx.parse.record_time,
        };
        let Some(time) = time else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable timestamp"));
        };
        let mut event = Event::new(
            time,
            SourceKind::System,
            Severity::from_syslog(p.priority & 7),
            p.message.to_string(),
        );
        event.service = present(p.app).map(str::to_string);
        for (key, value) in [
            ("host", p.host),
            ("pid", p.procid),
            ("msgid", p.msgid),
            ("structured_data", p.structured),
        ] {
            if let Some(v) = present(value) {
                event.attrs.push((key.to_string(), v.to_string()));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn needs_anchor(&self) -> bool {
        // For the BSD lines mixed in.
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["syslog"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn line_with_structured_data() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            Syslog5424.parse(Syslog5424.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.service.as_deref(), Some("auth-api"));
        assert_eq!(e.attr("structured_data"), Some(r#"[origin ip="10.0.3.7"]"#));
        assert!(e.message.starts_with("login failed"));
        let nil = "<14>1 2023-10-15T19:00:02Z web-2 nginx - - - worker started";
        assert!(Syslog5424.sniff(nil) > 90);
        Syslog5424.parse(nil, &mut cx, &mut out);
        assert_eq!(out[1].message, "worker started");
        assert_eq!(Syslog5424.sniff("<14>Oct 15 15:00:01 host app: x"), 0);
        // A BSD line in the same file.
        let mut cx = FileContext::new(ParseContext {
            anchor: Some(1_697_400_000_000_000_000),
            ..ParseContext::default()
        });
        let bsd = "Oct 15 19:00:03 fw-1 charon[3253]: 08[IKE] EAP-MS-CHAPv2 verification failed";
        assert_eq!(
            Syslog5424.parse(bsd, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[2].service.as_deref(), Some("charon"));
    }
}
