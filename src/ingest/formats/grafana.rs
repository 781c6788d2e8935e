//! Grafana unified alerting webhook payloads: Alertmanager's webhook shape plus `orgId`, `state`,
//! `title` and per-alert `values`, `dashboardURL`, `fingerprint`.

use std::borrow::Cow;

use serde_json::Value;

use super::alertmanager::alert_event;
use super::json::has;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct GrafanaWebhook;

impl LineFormat for GrafanaWebhook {
    fn name(&self) -> &'static str {
        "grafana-webhook"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Alert
    }

    fn example(&self) -> &'static str {
        r#"{"receiver":"oncall","status":"firing","orgId":1,"alerts":[{"status":"firing","labels":{"alertname":"AuthErrorRateHigh","service":"auth-api","severity":"critical"},"annotations":{"summary":"5xx above 5% for 5m"},"startsAt":"2023-10-15T19:05:12.301Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"c6eadffa33fcdf37","values":{"B":0.31}}],"groupLabels":{},"commonLabels":{"alertname":"AuthErrorRateHigh"},"version":"1","groupKey":"{}:{alertname=\"AuthErrorRateHigh\"}","state":"alerting","title":"[FIRING:1] AuthErrorRateHigh"}"#
    }

    fn fields(&self) -> &'static str {
        "per alert: time (startsAt/endsAt), alert name, state, fingerprint, severity label, service label, summary"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let alerts = obj.get("alerts").is_some_and(Value::is_array);
        // `truncatedAlerts` is Alertmanager's too; these are Grafana's own.
        let grafana_alert = |a: &Value| {
            a.get("dashboardURL").is_some()
                || a.get("values").is_some()
                || a.get("silenceURL").is_some()
        };
        let grafana = has(obj, "orgId")
            || (has(obj, "state") && has(obj, "title"))
            || obj
                .get("alerts")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(grafana_alert));
        if alerts && grafana { 99 } else { 0 }
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
            if let Some(mut event) = alert_event(alert, group, cx) {
                event
                    .attrs
                    .push(("source".to_string(), "grafana".to_string()));
                out.push(event);
            }
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no alert with a name, status and time"));
        }
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["grafana", "alert"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::AlertState;
    use crate::ingest::formats::ParseContext;
    use crate::ingest::formats::alertmanager::AlertmanagerWebhook;

    #[test]
    fn grafana_beats_alertmanager_on_its_payload() {
        let v: Value = serde_json::from_str(GrafanaWebhook.example()).unwrap();
        assert!(GrafanaWebhook.sniff_json(&v) > AlertmanagerWebhook.sniff_json(&v));
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        GrafanaWebhook.parse_json(&v, &mut cx, &mut out);
        let a = out[0].alert.as_ref().unwrap();
        assert_eq!(a.name, "AuthErrorRateHigh");
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(a.fingerprint, "c6eadffa33fcdf37");
    }
}
