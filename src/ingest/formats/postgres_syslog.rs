//! PostgreSQL logging to syslog (`log_destination = syslog`): a BSD syslog header, then
//! `postgres[pid]: [N-M] prefix LEVEL:  message`. Parts `[N-2]`, `[N-3]`... continue message N
//! (syslog escapes their tabs as `#011`). Other programs' lines in the same file are read as
//! plain syslog lines.

use std::borrow::Cow;

use super::postgres_stderr::{
    db_event, is_continuation_level, is_split_part, join_continuation, split_level,
};
use super::syslog::{Header, parse_header, syslog_event};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct PostgresSyslog;

fn is_postgres(header: &Header<'_>) -> bool {
    header
        .program()
        .is_some_and(|p| p.starts_with("postgres") || p == "postmaster")
}

impl LineFormat for PostgresSyslog {
    fn name(&self) -> &'static str {
        "postgres-syslog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "Oct 15 15:00:01 db-1 postgres[48301]: [12-1] db=auth,user=app,app=auth-api,client=10.0.3.7 ERROR:  relation \"sessions\" does not exist at character 31"
    }

    fn fields(&self) -> &'static str {
        "syslog time (year from the other inputs or the file's date), pid, user, database, application, client, level, message; [N-2].. parts and DETAIL/STATEMENT lines joined; other programs as syslog events"
    }

    fn sniff(&self, line: &str) -> u8 {
        match parse_header(line) {
            Some(h) if is_postgres(&h) && split_level(h.message).is_some() => 94,
            Some(h) if is_postgres(&h) && is_split_part(h.message) => 90,
            _ => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(header) = parse_header(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no syslog header"));
        };
        if is_postgres(&header) {
            match split_level(header.message) {
                Some(s) if is_continuation_level(s.level) => return LineOutcome::Continuation,
                None if is_split_part(header.message) => return LineOutcome::Continuation,
                _ => {}
            }
        }
        let time = match header.time(cx) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let event = match (is_postgres(&header), split_level(header.message)) {
            (true, Some(s)) => {
                let mut e = db_event(time, s.prefix, s.level, s.message);
                e.attrs.push(("host".to_string(), header.host.to_string()));
                if e.attr("pid").is_none()
                    && let Some(pid) = header.pid
                {
                    e.attrs.push(("pid".to_string(), pid.to_string()));
                }
                e
            }
            _ => syslog_event(&header, time),
        };
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        match parse_header(line) {
            Some(h) => join_continuation(event, h.message),
            None => join_continuation(event, line),
        }
    }

    fn needs_anchor(&self) -> bool {
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["postgres", "pg"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    #[test]
    fn message_parts_and_other_programs() {
        let mut cx = FileContext::new(ParseContext {
            anchor: Some(parse_iso("2023-10-20T00:00:00Z", &Default::default()).unwrap()),
            ..ParseContext::default()
        });
        let mut out = Vec::new();
        let first = "Oct 15 15:00:01 db-1 postgres[48301]: [12-1] db=auth,user=app,app=auth-api,client=10.0.3.7 LOG:  statement: SELECT id,";
        assert_eq!(
            PostgresSyslog.parse(first, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let part = "Oct 15 15:00:01 db-1 postgres[48301]: [12-2] #011  email FROM users";
        assert_eq!(
            PostgresSyslog.parse(part, &mut cx, &mut out),
            LineOutcome::Continuation
        );
        let e = &mut out[0];
        PostgresSyslog.join(e, part);
        assert_eq!(e.attr("continuation"), Some("email FROM users"));
        assert_eq!(e.user.as_deref(), Some("app"));
        assert_eq!(e.attr("database"), Some("auth"));
        assert_eq!(format_utc(e.time), "2023-10-15T15:00:01Z");
        let other = "Oct 15 15:00:05 db-1 systemd[1]: postgresql@15-main.service: Failed with result 'exit-code'.";
        assert_eq!(PostgresSyslog.sniff(other), 0);
        PostgresSyslog.parse(other, &mut cx, &mut out);
        assert_eq!(out[1].kind, Some(SourceKind::System));
        assert_eq!(out[1].severity, Severity::Error);
        assert!(PostgresSyslog.sniff(first) > 90);
    }
}
