//! Rust `tracing-subscriber`'s JSON formatter: `timestamp`, `level`, `fields.message` (and the
//! event's other fields), `target`, `span`/`spans`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct TracingJson;

impl LineFormat for TracingJson {
    fn name(&self) -> &'static str {
        "tracing-json"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"timestamp":"2023-10-15T19:00:01.204131Z","level":"ERROR","fields":{"message":"login failed","user_id":"u-00412","status":500,"error":"relation \"sessions\" does not exist"},"target":"auth::http","span":{"method":"POST","path":"/api/v1/login","name":"request"},"spans":[{"method":"POST","path":"/api/v1/login","name":"request"}]}"#
    }

    fn fields(&self) -> &'static str {
        "time, level, message (fields.message), target, span names, request fields from fields and the current span"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let fields = get(obj, "fields").is_some_and(Value::is_object);
        if fields && has(obj, "timestamp") && has(obj, "level") {
            if has(obj, "target") { 94 } else { 85 }
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
        let fields = get(obj, "fields").and_then(Value::as_object);
        let message = fields
            .and_then(|f| get_str(f, "message"))
            .unwrap_or_default()
            .to_string();
        let severity = get(obj, "level").and_then(level_value);
        let empty = serde_json::Map::new();
        let mut event = app_event(fields.unwrap_or(&empty), time, severity, message);
        // The current span often holds the request (method, path, request id).
        if let Some(span) = get(obj, "span").and_then(Value::as_object) {
            super::json_app::fill_fields(span, &mut event);
        }
        if let Some(target) = get_str(obj, "target") {
            event.attrs.push(("target".to_string(), target.to_string()));
        }
        if let Some(spans) = get(obj, "spans").and_then(Value::as_array) {
            let names: Vec<&str> = spans
                .iter()
                .filter_map(|s| s.get("name").and_then(Value::as_str))
                .collect();
            if !names.is_empty() {
                event.attrs.push(("spans".to_string(), names.join(":")));
            }
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
    fn event_with_span() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(TracingJson.example()).unwrap();
        assert!(TracingJson.sniff_json(&v) > 90);
        TracingJson.parse_json(&v, &mut cx, &mut out);
        let e = &out[0];
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.message, "login failed");
        assert_eq!(e.status, Some(500));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        assert_eq!(e.attr("spans"), Some("request"));
    }
}
