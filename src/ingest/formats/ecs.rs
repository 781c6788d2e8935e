//! Elastic Common Schema JSON (ecs-logging libraries, Filebeat/Elastic Agent output):
//! `@timestamp`, `log.level`, `message`, `ecs.version`, `service.name`, `http.*`, `url.*`,
//! `client.ip`, `user.*`, `event.duration` (ns), `error.*`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, get_text, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome, append_continuation};
use crate::event::{Event, SourceKind};

pub struct Ecs;

impl LineFormat for Ecs {
    fn name(&self) -> &'static str {
        "ecs"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"@timestamp":"2023-10-15T19:00:01.204Z","log.level":"error","message":"login failed","ecs.version":"1.6.0","service.name":"auth-api","http":{"request":{"method":"POST"},"response":{"status_code":500}},"url":{"path":"/api/v1/login"},"client":{"ip":"203.0.113.7"},"user":{"id":"u-00412"},"event":{"duration":12500000},"error":{"type":"UndefinedTable","message":"relation \"sessions\" does not exist"}}"#
    }

    fn fields(&self) -> &'static str {
        "time (@timestamp), level (log.level), message, service.name, http method and status, url.path, client.ip, user, event.duration, error message and stack"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if !has(obj, "@timestamp") {
            return 0;
        }
        match (has(obj, "ecs.version"), has(obj, "log.level")) {
            (true, _) => 95,
            (false, true) => 85,
            _ => 0,
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "@timestamp").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable @timestamp"));
        };
        let message = get_str(obj, "message").unwrap_or_default().to_string();
        let mut event = app_event(
            obj,
            time,
            get(obj, "log.level").and_then(level_value),
            message,
        );
        if event.user.is_none() {
            event.user = get_text(obj, "user.name");
        }
        if let Some(error) = get_text(obj, "error.message") {
            event.attrs.push(("error".to_string(), error));
        }
        if let Some(logger) = get_text(obj, "log.logger") {
            event.attrs.push(("logger".to_string(), logger));
        }
        if let Some(stack) = get_text(obj, "error.stack_trace") {
            append_continuation(&mut event, "stack", &stack);
        }
        out.push(event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;

    #[test]
    fn nested_and_dotted_fields() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(Ecs.example()).unwrap();
        assert!(Ecs.sniff_json(&v) > 90);
        Ecs.parse_json(&v, &mut cx, &mut out);
        let e = &out[0];
        assert_eq!(e.status, Some(500));
        assert_eq!(e.method.as_deref(), Some("POST"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.service.as_deref(), Some("auth-api"));
    }
}
