//! OpenTelemetry logs as OTLP/JSON: an `ExportLogsServiceRequest` (`resourceLogs[].scopeLogs[]
//! .logRecords[]`, as the collector's file exporter writes one per line, or as one document), or
//! bare log records. `timeUnixNano` (else `observedTimeUnixNano`), `severityNumber`/`severityText`,
//! `body`, attributes as `{key, value: {stringValue|intValue|...}}`.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get, get_str, has};
use super::{FileContext, LineFormat, LineOutcome, http_severity, strip_port};
use crate::event::{Event, Severity, SourceKind, TimeNs};

pub struct OtlpJson;

/// An `AnyValue` as text.
fn any_value(v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    let (kind, inner) = obj.iter().next()?;
    match kind.as_str() {
        "stringValue" => inner.as_str().map(str::to_string),
        "intValue" => match inner {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        },
        "doubleValue" | "boolValue" => Some(inner.to_string()),
        // Arrays, maps and bytes: kept as their JSON.
        _ => Some(inner.to_string()),
    }
}

/// `[{key, value}]` attributes as key/value pairs.
fn attributes(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|attrs| {
            attrs
                .iter()
                .filter_map(|a| {
                    let key = a.get("key")?.as_str()?;
                    Some((key.to_string(), any_value(a.get("value")?)?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn nanos(v: Option<&Value>) -> Option<TimeNs> {
    match v? {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

fn find<'a>(attrs: &'a [(String, String)], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    })
}

fn record_event(
    record: &Map<String, Value>,
    resource: &[(String, String)],
    scope: Option<&str>,
) -> Option<Event> {
    let time =
        nanos(record.get("timeUnixNano")).or_else(|| nanos(record.get("observedTimeUnixNano")))?;
    let attrs = attributes(record.get("attributes"));
    let status = find(&attrs, &["http.response.status_code", "http.status_code"])
        .and_then(|s| s.parse::<u16>().ok());
    let severity = match record.get("severityNumber").and_then(Value::as_i64) {
        Some(n) if n > 0 => Severity::from_otel(n),
        _ => get_str(record, "severityText")
            .and_then(Severity::from_word)
            .unwrap_or_else(|| status.map_or(Severity::Info, http_severity)),
    };
    let message = record.get("body").and_then(any_value).unwrap_or_default();
    let mut event = Event::new(time, SourceKind::App, severity, message);
    event.status = status;
    event.service = find(resource, &["service.name"]).map(str::to_string);
    event.method = find(&attrs, &["http.request.method", "http.method"]).map(str::to_string);
    event.path = find(&attrs, &["url.path", "http.target", "http.route"]).map(str::to_string);
    event.client = find(&attrs, &["client.address", "net.peer.ip", "http.client_ip"])
        .map(|c| strip_port(c).to_string());
    event.user = find(&attrs, &["enduser.id", "user.id"]).map(str::to_string);
    event.latency_ms =
        find(&attrs, &["http.server.duration", "duration_ms"]).and_then(|d| d.parse::<f64>().ok());
    event.request_id = get_str(record, "traceId")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    if let Some(scope) = scope {
        event.attrs.push(("scope".to_string(), scope.to_string()));
    }
    for (k, v) in attrs.into_iter().take(16) {
        event.attrs.push((k, v));
    }
    Some(event)
}

impl LineFormat for OtlpJson {
    fn name(&self) -> &'static str {
        "otlp-json"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"auth-api"}}]},"scopeLogs":[{"scope":{"name":"auth.http"},"logRecords":[{"timeUnixNano":"1697396401204131000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"login failed"},"attributes":[{"key":"http.response.status_code","value":{"intValue":"500"}},{"key":"enduser.id","value":{"stringValue":"u-00412"}}],"traceId":"5b8efff798038103d269b633813fc60c"}]}]}]}"#
    }

    fn fields(&self) -> &'static str {
        "time (timeUnixNano, else observed), severity (severityNumber or text), body, service.name, scope, trace id, HTTP status/method/path, client, user from attributes"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if obj.get("resourceLogs").is_some_and(Value::is_array) {
            98
        } else if (has(obj, "timeUnixNano") || has(obj, "observedTimeUnixNano"))
            && (has(obj, "body") || has(obj, "severityNumber"))
        {
            88
        } else {
            0
        }
    }

    fn parse_json(
        &self,
        value: &Value,
        _cx: &mut FileContext,
        out: &mut Vec<Event>,
    ) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let before = out.len();
        match obj.get("resourceLogs").and_then(Value::as_array) {
            Some(resource_logs) => {
                for rl in resource_logs {
                    let resource = attributes(get(
                        rl.as_object().unwrap_or(&Map::new()),
                        "resource.attributes",
                    ));
                    let scopes = rl
                        .get("scopeLogs")
                        .or_else(|| rl.get("instrumentationLibraryLogs"))
                        .and_then(Value::as_array);
                    for sl in scopes.into_iter().flatten() {
                        let scope = sl
                            .get("scope")
                            .or_else(|| sl.get("instrumentationLibrary"))
                            .and_then(|s| s.get("name"))
                            .and_then(Value::as_str);
                        let records = sl.get("logRecords").and_then(Value::as_array);
                        for record in records.into_iter().flatten().filter_map(Value::as_object) {
                            if let Some(event) = record_event(record, &resource, scope) {
                                out.push(event);
                            }
                        }
                    }
                }
            }
            None => {
                if let Some(event) = record_event(obj, &[], None) {
                    out.push(event);
                }
            }
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no log record with a time"));
        }
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["otlp", "otel"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn export_request() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(OtlpJson.example()).unwrap();
        assert!(OtlpJson.sniff_json(&v) > 90);
        assert_eq!(
            OtlpJson.parse_json(&v, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        assert_eq!(e.service.as_deref(), Some("auth-api"));
        assert_eq!(e.attr("scope"), Some("auth.http"));
    }
}
