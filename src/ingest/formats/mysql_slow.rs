//! MySQL / MariaDB / Percona slow query log: multi-line records
//! (`# Time:`, `# User@Host:`, `# Query_time:`..., `SET timestamp=N;`, then the statement).
//! The record is counted from its first line; MySQL leaves `# Time:` out when it has not
//! changed, so the last one seen carries over.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, Multiline, append_continuation};
use crate::event::{Event, NS_PER_SEC, Severity, SourceKind, TimeNs};
use crate::time::{parse_clock, parse_epoch_text};

pub struct MysqlSlow;

static USER_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^# User@Host: (?P<user>[^\[\s]*)\[[^\]]*\] @ (?P<host>\S*) \[(?P<ip>[^\]]*)\]")
        .expect("static regex")
});
static NUMBER_FIELDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\w+): +([\d.]+)").expect("static regex"));

/// What the header lines of the record being read said.
#[derive(Default)]
struct Record {
    /// The last `# Time:` seen (it carries over to records that leave it out).
    time: Option<TimeNs>,
    /// The record being read has its own `# Time:` line.
    own_time: bool,
    user: Option<String>,
    client: Option<String>,
    database: Option<String>,
    numbers: Vec<(String, String)>,
    /// Inside a record's statement (after `SET timestamp`).
    in_body: bool,
}

fn header_time(text: &str, cx: &mut FileContext) -> Option<TimeNs> {
    let text = text.trim();
    if let Ok(t) = cx.iso(text) {
        return Some(t);
    }
    // Before 5.7: `# Time: 231015 15:00:01` (local time, hour maybe unpadded).
    let (date, clock) = text.split_once(char::is_whitespace)?;
    if date.len() != 6 {
        return None;
    }
    let year = 2000 + date[..2].parse::<i32>().ok()?;
    let naive =
        chrono::NaiveDate::from_ymd_opt(year, date[2..4].parse().ok()?, date[4..].parse().ok()?)?
            .and_time(parse_clock(&format!("{:0>8}", clock.trim()))?);
    cx.local(&naive).ok()
}

