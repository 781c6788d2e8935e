//! PagerDuty v3 webhook events (`{"event":{"event_type":"incident.acknowledged",...}}`), one per
//! line or as a JSON document.

use std::borrow::Cow;

use serde_json::Value;

use super::json::get_str;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, PageAction, PageInfo, Severity, SourceKind};

pub struct PagerDutyWebhook;

pub fn action_of(event_type: &str) -> PageAction {
    match event_type.strip_prefix("incident.").unwrap_or(event_type) {
        "triggered" => PageAction::Triggered,
        "acknowledged" => PageAction::Acknowledged,
        "escalated" => PageAction::Escalated,
        "reassigned" | "delegated" => PageAction::Reassigned,
        "annotated" => PageAction::Annotated,
        "resolved" => PageAction::Resolved,
        _ => PageAction::Other,
    }
}

impl LineFormat for PagerDutyWebhook {
    fn name(&self) -> &'static str {
        "pagerduty-webhook"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Page
    }

    fn example(&self) -> &'static str {
        r#"{"event":{"id":"01E…","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2023-10-15T19:12:04Z","agent":{"summary":"Dana Whitfield"},"data":{"id":"Q2K8","title":"AuthErrorRateHigh","service":{"summary":"auth-service"}}}}"#
    }

    fn fields(&self) -> &'static str {
        "time (occurred_at), paging action, incident id, title, agent, service, note content"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        match get_str(obj, "event.event_type") {
            Some(t) if t.starts_with("incident.") || t.starts_with("service.") => 98,
            Some(_) => 60,
            None => 0,
        }
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["pagerduty", "paging", "webhook"]
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(event) = obj.get("event").and_then(Value::as_object) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no \"event\" object"));
        };
        let Some(event_type) = get_str(event, "event_type") else {
            return LineOutcome::Unparsed(Cow::Borrowed("no event_type"));
        };
        let Some(time) = get_str(event, "occurred_at").and_then(|t| cx.iso(t).ok()) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable occurred_at"));
        };
        let action = action_of(event_type);
        let data = event.get("data").and_then(Value::as_object);
        let data_str = |path: &str| data.and_then(|d| get_str(d, path));
        // Notes carry their incident under data.incident; incidents are the data itself.
        let incident_id = data_str("incident.id")
            .or_else(|| data_str("id"))
            .unwrap_or("");
        let title = data_str("title")
            .or_else(|| data_str("incident.summary"))
            .unwrap_or("");
        let agent = get_str(event, "agent.summary");
        let mut message = format!("incident {}", event_type.trim_start_matches("incident."));
        if !title.is_empty() {
            message.push_str(": ");
            message.push_str(title);
        }
        if let Some(agent) = agent {
            message.push_str(" (by ");
            message.push_str(agent);
            message.push(')');
        }
        if let Some(note) = data_str("content") {
            message.push_str(": ");
            message.push_str(note);
        }
        let mut out_event = Event::new(time, SourceKind::Page, Severity::Info, message);
        out_event.service = data_str("service.summary").map(str::to_string);
        out_event.page = Some(PageInfo {
            action,
            incident_id: incident_id.to_string(),
            title: title.to_string(),
            agent: agent.map(str::to_string),
        });
        out.push(out_event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_utc;

    #[test]
    fn acknowledged_incident() {
        let line = r#"{"event":{"id":"5ac6","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2023-10-15T19:12:04.518Z","agent":{"id":"PX1","summary":"Dana Whitfield","type":"user_reference"},"client":null,"data":{"id":"Q2K8FJ3","type":"incident","number":4211,"status":"acknowledged","title":"[FIRING:1] AuthErrorRateHigh","service":{"id":"PSV","summary":"auth-service","type":"service_reference"}}}}"#;
        let mut out = Vec::new();
        let mut cx = FileContext::new(Default::default());
        assert_eq!(
            PagerDutyWebhook.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        let p = e.page.as_ref().unwrap();
        assert_eq!(p.action, PageAction::Acknowledged);
        assert_eq!(p.incident_id, "Q2K8FJ3");
        assert_eq!(p.agent.as_deref(), Some("Dana Whitfield"));
        assert_eq!(e.service.as_deref(), Some("auth-service"));
        assert_eq!(format_utc(e.time), "2023-10-15T19:12:04.518Z");
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(PagerDutyWebhook.sniff_json(&v) > 90);
    }

    #[test]
    fn note_carries_its_incident() {
        let line = r#"{"event":{"event_type":"incident.annotated","occurred_at":"2023-10-15T20:35:00Z","agent":{"summary":"Dana"},"data":{"type":"incident_note","content":"Restoring sessions from backup","incident":{"id":"Q2K8FJ3","summary":"AuthErrorRateHigh"}}}}"#;
        let mut out = Vec::new();
        let mut cx = FileContext::new(Default::default());
        PagerDutyWebhook.parse(line, &mut cx, &mut out);
        let p = out[0].page.as_ref().unwrap();
        assert_eq!(p.action, PageAction::Annotated);
        assert_eq!(p.incident_id, "Q2K8FJ3");
        assert!(out[0].message.contains("Restoring sessions from backup"));
    }
}
