//! Opsgenie: webhook payloads (`{"action":"Acknowledge","alert":{...}}`) and alert objects of the
//! REST API (one alert, or `{"data":[...]}`), whose `report.ackTime`/`closeTime` (milliseconds
//! after creation) give the acknowledgement and closing times.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get, get_i64, get_str, has};
use super::json_app::time_value;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, NS_PER_SEC, PageAction, PageInfo, Severity, SourceKind, TimeNs};

pub struct Opsgenie;

fn is_alert(obj: &Map<String, Value>) -> bool {
    has(obj, "tinyId") && has(obj, "message") && has(obj, "createdAt")
}

fn webhook_action(action: &str) -> PageAction {
    match action {
        "Create" => PageAction::Triggered,
        "Acknowledge" => PageAction::Acknowledged,
        "Close" => PageAction::Resolved,
        "Escalate" | "EscalateNext" => PageAction::Escalated,
        "AssignOwnership" | "TakeOwnership" | "AddResponder" => PageAction::Reassigned,
        "AddNote" => PageAction::Annotated,
        _ => PageAction::Other,
    }
}

fn page_event(
    time: TimeNs,
    action: PageAction,
    alert: &Map<String, Value>,
    agent: Option<&str>,
    what: &str,
) -> Event {
    let title = get_str(alert, "message").unwrap_or("");
    let id = get_str(alert, "alertId")
        .or_else(|| get_str(alert, "id"))
        .unwrap_or("");
    let mut message = format!("alert {what}: {title}");
    if let Some(agent) = agent {
        message.push_str(&format!(" (by {agent})"));
    }
    let mut event = Event::new(time, SourceKind::Page, Severity::Info, message);
    event.page = Some(PageInfo {
        action,
        incident_id: id.to_string(),
        title: title.to_string(),
        agent: agent.map(str::to_string),
    });
    if let Some(priority) = get_str(alert, "priority") {
        event
            .attrs
            .push(("priority".to_string(), priority.to_string()));
    }
    event
}

/// A REST alert: created, then acknowledged and closed after the report's delays.
fn alert_events(alert: &Map<String, Value>, cx: &mut FileContext, out: &mut Vec<Event>) {
    let Some(created) = get(alert, "createdAt").and_then(|t| time_value(t, cx)) else {
        return;
    };
    out.push(page_event(
        created,
        PageAction::Triggered,
        alert,
        None,
        "created",
    ));
    let after = |ms: i64| created + ms * (NS_PER_SEC / 1000);
    if let Some(ack) = get_i64(alert, "report.ackTime") {
        let by = get_str(alert, "report.acknowledgedBy");
        out.push(page_event(
            after(ack),
            PageAction::Acknowledged,
            alert,
            by,
            "acknowledged",
        ));
    }
    if let Some(close) = get_i64(alert, "report.closeTime") {
        let by = get_str(alert, "report.closedBy");
        out.push(page_event(
            after(close),
            PageAction::Resolved,
            alert,
            by,
            "closed",
        ));
    }
}

impl LineFormat for Opsgenie {
    fn name(&self) -> &'static str {
        "opsgenie"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Page
    }

    fn example(&self) -> &'static str {
        r#"{"action":"Acknowledge","alert":{"alertId":"70413a06-38d6-4c85-92b8-5ebc900d42e2","message":"AuthErrorRateHigh","tinyId":"1791","priority":"P1","createdAt":1697397912301,"updatedAt":1697398324518000000,"username":"dana@example.com"},"source":{"name":"","type":"mobile"},"integrationName":"Alertmanager","integrationType":"Prometheus"}"#
    }

    fn fields(&self) -> &'static str {
        "webhooks: time (updatedAt), action, alert id, message, user; REST alerts: created, acknowledged (+ackTime) and closed (+closeTime) events"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if has(obj, "action")
            && obj.get("alert").is_some_and(Value::is_object)
            && (has(obj, "integrationName") || has(obj, "source"))
        {
            96
        } else if is_alert(obj)
            || obj
                .get("data")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().filter_map(Value::as_object).any(is_alert))
        {
            92
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let before = out.len();
        if let (Some(action), Some(alert)) = (
            get_str(obj, "action"),
            obj.get("alert").and_then(Value::as_object),
        ) {
            let time = get(alert, "updatedAt")
                .or_else(|| get(alert, "createdAt"))
                .and_then(|t| time_value(t, cx));
            if let Some(time) = time {
                let agent = get_str(alert, "username").filter(|u| *u != "System");
                let what = action.to_ascii_lowercase();
                out.push(page_event(
                    time,
                    webhook_action(action),
                    alert,
                    agent,
                    &what,
                ));
            }
        } else if is_alert(obj) {
            alert_events(obj, cx, out);
        } else if let Some(data) = obj.get("data").and_then(Value::as_array) {
            for alert in data.iter().filter_map(Value::as_object) {
                alert_events(alert, cx, out);
            }
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no Opsgenie alert with a time"));
        }
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["opsgenie"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn webhook_and_rest_alert() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(Opsgenie.example()).unwrap();
        assert!(Opsgenie.sniff_json(&v) > 90);
        Opsgenie.parse_json(&v, &mut cx, &mut out);
        let p = out[0].page.as_ref().unwrap();
        assert_eq!(p.action, PageAction::Acknowledged);
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:32:04.518Z");
        let rest = r#"{"id":"70413a06","tinyId":"1791","message":"AuthErrorRateHigh","status":"closed","acknowledged":true,"createdAt":"2023-10-15T19:05:12.301Z","report":{"ackTime":412217,"closeTime":7230000,"acknowledgedBy":"dana@example.com","closedBy":"System"}}"#;
        let v: Value = serde_json::from_str(rest).unwrap();
        assert!(Opsgenie.sniff_json(&v) > 90);
        Opsgenie.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(
            out[2].page.as_ref().unwrap().action,
            PageAction::Acknowledged
        );
        assert_eq!(format_utc(out[2].time), "2023-10-15T19:12:04.518Z");
        assert_eq!(out[3].page.as_ref().unwrap().action, PageAction::Resolved);
    }
}
