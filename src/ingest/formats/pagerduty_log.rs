//! PagerDuty REST API log entries (`GET /log_entries`, `GET /incidents/{id}/log_entries`): the
//! response (`{"log_entries":[...]}`), an array of entries, or one entry per line. Each entry is
//! a paging event: trigger, acknowledge, escalate, assign, annotate, resolve.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get_str, has};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, PageAction, PageInfo, Severity, SourceKind};

pub struct PagerDutyLogEntries;

fn is_entry(obj: &Map<String, Value>) -> bool {
    get_str(obj, "type").is_some_and(|t| t.ends_with("_log_entry")) && has(obj, "created_at")
}

fn action_of(kind: &str) -> PageAction {
    match kind.trim_end_matches("_log_entry") {
        "trigger" => PageAction::Triggered,
        "acknowledge" => PageAction::Acknowledged,
        "escalate" => PageAction::Escalated,
        "assign" | "delegate" | "reassign" => PageAction::Reassigned,
        "annotate" => PageAction::Annotated,
        "resolve" => PageAction::Resolved,
        _ => PageAction::Other,
    }
}

fn entry_event(entry: &Map<String, Value>, cx: &mut FileContext) -> Option<Event> {
    let kind = get_str(entry, "type")?;
    let time = cx.iso(get_str(entry, "created_at")?).ok()?;
    let title = get_str(entry, "incident.summary").unwrap_or("");
    let agent = get_str(entry, "agent.summary");
    let summary = get_str(entry, "summary").unwrap_or(kind);
    let mut message = summary.to_string();
    if !title.is_empty() {
        message.push_str(" — ");
        message.push_str(title);
    }
    if let Some(note) = get_str(entry, "channel.summary").filter(|_| kind.starts_with("annotate")) {
        message.push_str(": ");
        message.push_str(note);
    }
    let mut event = Event::new(time, SourceKind::Page, Severity::Info, message);
    event.service = get_str(entry, "service.summary").map(str::to_string);
    event.page = Some(PageInfo {
        action: action_of(kind),
        incident_id: get_str(entry, "incident.id").unwrap_or("").to_string(),
        title: title.to_string(),
        agent: agent.map(str::to_string),
    });
    Some(event)
}

impl LineFormat for PagerDutyLogEntries {
    fn name(&self) -> &'static str {
        "pagerduty-log-entries"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Page
    }

    fn example(&self) -> &'static str {
        r#"{"id":"R2XGXEI3W0FHMZ3","type":"acknowledge_log_entry","summary":"Acknowledged by Dana Whitfield.","created_at":"2023-10-15T19:12:04Z","agent":{"id":"PX1","type":"user_reference","summary":"Dana Whitfield"},"channel":{"type":"mobile"},"service":{"id":"PSV","summary":"auth-service"},"incident":{"id":"Q2K8FJ3","type":"incident_reference","summary":"[#4211] AuthErrorRateHigh"}}"#
    }

    fn fields(&self) -> &'static str {
        "time (created_at), paging action (entry type), incident id and title, agent, service, note"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if is_entry(obj) {
            96
        } else if obj.get("log_entries").is_some_and(Value::is_array) {
            97
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let before = out.len();
        match obj.get("log_entries").and_then(Value::as_array) {
            Some(entries) => {
                for entry in entries.iter().filter_map(Value::as_object) {
                    out.extend(entry_event(entry, cx));
                }
            }
            None => out.extend(entry_event(obj, cx)),
        }
        if out.len() == before {
            return LineOutcome::Unparsed(Cow::Borrowed("no log entry with a type and time"));
        }
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["pagerduty", "log_entries", "paging"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;

    #[test]
    fn response_with_entries() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let response = format!(
            r#"{{"log_entries":[{},{}],"limit":25,"offset":0,"more":false}}"#,
            PagerDutyLogEntries.example(),
            PagerDutyLogEntries
                .example()
                .replace("acknowledge_log_entry", "resolve_log_entry")
                .replace("19:12:04", "21:05:42")
        );
        let v: Value = serde_json::from_str(&response).unwrap();
        assert!(PagerDutyLogEntries.sniff_json(&v) > 90);
        PagerDutyLogEntries.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out.len(), 2);
        let p = out[0].page.as_ref().unwrap();
        assert_eq!(p.action, PageAction::Acknowledged);
        assert_eq!(p.incident_id, "Q2K8FJ3");
        assert_eq!(p.agent.as_deref(), Some("Dana Whitfield"));
        assert_eq!(out[1].page.as_ref().unwrap().action, PageAction::Resolved);
    }
}
