//! Python structlog's JSONRenderer: the message is `event`, with `level`, `timestamp`
//! (TimeStamper, ISO, often without zone) and `logger`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct Structlog;

impl LineFormat for Structlog {
    fn name(&self) -> &'static str {
        "structlog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"event": "login failed", "user_id": "u-00412", "client_ip": "203.0.113.7", "status": 500, "logger": "auth.views", "level": "error", "timestamp": "2023-10-15T19:00:01.204131Z"}"#
    }

    fn fields(&self) -> &'static str {
        "time (timestamp; naive ones take --assume-tz), level, message (event), logger, fields by the usual names"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let event_text = get(obj, "event").is_some_and(Value::is_string);
        let level = has(obj, "level") || has(obj, "log_level");
        if event_text && level && has(obj, "timestamp") {
            if has(obj, "logger") { 90 } else { 86 }
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "timestamp").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable timestamp"));
        };
        let message = get_str(obj, "event").unwrap_or_default().to_string();
        let level = get(obj, "level")
            .or_else(|| get(obj, "log_level"))
            .and_then(level_value);
        let mut event = app_event(obj, time, level, message);
        if let Some(logger) = get_str(obj, "logger") {
            event.attrs.push(("logger".to_string(), logger.to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;

    #[test]
    fn event_is_the_message() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(Structlog.example()).unwrap();
        assert!(Structlog.sniff_json(&v) > 85);
        Structlog.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out[0].message, "login failed");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].client.as_deref(), Some("203.0.113.7"));
    }
}
