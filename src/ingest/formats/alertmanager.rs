//! Alertmanager webhook payloads (version 4), one per line or as a JSON document: each alert in
//! `alerts[]` becomes an event at its start (firing) or end (resolved).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::get_str;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{AlertInfo, AlertState, Event, Severity, SourceKind};

pub struct AlertmanagerWebhook;

/// Alertmanager writes this for "not ended yet".
fn is_zero_time(s: &str) -> bool {
    s.starts_with("0001-01-01")
}

pub fn label<'a>(
    alert: &'a Map<String, Value>,
    group: &'a Map<String, Value>,
    key: &str,
) -> Option<&'a str> {
    get_str(alert, &format!("labels.{key}"))
        .or_else(|| get_str(group, &format!("commonLabels.{key}")))
}

/// The stable identity of an alert: its fingerprint, else its sorted label set.
pub fn fingerprint(alert: &Map<String, Value>) -> String {
    if let Some(fp) = get_str(alert, "fingerprint") {
        return fp.to_string();
    }
    match alert.get("labels").and_then(Value::as_object) {
        // serde_json's map is ordered by key, so this is canonical.
        Some(labels) => Value::Object(labels.clone()).to_string(),
        None => String::new(),
    }
}

/// The event of one alert of a webhook payload (`group` is the payload, for common labels).
pub fn alert_event(
    alert: &Map<String, Value>,
    group: &Map<String, Value>,
    cx: &mut FileContext,
) -> Option<Event> {
    let name = label(alert, group, "alertname")?.to_string();
    let status = get_str(alert, "status").or_else(|| get_str(group, "status"))?;
    let state = match status {
        "resolved" => AlertState::Resolved,
        _ => AlertState::Firing,
    };
    let starts = get_str(alert, "startsAt").filter(|s| !is_zero_time(s));
    let ends = get_str(alert, "endsAt").filter(|s| !is_zero_time(s));
    let when = match state {
        AlertState::Firing => starts,
        AlertState::Resolved => ends.or(starts),
    }?;
    let time = cx.iso(when).ok()?;
    let summary = get_str(alert, "annotations.summary")
        .or_else(|| get_str(alert, "annotations.description"))
        .or_else(|| get_str(group, "commonAnnotations.summary"))
        .unwrap_or("");
    let state_word = match state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    };
    let message = if summary.is_empty() {
        format!("alert {name} {state_word}")
    } else {
        format!("alert {name} {state_word}: {summary}")
    };
    let severity = match state {
        AlertState::Firing => Severity::Warn,
        AlertState::Resolved => Severity::Info,
    };
    let mut event = Event::new(time, SourceKind::Alert, severity, message);
    event.service = label(alert, group, "service")
        .or_else(|| label(alert, group, "job"))
        .map(str::to_string);
    event.alert = Some(AlertInfo {
        name,
        state,
        fingerprint: fingerprint(alert),
        severity_label: label(alert, group, "severity").map(str::to_string),
    });
    if let Some(receiver) = get_str(group, "receiver") {
        event
            .attrs
            .push(("receiver".to_string(), receiver.to_string()));
    }
    Some(event)
}

impl LineFormat for AlertmanagerWebhook {
    fn name(&self) -> &'static str {
        "alertmanager-webhook"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Alert
    }

    fn example(&self) -> &'static str {
        r#"{"version":"4","status":"firing","receiver":"pager","alerts":[{"status":"firing","labels":{"alertname":"AuthErrorRateHigh","severity":"critical"},"startsAt":"2023-10-15T19:05:12Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"4f1c"}]}"#
    }

    fn fields(&self) -> &'static str {
        "per alert: time (startsAt/endsAt), alert name, state, fingerprint, severity label, service label, summary"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let has_alerts = obj.get("alerts").is_some_and(Value::is_array);
        // Grafana's webhook is Alertmanager's plus `orgId`, `state` and `title`: leave it to it.
        let grafana =
            obj.contains_key("orgId") || (obj.contains_key("state") && obj.contains_key("title"));
        let receiver = obj.get("receiver").is_some_and(Value::is_string);
        match (
            has_alerts,
            obj.contains_key("groupKey") || receiver,
            grafana,
        ) {
            (true, true, false) => 98,
            (true, true, true) => 80,
            (true, false, _) => 60,
            _ => 0,
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(group) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(alerts) = group.get("alerts").and_then(Value::as_array) else {
            return LineOutcome::Unparsed(Cow::Borrowed("webhook payload without alerts[]"));
        };
        let before = out.len();
        for alert in alerts.iter().filter_map(Value::as_object) {
            if let Some(event) = alert_event(alert, group, cx) {
                out.push(event);
            }
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no alert with a name, status and time"));
        }
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["alertmanager", "alert"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_utc;

    #[test]
    fn firing_and_resolved_alerts() {
        let line = r#"{"version":"4","groupKey":"{}:{alertname=\"AuthErrorRateHigh\"}","status":"resolved","receiver":"pagerduty","commonLabels":{"alertname":"AuthErrorRateHigh","service":"auth-service"},"alerts":[{"status":"resolved","labels":{"alertname":"AuthErrorRateHigh","severity":"critical"},"annotations":{"summary":"Auth error rate above 5%"},"startsAt":"2023-10-15T19:05:12.301Z","endsAt":"2023-10-15T21:05:42.018Z","fingerprint":"a1b2c3"},{"status":"firing","labels":{"alertname":"DiskSpaceLow"},"startsAt":"2023-10-15T17:20:00-04:00","endsAt":"0001-01-01T00:00:00Z"}]}"#;
        let mut out = Vec::new();
        let mut cx = FileContext::new(Default::default());
        assert_eq!(
            AlertmanagerWebhook.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out.len(), 2);
        let a = out[0].alert.as_ref().unwrap();
        assert_eq!(a.name, "AuthErrorRateHigh");
        assert_eq!(a.state, AlertState::Resolved);
        assert_eq!(a.fingerprint, "a1b2c3");
        assert_eq!(format_utc(out[0].time), "2023-10-15T21:05:42.018Z");
        assert_eq!(out[0].service.as_deref(), Some("auth-service"));
        let b = out[1].alert.as_ref().unwrap();
        assert_eq!(b.state, AlertState::Firing);
        assert_eq!(format_utc(out[1].time), "2023-10-15T21:20:00Z");
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(AlertmanagerWebhook.sniff_json(&v) > 90);
    }

    #[test]
    fn app_json_is_not_an_alert_payload() {
        let v: Value = serde_json::from_str(r#"{"level":"info","msg":"x"}"#).unwrap();
        assert_eq!(AlertmanagerWebhook.sniff_json(&v), 0);
    }
}
