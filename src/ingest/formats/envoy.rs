//! Envoy access logs: the default text format (`[start] "METHOD PATH PROTO" code flags rx tx
//! duration upstream_time "xff" "ua" "request id" "authority" "upstream"`) and JSON access logs
//! with Envoy's field names (`response_code`, `method`, `path`/`x-envoy-origin-path`,
//! `duration`, `downstream_remote_address`...).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get_f64, get_status, get_str, has};
use super::{
    FileContext, LineFormat, LineOutcome, http_severity, split_fields, split_request, strip_port,
};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_iso;

pub struct EnvoyAccess;

/// The client: the first address of X-Forwarded-For, else the downstream peer.
fn client_of(xff: Option<&str>, peer: Option<&str>) -> Option<String> {
    xff.and_then(|x| x.split(',').next())
        .map(str::trim)
        .filter(|x| !x.is_empty() && *x != "-")
        .or(peer)
        .map(|a| strip_port(a).to_string())
}

fn json_event(obj: &Map<String, Value>, cx: &mut FileContext) -> Option<Event> {
    let time = get_str(obj, "start_time")
        .and_then(|t| cx.iso(t).ok())
        .or(cx.parse.record_time)?;
    // Envoy writes 0 when no response was sent (downstream reset).
    let status = get_status(obj, "response_code");
    let method = get_str(obj, "method");
    let path = get_str(obj, "x-envoy-origin-path").or_else(|| get_str(obj, "path"));
    let mut event = Event::new(
        time,
        SourceKind::Web,
        status.map_or(Severity::Warn, http_severity),
        format!(
            "\"{} {}\" {}",
            method.unwrap_or("-"),
            path.unwrap_or("-"),
            status.map_or("-".to_string(), |s| s.to_string())
        ),
    );
    event.status = status;
    event.method = method.map(str::to_string);
    event.path = path.map(str::to_string);
    event.latency_ms = get_f64(obj, "duration");
    event.client = client_of(
        get_str(obj, "x-forwarded-for"),
        get_str(obj, "downstream_remote_address"),
    );
    event.request_id = get_str(obj, "x-request-id").map(str::to_string);
    event.service = Some("envoy".to_string());
    for (key, field) in [
        ("authority", ":authority"),
        ("upstream_cluster", "upstream_cluster"),
        ("response_flags", "response_flags"),
        ("user_agent", "user-agent"),
    ] {
        if let Some(v) = get_str(obj, field).filter(|v| *v != "-") {
            event.attrs.push((key.to_string(), v.to_string()));
        }
    }
    Some(event)
}

fn text_event(line: &str, cx: &mut FileContext) -> Option<Event> {
    let fields = split_fields(line);
    let start = fields.first()?.strip_prefix('[')?.strip_suffix(']')?;
    let time = cx.iso(start).ok()?;
    let request = *fields.get(1)?;
    let status = fields.get(2)?.parse::<u16>().ok();
    if fields.len() < 11 {
        return None;
    }
    let (method, path) = split_request(request);
    let mut event = Event::new(
        time,
        SourceKind::Web,
        status.map_or(Severity::Warn, http_severity),
        format!("\"{request}\" {}", fields[2]),
    );
    event.status = status.filter(|s| (100..600).contains(s));
    event.method = method.map(str::to_string);
    event.path = path.map(str::to_string);
    event.latency_ms = fields[6].parse::<f64>().ok();
    event.client = client_of(Some(fields[8]), None);
    event.request_id = Some(fields[10].to_string()).filter(|r| r != "-");
    event.service = Some("envoy".to_string());
    if fields[3] != "-" {
        event
            .attrs
            .push(("response_flags".to_string(), fields[3].to_string()));
    }
    if let Some(authority) = fields.get(11) {
        event
            .attrs
            .push(("authority".to_string(), authority.to_string()));
    }
    Some(event)
}

impl LineFormat for EnvoyAccess {
    fn name(&self) -> &'static str {
        "envoy-access"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        r#"[2023-10-15T19:00:01.204Z] "POST /api/v1/login HTTP/1.1" 503 UF 412 91 12 - "203.0.113.7" "Mozilla/5.0" "9f1c2a4e-6b1d-4c0e-9d1a-3f6e2b7c8d90" "auth.example.com" "10.0.2.15:8080""#
    }

    fn fields(&self) -> &'static str {
        "time (start), method, path, status, response flags, latency (duration), client (X-Forwarded-For or downstream peer), request id, authority, upstream cluster"
    }

    fn sniff(&self, line: &str) -> u8 {
        if !line.starts_with('[') {
            return 0;
        }
        let fields = split_fields(line);
        let time_ok = fields
            .first()
            .and_then(|f| f.strip_prefix('[')?.strip_suffix(']'))
            .is_some_and(|t| parse_iso(t, &Default::default()).is_ok());
        let request_ok = fields.get(1).is_some_and(|r| split_request(r).0.is_some());
        let code_ok = fields.get(2).is_some_and(|c| c.parse::<u16>().is_ok());
        if time_ok && request_ok && code_ok && fields.len() >= 11 {
            92
        } else {
            0
        }
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if !has(obj, "response_code") {
            return 0;
        }
        let envoyish = [
            "upstream_cluster",
            "response_flags",
            ":authority",
            "x-envoy-origin-path",
            "downstream_remote_address",
            "upstream_host",
        ]
        .iter()
        .filter(|k| has(obj, k))
        .count();
        match envoyish {
            0 => 0,
            1 => 70,
            _ => 93,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        if line.trim_start().starts_with('{') {
            return match super::json::parse_value(line) {
                Ok(v) => self.parse_json(&v, cx, out),
                Err(reason) => LineOutcome::Unparsed(Cow::Borrowed(reason)),
            };
        }
        match text_event(line, cx) {
            Some(event) => {
                out.push(event);
                LineOutcome::Parsed
            }
            None => LineOutcome::Unparsed(Cow::Borrowed("not an Envoy access log line")),
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        match value.as_object().and_then(|obj| json_event(obj, cx)) {
            Some(event) => {
                out.push(event);
                LineOutcome::Parsed
            }
            None => LineOutcome::Unparsed(Cow::Borrowed("Envoy access log record without a time")),
        }
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["envoy", "istio"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn text_and_json() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert!(EnvoyAccess.sniff(EnvoyAccess.example()) > 90);
        assert_eq!(
            EnvoyAccess.parse(EnvoyAccess.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(e.status, Some(503));
        assert_eq!(e.latency_ms, Some(12.0));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.attr("response_flags"), Some("UF"));
        let json = r#"{":authority":"auth.example.com","bytes_received":412,"bytes_sent":91,"downstream_remote_address":"[2001:db8::7]:51544","duration":12,"method":"POST","path":"/api/v1/login","protocol":"HTTP/1.1","response_code":503,"response_flags":"UF","start_time":"2023-10-15T19:00:01.204Z","upstream_cluster":"auth","x-forwarded-for":null,"x-request-id":"9f1c2a"}"#;
        let v: Value = serde_json::from_str(json).unwrap();
        assert!(EnvoyAccess.sniff_json(&v) > 90);
        assert_eq!(
            EnvoyAccess.parse(json, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[1].client.as_deref(), Some("2001:db8::7"));
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[1].status, Some(503));
    }
}
