//! Change events: the log lines that say something was changed (DDL, deploys, restarts, config
//! reloads, failovers, restores). They are kept for the timeline and root-cause ranking.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::event::{Event, Severity};

/// What kind of change a line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Schema change: DROP/TRUNCATE/ALTER/CREATE/RENAME.
    Ddl,
    /// Bulk data change by hand: DELETE/UPDATE statements.
    DataChange,
    Migration,
    Deploy,
    Config,
    Restart,
    Failover,
    /// Data coming back: pg_restore, COPY ... FROM, "restored from backup".
    Restore,
    Rollback,
    /// Routine upkeep: VACUUM, ANALYZE, REINDEX run by hand.
    Maintenance,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Ddl => "ddl",
            ChangeKind::DataChange => "data-change",
            ChangeKind::Migration => "migration",
            ChangeKind::Deploy => "deploy",
            ChangeKind::Config => "config",
            ChangeKind::Restart => "restart",
            ChangeKind::Failover => "failover",
            ChangeKind::Restore => "restore",
            ChangeKind::Rollback => "rollback",
            ChangeKind::Maintenance => "maintenance",
        }
    }

    /// Actions that usually end an outage rather than start one.
    pub fn is_mitigation(self) -> bool {
        matches!(self, ChangeKind::Restore | ChangeKind::Rollback)
    }
}

/// A classified change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: ChangeKind,
    /// The operation as written, upper-cased for SQL (`DROP TABLE`, `deploy`).
    pub operation: String,
    /// The object changed (`sessions`), without schema or quotes.
    pub object: Option<String>,
    /// Whether the change destroys data or makes an object unavailable.
    pub destructive: bool,
}

static DDL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(DROP|TRUNCATE|ALTER|CREATE|RENAME)\s+(?:UNIQUE\s+)?(TABLE|INDEX|SCHEMA|DATABASE|MATERIALIZED\s+VIEW|VIEW|COLUMN|TYPE|SEQUENCE|FUNCTION|TRIGGER|EXTENSION|ROLE|USER|CONSTRAINT)\s+(?:CONCURRENTLY\s+)?(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?:ONLY\s+)?([\w."$]+)"#,
    )
    .expect("static regex")
});
static TRUNCATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|statement:\s*|;\s*)TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?([\w."$]+)"#)
        .expect("static regex")
});
static DATA_CHANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|statement:\s*)(DELETE\s+FROM|UPDATE)\s+(?:ONLY\s+)?([\w."$]+)"#)
        .expect("static regex")
});
static COPY_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bCOPY\s+([\w."$]+)(?:\s*\([^)]*\))?\s+FROM\b"#).expect("static regex")
});
static MAINTENANCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|statement:\s*)(VACUUM|ANALYZE|REINDEX|CLUSTER)\b(?:\s+(?:FULL|VERBOSE|ANALYZE|TABLE|INDEX)\b)*\s*([\w."$]+)?"#)
        .expect("static regex")
});

/// Word patterns for the changes that are not SQL, checked in order.
static WORDS: LazyLock<Vec<(ChangeKind, Regex)>> = LazyLock::new(|| {
    let rules: &[(ChangeKind, &str)] = &[
        (
            ChangeKind::Restore,
            r"(?i)\bpg_restore\b|\brestor(?:e|ed|ing)\b.*\bbackup\b|\bbackup\b.*\brestor(?:e|ed|ing)\b|\bpoint-in-time recovery\b|\brecovery (?:complete|completed|finished)\b",
        ),
        (
            ChangeKind::Rollback,
            r"(?i)\brolled back\b|\brolling back\b|\brollback (?:of|to)\b|\brevert(?:ed|ing)? (?:deploy|release|to)\b",
        ),
        (
            ChangeKind::Failover,
            r"(?i)\bfail(?:ed)? ?over\b|\bswitchover\b|\bpromot(?:ed|ing) to primary\b|\bselected new primary\b|\bbecame (?:leader|primary|master)\b|\breceived promote request\b",
        ),
        (
            ChangeKind::Migration,
            r"(?i)\bmigrat(?:ion|ions|ing|ed)\b.*\b(?:appl|run|start|complet|finish)",
        ),
        (
            ChangeKind::Deploy,
            r"(?i)\bdeploy(?:ed|ing|ment)?\b|\brolled out\b|\brollout\b|\breleased? v?\d+\.\d+",
        ),
        (
            ChangeKind::Config,
            r"(?i)\breceived SIGHUP\b|\breloading configuration\b|\bconfig(?:uration)? (?:re)?load(?:ed)?\b|\bparameter \S+ changed to\b|\bfeature flag\b",
        ),
        (
            ChangeKind::Restart,
            r"(?i)\brestart(?:ed|ing)?\b|\bshutting down\b|\bdatabase system is ready to accept connections\b|\bdatabase system was shut down\b|\breceived (?:fast|smart|immediate) shutdown request\b|\bStarted \w+ in [\d.]+ seconds\b",
        ),
    ];
    rules
        .iter()
        .map(|(k, p)| (*k, Regex::new(p).expect("static regex")))
        .collect()
});

