//! Alertmanager's API v2: `GET /api/v2/alerts` (an array of alerts) and
//! `GET /api/v2/alerts/groups` (an array of groups, each with `alerts[]`), as saved with curl.
//! Each alert is firing since `startsAt`; its `status.state` (active, suppressed, unprocessed)
//! is kept, and suppressed alerts are marked as such.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::alertmanager::fingerprint;
use super::json::{get_str, has};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{AlertInfo, AlertState, Event, Severity, SourceKind};

pub struct AlertmanagerApi;

fn is_api_alert(obj: &Map<String, Value>) -> bool {
    obj.get("status").is_some_and(Value::is_object) && has(obj, "startsAt") && has(obj, "labels")
}

fn alert_event(alert: &Map<String, Value>, cx: &mut FileContext) -> Option<Event> {
    let label = |key: &str| get_str(alert, &format!("labels.{key}"));
    let name = label("alertname")?.to_string();
    let time = cx.iso(get_str(alert, "startsAt")?).ok()?;
    let state = get_str(alert, "status.state").unwrap_or("active");
    let summary = get_str(alert, "annotations.summary")
        .or_else(|| get_str(alert, "annotations.description"))
        .unwrap_or("");
    let mut message = format!("alert {name} firing");
    if state != "active" {
        message.push_str(&format!(" ({state})"));
    }
    if !summary.is_empty() {
        message.push_str(": ");
        message.push_str(summary);
    }
    let severity = if state == "active" {
        Severity::Warn
    } else {
        Severity::Info
    };
    let mut event = Event::new(time, SourceKind::Alert, severity, message);
    event.service = label("service")
        .or_else(|| label("job"))
        .map(str::to_string);
    event.alert = Some(AlertInfo {
        name,
        state: AlertState::Firing,
        fingerprint: fingerprint(alert),
        severity_label: label("severity").map(str::to_string),
    });
    event.attrs.push(("state".to_string(), state.to_string()));
    if let Some(updated) = get_str(alert, "updatedAt") {
        event
            .attrs
            .push(("updated_at".to_string(), updated.to_string()));
    }
    Some(event)
}

impl LineFormat for AlertmanagerApi {
    fn name(&self) -> &'static str {
        "alertmanager-api"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Alert
    }

    fn example(&self) -> &'static str {
        r#"{"annotations":{"summary":"5xx above 5% for 5m"},"endsAt":"2023-10-15T19:12:12.301Z","fingerprint":"4f1c2e9a","receivers":[{"name":"pagerduty"}],"startsAt":"2023-10-15T19:05:12.301Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"},"updatedAt":"2023-10-15T19:08:12.301Z","labels":{"alertname":"AuthErrorRateHigh","service":"auth-api","severity":"critical"}}"#
    }

    fn fields(&self) -> &'static str {
        "per alert: time (startsAt), alert name, state (active/suppressed), fingerprint, severity label, service label, summary"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if is_api_alert(obj) {
            return 95;
        }
        // A group: alerts[] of API alerts and a receiver object (the webhook has a string).
        let group_alerts = obj
            .get("alerts")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().filter_map(Value::as_object).any(is_api_alert));
        if group_alerts && obj.get("receiver").is_some_and(Value::is_object) {
            95
        } else if group_alerts {
            85
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let before = out.len();
        if is_api_alert(obj) {
            out.extend(alert_event(obj, cx));
        } else if let Some(alerts) = obj.get("alerts").and_then(Value::as_array) {
            for alert in alerts.iter().filter_map(Value::as_object) {
                if let Some(mut event) = alert_event(alert, cx) {
                    if let Some(receiver) = get_str(obj, "receiver.name") {
                        event
                            .attrs
                            .push(("receiver".to_string(), receiver.to_string()));
                    }
                    out.push(event);
                }
            }
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no alert with a name and start time"));
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
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn alert_and_group() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(AlertmanagerApi.example()).unwrap();
        assert!(AlertmanagerApi.sniff_json(&v) > 90);
        AlertmanagerApi.parse_json(&v, &mut cx, &mut out);
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:05:12.301Z");
        assert_eq!(out[0].alert.as_ref().unwrap().fingerprint, "4f1c2e9a");
        let group = format!(
            r#"{{"alerts":[{}],"labels":{{"alertname":"AuthErrorRateHigh"}},"receiver":{{"name":"pagerduty"}}}}"#,
            AlertmanagerApi
                .example()
                .replace("\"active\"", "\"suppressed\"")
        );
        let v: Value = serde_json::from_str(&group).unwrap();
        assert!(AlertmanagerApi.sniff_json(&v) > 90);
        AlertmanagerApi.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out[1].attr("state"), Some("suppressed"));
        assert_eq!(out[1].severity, Severity::Info);
        assert_eq!(out[1].attr("receiver"), Some("pagerduty"));
    }
}
