//! Uber zap's production JSON encoder: `ts` as float epoch seconds, `level`, `logger`, `caller`,
//! `msg`, `error`, `stacktrace`. CloudNativePG wraps PostgreSQL's own records in it
//! (`"msg":"record","record":{...}`): those become database events.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get, get_str, get_text, has};
use super::json_app::{app_event, level_value, time_value};
use super::postgres_stderr::severity_of as pg_severity;
use super::{FileContext, LineFormat, LineOutcome, append_continuation};
use crate::event::{Event, SourceKind, TimeNs};

pub struct Zap;

/// A PostgreSQL record carried inside a zap line (CloudNativePG's instance manager).
fn postgres_record(record: &Map<String, Value>, time: TimeNs) -> Event {
    let level = get_str(record, "error_severity").unwrap_or("LOG");
    let mut event = Event::new(
        time,
        SourceKind::Db,
        pg_severity(level),
        get_str(record, "message").unwrap_or_default().to_string(),
    );
    event.service = Some("postgresql".to_string());
    event.user = get_text(record, "user_name");
    for (key, field) in [
        ("database", "database_name"),
        ("pid", "process_id"),
        ("sqlstate", "sql_state_code"),
        ("application", "application_name"),
        ("detail", "detail"),
        ("statement", "query"),
    ] {
        if let Some(v) = get_text(record, field) {
            event.attrs.push((key.to_string(), v));
        }
    }
    event.attrs.push(("level".to_string(), level.to_string()));
    event
}

impl LineFormat for Zap {
    fn name(&self) -> &'static str {
        "zap"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"level":"error","ts":1697396401.2041316,"logger":"auth.http","caller":"http/login.go:88","msg":"login failed","user_id":"u-00412","status":500,"latency":"12.5ms","error":"pq: relation \"sessions\" does not exist","stacktrace":"main.login\n\t/src/http/login.go:88"}"#
    }

    fn fields(&self) -> &'static str {
        "time (epoch seconds), level, logger, caller, message, error, stacktrace, request fields by the usual names; PostgreSQL records (CloudNativePG) as database events"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let epoch_s = get(obj, "ts")
            .and_then(Value::as_f64)
            .is_some_and(|t| (1e8..1e11).contains(&t));
        if epoch_s && has(obj, "level") && has(obj, "msg") {
            if has(obj, "caller") || has(obj, "logger") {
                93
            } else {
                88
            }
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "ts").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable ts"));
        };
        if let Some(record) = get(obj, "record").and_then(Value::as_object)
            && has(record, "error_severity")
        {
            out.push(postgres_record(record, time));
            return LineOutcome::Parsed;
        }
        let message = get_str(obj, "msg").unwrap_or_default().to_string();
        let mut event = app_event(obj, time, get(obj, "level").and_then(level_value), message);
        for key in ["logger", "caller"] {
            if let Some(v) = get_text(obj, key) {
                event.attrs.push((key.to_string(), v));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "stack", line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn production_line_and_postgres_record() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(Zap.example()).unwrap();
        assert!(Zap.sniff_json(&v) > 90);
        Zap.parse_json(&v, &mut cx, &mut out);
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.status, Some(500));
        assert!(e.attr("stack").is_some());
        let line = r#"{"level":"info","ts":1697396402.5,"logger":"postgres","msg":"record","logging_pod":"pg-1","record":{"log_time":"2023-10-15 19:00:02.500 UTC","user_name":"app","database_name":"auth","process_id":"311","error_severity":"FATAL","sql_state_code":"57P01","message":"terminating connection due to administrator command"}}"#;
        Zap.parse(line, &mut cx, &mut out);
        assert_eq!(out[1].kind, Some(SourceKind::Db));
        assert_eq!(out[1].severity, Severity::Fatal);
        assert_eq!(out[1].user.as_deref(), Some("app"));
    }
}