/// `# Key: ...`: one of the comment lines of a record's header.
fn is_header_comment(line: &str) -> bool {
    line.strip_prefix("# ")
        .and_then(|rest| rest.split(':').next())
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

pub fn is_preamble(line: &str) -> bool {
    line.contains(", Version: ") && line.ends_with("started with:")
        || line.starts_with("Tcp port: ")
        || (line.starts_with("Time ") && line.contains("Id Command"))
}

impl MysqlSlow {
    fn event(record: &mut Record, time: TimeNs, statement: Option<&str>) -> Event {
        let query_time = record
            .numbers
            .iter()
            .find(|(k, _)| k == "Query_time")
            .and_then(|(_, v)| v.parse::<f64>().ok());
        let message = match statement {
            Some(sql) => format!("slow query: {}", sql.trim()),
            None => "slow query".to_string(),
        };
        let mut event = Event::new(time, SourceKind::Db, Severity::Warn, message);
        event.service = Some("mysql".to_string());
        event.user = record.user.take();
        event.client = record.client.take();
        event.latency_ms = query_time.map(|s| s * 1000.0);
        if let Some(db) = record.database.take() {
            event.attrs.push(("database".to_string(), db));
        }
        for (k, v) in record.numbers.drain(..) {
            event.attrs.push((k.to_ascii_lowercase(), v));
        }
        if let Some(sql) = statement {
            event
                .attrs
                .push(("statement".to_string(), sql.trim().to_string()));
        }
        record.in_body = true;
        record.own_time = false;
        event
    }
}

impl LineFormat for MysqlSlow {
    /// Not cut into chunks: a record's header lines and its `# Time:` carry over.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "mysql-slow"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "# Time: 2023-10-15T19:00:01.204131Z"
    }

    fn fields(&self) -> &'static str {
        "time (# Time / SET timestamp), user, client, database, query time (latency), lock time, rows sent/examined, statement"
    }

    fn sniff(&self, line: &str) -> u8 {
        if line.starts_with("# Time: ")
            || line.starts_with("# User@Host: ")
            || line.starts_with("# Query_time: ")
        {
            95
        } else if line.starts_with("SET timestamp=") {
            90
        } else if is_preamble(line) || is_header_comment(line) {
            80
        } else {
            0
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        if let Some(rest) = line.strip_prefix("# Time: ") {
            let time = header_time(rest, cx);
            let record = cx.state::<Record>();
            *record = Record {
                time: time.or(record.time),
                own_time: time.is_some(),
                ..Record::default()
            };
            return LineOutcome::Prefix;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let record = cx.state::<Record>();
            if let Some(c) = USER_HOST.captures(line) {
                // A record without its own `# Time:` starts here.
                record.user = None;
                record.client = None;
                record.database = None;
                record.numbers.clear();
                record.user = Some(c["user"].to_string()).filter(|u| !u.is_empty());
                record.client = Some(c["ip"].to_string())
                    .filter(|ip| !ip.is_empty())
                    .or_else(|| Some(c["host"].to_string()).filter(|h| !h.is_empty()));
            } else if let Some(schema) = rest.strip_prefix("Schema: ") {
                record.database = schema.split_whitespace().next().map(str::to_string);
            }
            for c in NUMBER_FIELDS.captures_iter(rest) {
                record.numbers.push((c[1].to_string(), c[2].to_string()));
            }
            record.in_body = false;
            return LineOutcome::Prefix;
        }
        if is_preamble(line) {
            cx.state::<Record>().in_body = false;
            return LineOutcome::Parsed;
        }
        let record = cx.state::<Record>();
        if record.in_body {
            return LineOutcome::Continuation;
        }
        if let Some(ts) = line
            .strip_prefix("SET timestamp=")
            .map(|t| t.trim_end_matches(';'))
        {
            let exact = parse_epoch_text(ts).ok();
            // `# Time:` has the fraction when it is the same second.
            let time = match (record.time, exact) {
                (Some(t), Some(e))
                    if record.own_time && t.div_euclid(NS_PER_SEC) == e.div_euclid(NS_PER_SEC) =>
                {
                    t
                }
                (_, Some(e)) => e,
                (Some(t), None) => t,
                (None, None) => {
                    return LineOutcome::Unparsed(Cow::Borrowed("unreadable SET timestamp"));
                }
            };
            out.push(Self::event(record, time, None));
            return LineOutcome::Parsed;
        }
        if let Some(db) = line.strip_prefix("use ") {
            record.database = Some(db.trim_end_matches(';').trim().to_string());
            return LineOutcome::Prefix;
        }
        match record.time {
            // A statement right after the header (no SET timestamp): the record ends here.
            Some(t) if !record.numbers.is_empty() => {
                out.push(Self::event(record, t, Some(line)));
                LineOutcome::Parsed
            }
            _ => LineOutcome::Unparsed(Cow::Borrowed("not part of a slow-log record")),
        }
    }

    fn join(&self, event: &mut Event, line: &str) {
        if event.message == "slow query" {
            event.message = format!("slow query: {}", line.trim());
        }
        append_continuation(event, "statement", line);
    }

    fn multiline(&self) -> Multiline {
        Multiline::AnyLine
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["slow", "mysql"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn record_with_and_without_time_line() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let lines = [
            ("# Time: 2023-10-15T19:00:01.204131Z", LineOutcome::Prefix),
            (
                "# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   881",
                LineOutcome::Prefix,
            ),
            (
                "# Query_time: 4.250113  Lock_time: 0.000102 Rows_sent: 1  Rows_examined: 981233",
                LineOutcome::Prefix,
            ),
            ("use orders;", LineOutcome::Prefix),
            ("SET timestamp=1697396401;", LineOutcome::Parsed),
            (
                "SELECT COUNT(*) FROM order_items",
                LineOutcome::Continuation,
            ),
            (
                "WHERE created_at > NOW() - INTERVAL 1 DAY;",
                LineOutcome::Continuation,
            ),
            (
                "# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   882",
                LineOutcome::Prefix,
            ),
            (
                "# Query_time: 2.0  Lock_time: 0.0 Rows_sent: 0  Rows_examined: 10",
                LineOutcome::Prefix,
            ),
            ("SET timestamp=1697396401;", LineOutcome::Parsed),
        ];
        for (line, want) in lines {
            let mut scratch = Vec::new();
            assert_eq!(MysqlSlow.parse(line, &mut cx, &mut scratch), want, "{line}");
            if want == LineOutcome::Continuation {
                MysqlSlow.join(out.last_mut().unwrap(), line);
            }
            out.extend(scratch);
        }
        assert_eq!(out.len(), 2);
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert!((e.latency_ms.unwrap() - 4250.113).abs() < 1e-6);
        assert_eq!(e.user.as_deref(), Some("shop"));
        assert_eq!(e.client.as_deref(), Some("10.0.4.12"));
        assert_eq!(e.attr("database"), Some("orders"));
        assert_eq!(e.message, "slow query: SELECT COUNT(*) FROM order_items");
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:00:01Z");
        assert!(MysqlSlow.sniff("# Query_time: 2.0  Lock_time: 0.0") > 90);
    }
}
