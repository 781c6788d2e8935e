//! PostgreSQL 15+ jsonlog (`log_destination = jsonlog`): one JSON object per message with
//! `timestamp` (zone abbreviation), `error_severity`, `message` and the session's fields.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get_str, get_text, has};
use super::postgres_stderr::severity_of;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct PostgresJson;

impl LineFormat for PostgresJson {
    fn name(&self) -> &'static str {
        "postgres-jsonlog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        r#"{"timestamp":"2023-10-15 15:00:01.002 EDT","user":"app","dbname":"auth","pid":48301,"remote_host":"10.0.3.7","session_id":"652c3a11.bcad","line_num":3,"error_severity":"ERROR","state_code":"42P01","message":"relation \"sessions\" does not exist","statement":"SELECT user_id FROM sessions WHERE token = $1","application_name":"auth-api","backend_type":"client backend"}"#
    }

    fn fields(&self) -> &'static str {
        "time, user, database, pid, client, level, SQLSTATE, message, detail, hint, context, statement, application, backend type"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if has(obj, "error_severity") && has(obj, "timestamp") && has(obj, "message") {
            if has(obj, "session_id") || has(obj, "backend_type") || has(obj, "pid") {
                96
            } else {
                80
            }
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get_str(obj, "timestamp").and_then(|t| cx.iso(t).ok()) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable timestamp"));
        };
        let level = get_str(obj, "error_severity").unwrap_or("LOG");
        let mut event = Event::new(
            time,
            SourceKind::Db,
            severity_of(level),
            get_str(obj, "message").unwrap_or_default().to_string(),
        );
        event.service = Some("postgresql".to_string());
        event.user = get_text(obj, "user");
        event.client = get_text(obj, "remote_host").filter(|h| h != "[local]");
        for (key, field) in [
            ("database", "dbname"),
            ("pid", "pid"),
            ("sqlstate", "state_code"),
            ("detail", "detail"),
            ("hint", "hint"),
            ("context", "context"),
            ("statement", "statement"),
            ("application", "application_name"),
            ("backend_type", "backend_type"),
        ] {
            if let Some(v) = get_text(obj, field) {
                event.attrs.push((key.to_string(), v));
            }
        }
        event.attrs.push(("level".to_string(), level.to_string()));
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["postgres", "pg"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn error_record() {
        let line = PostgresJson.example();
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(PostgresJson.sniff_json(&v) > 90);
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            PostgresJson.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.002Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.user.as_deref(), Some("app"));
        assert_eq!(e.attr("database"), Some("auth"));
        assert_eq!(e.attr("pid"), Some("48301"));
    }
}
