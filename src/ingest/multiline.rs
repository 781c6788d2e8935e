//! Multi-line records: which lines that are not records of their own continue the record before.
//!
//! The rules, each with the real shape it exists for:
//! - **indented**: a line starting with a space or a tab continues the record above
//!   (`\tat com.example.Foo.bar(Foo.java:42)`, PostgreSQL's `\tpages: 0 removed, 12 remain`,
//!   Python's `  File "app.py", line 3, in handler`).
//! - **java-trace**: `Caused by: ...`, `Suppressed: ...`, `... 12 more` and `at ...` continue.
//! - **python-traceback**: `Traceback (most recent call last):` opens a block; its indented frames
//!   continue it and the first unindented line after them (`KeyError: 'sessions'`) closes it.
//!
//! Anything else that does not parse is an unparsed line, never silently glued to a record.

/// Whether a line, seen on its own, has the shape of a continuation (used when sniffing formats,
/// where there is no state: a Python exception line closing a traceback is not recognised).
pub fn looks_like_continuation(line: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.is_empty() {
        return false;
    }
    line.len() != trimmed.len()
        || trimmed.starts_with("Traceback (most recent call last):")
        || trimmed.starts_with("Caused by:")
        || trimmed.starts_with("Suppressed:")
        || (trimmed.starts_with("at ") && trimmed.contains('('))
        || (trimmed.starts_with("... ") && trimmed.ends_with(" more"))
}

/// State carried between lines of one file.
#[derive(Debug, Default)]
pub struct Joiner {
    in_traceback: bool,
}

impl Joiner {
    /// Whether `line` (which did not parse as a record) continues the previous record.
    pub fn continues(&mut self, line: &str) -> bool {
        let trimmed = line.trim_start();
        let indented = line.len() != trimmed.len();
        if trimmed.starts_with("Traceback (most recent call last):") {
            self.in_traceback = true;
            return true;
        }
        if self.in_traceback {
            if !indented {
                // The exception line that ends a Python traceback.
                self.in_traceback = false;
            }
            return !trimmed.is_empty();
        }
        if indented && !trimmed.is_empty() {
            return true;
        }
        trimmed.starts_with("Caused by:")
            || trimmed.starts_with("Suppressed:")
            || (trimmed.starts_with("at ") && trimmed.contains('('))
            || (trimmed.starts_with("... ") && trimmed.ends_with(" more"))
    }

    /// A record line arrived: any open block is over.
    pub fn record_seen(&mut self) {
        self.in_traceback = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_traceback_block() {
        let mut j = Joiner::default();
        assert!(j.continues("Traceback (most recent call last):"));
        assert!(j.continues("  File \"/srv/auth/cache.py\", line 88, in refresh"));
        assert!(j.continues("    value = client.get(key)"));
        assert!(j.continues("redis.exceptions.ConnectionError: Error 111 connecting"));
        assert!(!j.continues("garbage after the block"));
    }

    #[test]
    fn java_trace_lines() {
        let mut j = Joiner::default();
        assert!(j.continues("\tat com.acme.auth.Login.handle(Login.java:42)"));
        assert!(j.continues("Caused by: java.sql.SQLException: boom"));
        assert!(j.continues("\t... 12 more"));
        assert!(!j.continues("{\"truncated\": "));
        assert!(!j.continues(""));
    }
}
