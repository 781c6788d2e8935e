//! MongoDB 4.4+ structured log: one JSON object per line with `t.$date`, severity `s`
//! (F/E/W/I/D1..D5), component `c`, `id`, `ctx`, `msg` and `attr`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_f64, get_str, get_text, has};
use super::json_app::time_value;
use super::{FileContext, LineFormat, LineOutcome, strip_port};
use crate::event::{Event, Severity, SourceKind};

pub struct MongoDb;

fn severity_of(s: &str) -> Severity {
    match s.as_bytes().first() {
        Some(b'F') => Severity::Fatal,
        Some(b'E') => Severity::Error,
        Some(b'W') => Severity::Warn,
        Some(b'D') => Severity::Debug,
        _ => Severity::Info,
    }
}

impl LineFormat for MongoDb {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        r#"{"t":{"$date":"2023-10-15T15:00:01.204-04:00"},"s":"W","c":"COMMAND","id":51803,"ctx":"conn812","msg":"Slow query","attr":{"type":"command","ns":"auth.sessions","durationMillis":1840,"remote":"10.0.3.7:51544","user":"app"}}"#
    }

    fn fields(&self) -> &'static str {
        "time ($date), severity (F/E/W/I/D), component, id, connection, message, error, duration (slow queries), client, user"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let dated = get(obj, "t.$date").is_some();
        if dated && has(obj, "s") && has(obj, "msg") {
            if has(obj, "c") && has(obj, "ctx") {
                97
            } else {
                85
            }
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = obj.get("t").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable t.$date"));
        };
        let mut message = get_str(obj, "msg").unwrap_or_default().to_string();
        let error = get_text(obj, "attr.error.errmsg").or_else(|| get_text(obj, "attr.error"));
        if let Some(error) = &error {
            message.push_str(": ");
            message.push_str(error);
        }
        let mut event = Event::new(
            time,
            SourceKind::Db,
            severity_of(get_str(obj, "s").unwrap_or("I")),
            message,
        );
        event.service = Some("mongodb".to_string());
        event.client = get_str(obj, "attr.remote").map(|r| strip_port(r).to_string());
        event.user = get_text(obj, "attr.principalName").or_else(|| get_text(obj, "attr.user"));
        event.latency_ms = get_f64(obj, "attr.durationMillis");
        for (key, path) in [
            ("component", "c"),
            ("id", "id"),
            ("connection", "ctx"),
            ("namespace", "attr.ns"),
        ] {
            if let Some(v) = get_text(obj, path) {
                event.attrs.push((key.to_string(), v));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["mongo"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn slow_query_and_auth_failure() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            MongoDb.parse(MongoDb.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Warn);
        assert_eq!(e.latency_ms, Some(1840.0));
        assert_eq!(e.client.as_deref(), Some("10.0.3.7"));
        let line = r#"{"t":{"$date":"2023-10-15T19:00:02.000Z"},"s":"I",  "c":"ACCESS",   "id":20249,   "ctx":"conn9","msg":"Authentication failed","attr":{"mechanism":"SCRAM-SHA-256","principalName":"reporting","remote":"10.0.5.2:40110","error":"AuthenticationFailed: SCRAM authentication failed, storedKey mismatch"}}"#;
        MongoDb.parse(line, &mut cx, &mut out);
        assert_eq!(out[1].user.as_deref(), Some("reporting"));
        assert!(out[1].message.contains("storedKey mismatch"));
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(MongoDb.sniff_json(&v) > 90);
    }
}