/// Words at least one of which every pattern above needs (ASCII, matched without regard to
/// case): a line holding none of them is no change, and most lines are no change. Only ASCII
/// lines are refused this way, because `(?i)` also lets `K` (Kelvin sign) and `ſ` stand for `k`
/// and `s`.
static KEYWORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    let words = [
        // SQL: COPY_FROM, DDL, TRUNCATE, DATA_CHANGE, MAINTENANCE.
        "copy",
        "drop",
        "truncate",
        "alter",
        "create",
        "rename",
        "delete",
        "update",
        "vacuum",
        "analyze",
        "reindex",
        "cluster",
        // WORDS, in their order: restore, rollback, failover, migration, deploy, config, restart.
        "restor",
        "recovery",
        "roll",
        "revert",
        "fail",
        "switchover",
        "promot",
        "selected new primary",
        "became",
        "migrat",
        "deploy",
        "release",
        "sighup",
        "config",
        "parameter",
        "feature flag",
        "restart",
        "shutting down",
        "shutdown",
        "database system",
        "started",
    ];
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .expect("static keywords")
});

/// Whether `text` holds `needle` (lower-case ASCII), ASCII letters compared without case.
fn contains_ignore_ascii_case(text: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The object name without schema prefix or quotes: `public."sessions"` → `sessions`.
fn object_name(raw: &str) -> String {
    let last = raw.rsplit('.').next().unwrap_or(raw);
    last.trim_matches(|c| c == '"' || c == ';' || c == '(')
        .to_string()
}

/// Whether an event reports a change, and which.
pub fn classify(event: &Event) -> Option<Change> {
    // A failed statement changed nothing; requests are not changes.
    if event.severity >= Severity::Error || event.is_request() {
        return None;
    }
    classify_text(&event.message)
}

pub fn classify_text(text: &str) -> Option<Change> {
    if text.is_ascii() && !KEYWORDS.is_match(text) {
        return None;
    }
    classify_by_patterns(text)
}

/// [`classify_text`] without the keyword prefilter.
fn classify_by_patterns(text: &str) -> Option<Change> {
    let lower_has = |needle: &str| contains_ignore_ascii_case(text, needle);
    if lower_has("automatic vacuum") || lower_has("automatic analyze") {
        return None;
    }
    if let Some(c) = COPY_FROM.captures(text) {
        return Some(Change {
            kind: ChangeKind::Restore,
            operation: "COPY FROM".to_string(),
            object: Some(object_name(&c[1])),
            destructive: false,
        });
    }
    if let Some(c) = DDL.captures(text) {
        let verb = c[1].to_ascii_uppercase();
        let what = c[2]
            .to_ascii_uppercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let destructive = verb == "DROP" || verb == "TRUNCATE" || verb == "RENAME";
        return Some(Change {
            kind: ChangeKind::Ddl,
            operation: format!("{verb} {what}"),
            object: Some(object_name(&c[3])),
            destructive,
        });
    }
    if let Some(c) = TRUNCATE.captures(text) {
        return Some(Change {
            kind: ChangeKind::Ddl,
            operation: "TRUNCATE".to_string(),
            object: Some(object_name(&c[1])),
            destructive: true,
        });
    }
    if let Some(c) = DATA_CHANGE.captures(text) {
        let op = c[1]
            .to_ascii_uppercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        // A DELETE without WHERE empties the table.
        let destructive = op == "DELETE FROM" && !lower_has(" where ");
        return Some(Change {
            kind: ChangeKind::DataChange,
            operation: op,
            object: Some(object_name(&c[2])),
            destructive,
        });
    }
    if let Some(c) = MAINTENANCE.captures(text) {
        return Some(Change {
            kind: ChangeKind::Maintenance,
            operation: c[1].to_ascii_uppercase(),
            object: c.get(2).map(|m| object_name(m.as_str())),
            destructive: false,
        });
    }
    for (kind, pattern) in WORDS.iter() {
        if let Some(m) = pattern.find(text) {
            return Some(Change {
                kind: *kind,
                operation: m.as_str().to_string(),
                object: None,
                destructive: false,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_statements() {
        let c = classify_text("statement: DROP TABLE sessions;").unwrap();
        assert_eq!(c.kind, ChangeKind::Ddl);
        assert_eq!(c.operation, "DROP TABLE");
        assert_eq!(c.object.as_deref(), Some("sessions"));
        assert!(c.destructive);
        let c = classify_text("statement: CREATE INDEX CONCURRENTLY idx_login_attempts_user ON login_attempts (user_id);").unwrap();
        assert_eq!(c.operation, "CREATE INDEX");
        assert!(!c.destructive);
        let c = classify_text("statement: ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (token);").unwrap();
        assert_eq!(c.object.as_deref(), Some("sessions"));
        let c = classify_text("statement: TRUNCATE audit_log;").unwrap();
        assert!(c.destructive);
    }

    #[test]
    fn restore_and_data_changes() {
        let c = classify_text(
            "statement: COPY public.sessions (token, user_id, expires_at) FROM stdin;",
        )
        .unwrap();
        assert_eq!(c.kind, ChangeKind::Restore);
        assert_eq!(c.object.as_deref(), Some("sessions"));
        let c = classify_text(
            "connection authorized: user=postgres database=auth application_name=pg_restore",
        )
        .unwrap();
        assert_eq!(c.kind, ChangeKind::Restore);
        let c = classify_text("statement: DELETE FROM sessions_archive WHERE created_at < now() - interval '90 days';").unwrap();
        assert_eq!(c.kind, ChangeKind::DataChange);
        assert!(!c.destructive);
    }

    #[test]
    fn chatter_is_not_a_change() {
        assert_eq!(
            classify_text("automatic vacuum of table \"auth.public.users\": index scans: 1"),
            None
        );
        assert_eq!(
            classify_text("checkpoint complete: wrote 312 buffers (1.9%)"),
            None
        );
        assert_eq!(classify_text("login succeeded"), None);
        let c = classify_text("statement: VACUUM ANALYZE login_attempts;").unwrap();
        assert_eq!(c.kind, ChangeKind::Maintenance);
        assert_eq!(c.object.as_deref(), Some("login_attempts"));
    }

    #[test]
    fn keyword_prefilter_agrees_with_the_patterns() {
        // Lines with and without a keyword, in odd cases, and non-ASCII lines (which skip the
        // prefilter): the answer is what the patterns alone give.
        let lines = [
            "statement: drop TABLE sessions;",
            "Statement: Update users SET x = 1",
            "duration: 3.476 ms  statement: SELECT user_id FROM sessions WHERE token = $1",
            "checkpoint starting: time",
            "Failed Over to replica-2",
            "STARTED Application in 4.2 seconds",
            "\u{17f}tarted App in 4.2 seconds",
            "Re\u{17f}tarted the worker",
            "Released v2.3 to prod",
            "parameter \"work_mem\" changed to \"64MB\"",
            "AUTOMATIC VACUUM of table x",
            "became LEADER",
            "received fast SHUTDOWN request",
            "login succeeded for user u-1",
            "DELETE FROM t",
        ];
        for line in lines {
            assert_eq!(classify_text(line), classify_by_patterns(line), "{line}");
        }
        assert!(classify_text("Failed Over to replica-2").is_some());
        assert!(classify_text("\u{17f}tarted App in 4.2 seconds").is_some());
        assert!(classify_text("DELETE FROM t").unwrap().destructive);
        assert_eq!(classify_text("checkpoint starting: time"), None);
        assert!(contains_ignore_ascii_case(
            "Automatic VACUUM",
            "automatic vacuum"
        ));
    }

    #[test]
    fn deploys_and_restarts() {
        assert_eq!(
            classify_text("deployed auth-service v2.31.0 (build 2031)")
                .unwrap()
                .kind,
            ChangeKind::Deploy
        );
        assert_eq!(
            classify_text("received SIGHUP, reloading configuration files")
                .unwrap()
                .kind,
            ChangeKind::Config
        );
        assert_eq!(
            classify_text("database system is ready to accept connections")
                .unwrap()
                .kind,
            ChangeKind::Restart
        );
    }
}
