//! Google Cloud Logging `LogEntry` (as `gcloud logging read --format=json` or a sink exports
//! them): `timestamp`, `severity`, `textPayload` or `jsonPayload`, `httpRequest`, `resource`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, get_text, has};
use super::json_app::{duration_ms, fill_fields};
use super::postgres_stderr::{db_event, is_continuation_level, split_level};
use super::{FileContext, LineFormat, LineOutcome, http_severity, strip_port, url_path};
use crate::event::{Event, Severity, SourceKind};

pub struct GcpLogEntry;

const SERVICE_LABELS: &[&str] = &[
    "resource.labels.service_name",
    "resource.labels.container_name",
    "resource.labels.module_id",
    "resource.labels.function_name",
    "resource.labels.database_id",
    "resource.labels.instance_id",
];

impl LineFormat for GcpLogEntry {
    fn name(&self) -> &'static str {
        "gcp-logentry"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"insertId":"1x2y3z","httpRequest":{"requestMethod":"POST","requestUrl":"https://auth.example.com/api/v1/login","status":503,"remoteIp":"203.0.113.7","latency":"0.012500s","userAgent":"Mozilla/5.0"},"resource":{"type":"cloud_run_revision","labels":{"service_name":"auth-api","location":"us-east1"}},"severity":"ERROR","timestamp":"2023-10-15T19:00:01.204131Z","logName":"projects/acme/logs/run.googleapis.com%2Frequests"}"#
    }

    fn fields(&self) -> &'static str {
        "time, severity, message (textPayload or jsonPayload.message), service (resource labels), HTTP method/path/status/client/latency (httpRequest), fields of jsonPayload by the usual names"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let entry = has(obj, "insertId") || has(obj, "logName");
        let payload = has(obj, "textPayload")
            || has(obj, "jsonPayload")
            || has(obj, "protoPayload")
            || has(obj, "httpRequest");
        if entry && payload && (has(obj, "timestamp") || has(obj, "receiveTimestamp")) {
            95
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get_str(obj, "timestamp")
            .or_else(|| get_str(obj, "receiveTimestamp"))
            .and_then(|t| cx.iso(t).ok())
        else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable timestamp"));
        };
        let payload = get(obj, "jsonPayload").and_then(Value::as_object);
        let status = get_text(obj, "httpRequest.status").and_then(|s| s.parse::<u16>().ok());
        let message = get_str(obj, "textPayload")
            .or_else(|| payload.and_then(|p| get_str(p, "message").or_else(|| get_str(p, "msg"))))
            .or_else(|| get_str(obj, "protoPayload.status.message"))
            .map(str::to_string)
            .unwrap_or_else(
                || match (get_str(obj, "httpRequest.requestMethod"), status) {
                    (Some(m), Some(s)) => format!(
                        "\"{m} {}\" {s}",
                        get_str(obj, "httpRequest.requestUrl").map_or("-", url_path)
                    ),
                    _ => String::new(),
                },
            );
        let stated = get_str(obj, "severity")
            .and_then(Severity::from_word)
            .unwrap_or(Severity::Info);
        let severity = status.map_or(stated, |s| stated.max(http_severity(s)));
        let kind = if has(obj, "httpRequest") {
            SourceKind::Web
        } else if get_str(obj, "resource.type").is_some_and(|t| t.starts_with("cloudsql")) {
            SourceKind::Db
        } else {
            SourceKind::App
        };
        // Cloud SQL for PostgreSQL: the text is the server's own line, with its level and prefix.
        let pg = (kind == SourceKind::Db)
            .then(|| split_level(&message))
            .flatten()
            .filter(|s| !is_continuation_level(s.level))
            .map(|s| db_event(time, s.prefix, s.level, s.message));
        let mut event = match pg {
            Some(mut e) => {
                e.severity = e.severity.max(severity);
                e
            }
            None => Event::new(time, kind, severity, message),
        };
        event.status = status;
        event.method = get_str(obj, "httpRequest.requestMethod").map(str::to_string);
        event.path = get_str(obj, "httpRequest.requestUrl").map(|u| url_path(u).to_string());
        event.client = get_str(obj, "httpRequest.remoteIp").map(|c| strip_port(c).to_string());
        event.latency_ms = get_str(obj, "httpRequest.latency").and_then(duration_ms);
        if let Some(service) = SERVICE_LABELS.iter().find_map(|k| get_str(obj, k)) {
            event.service = Some(service.to_string());
        }
        event.request_id = get_str(obj, "trace").map(str::to_string);
        if let Some(payload) = payload {
            fill_fields(payload, &mut event);
        }
        if let Some(t) = get_str(obj, "resource.type") {
            event
                .attrs
                .push(("resource_type".to_string(), t.to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["gcp", "gcloud", "stackdriver", "cloudlogging"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn request_entry_and_text_entry() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(GcpLogEntry.example()).unwrap();
        assert!(GcpLogEntry.sniff_json(&v) > 90);
        GcpLogEntry.parse_json(&v, &mut cx, &mut out);
        let e = &out[0];
        assert_eq!(e.status, Some(503));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.service.as_deref(), Some("auth-api"));
        assert_eq!(e.kind, Some(SourceKind::Web));
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        let text = r#"{"insertId":"a1","logName":"projects/acme/logs/cloudsql.googleapis.com%2Fpostgres.log","resource":{"type":"cloudsql_database","labels":{"database_id":"acme:auth-db"}},"severity":"ERROR","textPayload":"[311]: [4-1] db=auth,user=app ERROR:  relation \"sessions\" does not exist","timestamp":"2023-10-15T19:00:02Z"}"#;
        GcpLogEntry.parse(text, &mut cx, &mut out);
        assert_eq!(out[1].kind, Some(SourceKind::Db));
        assert_eq!(out[1].severity, Severity::Error);
        assert_eq!(out[1].service.as_deref(), Some("acme:auth-db"));
        assert_eq!(out[1].user.as_deref(), Some("app"));
        assert_eq!(out[1].message, "relation \"sessions\" does not exist");
    }
}
