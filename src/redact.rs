//! PII redaction for report text: user ids, e-mail addresses, IP addresses and secrets (tokens,
//! passwords, API keys, session ids) in log text are replaced by a placeholder before the text
//! reaches a report. File names, line numbers, times and counts are never touched, so every
//! redacted line can still be found in the input at its `file:line`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Placeholders, in angle brackets so they cannot be mistaken for a real value.
pub const USER: &str = "<user>";
pub const EMAIL: &str = "<email>";
pub const IP: &str = "<ip>";
pub const TOKEN: &str = "<token>";

/// What a value stops at: whitespace, quotes and the punctuation that closes a field.
const VALUE: &str = r#"[^\s"',;&)}\]<>]+"#;
/// `=`, `:`, or JSON's `": "`, between a key and its value.
const SEPARATOR: &str = r#"["']?\s*[=:]\s*["']?"#;

static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*").expect("static regex")
});
static AUTH_SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})").expect("static regex")
});
/// Secrets named by their key: `password=…`, `"api_key": "…"`, `Authorization: Bearer …`.
static SECRET_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b((?:[a-z0-9]+[_-])*(?:token|secret|password|passwd|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|auth|cookie|session[_-]?id|sessionid|sid|credentials?))({SEPARATOR})((?:(?:bearer|basic)\s+)?){VALUE}"
    ))
    .expect("static regex")
});
static EMAIL_ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
        .expect("static regex")
});
/// Users named by their key: `user=…`, `"user_id":"…"`, `customer_id: …`.
static USER_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b((?:[a-z0-9]+[_-])?(?:user|username|user[_-]?name|user[_-]?id|userid|uid|customer(?:[_-]?id)?|account[_-]?id|member[_-]?id|e-?mail))({SEPARATOR}){VALUE}"
    ))
    .expect("static regex")
});
/// PostgreSQL and friends quote the user: `password authentication failed for user "bob"`.
static QUOTED_USER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\b(user\s+)"[^"]*""#).expect("static regex"));
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\b",
    )
    .expect("static regex")
});
/// Full and `::`-compressed IPv6; a match without a digit ("dead::beef") is left alone below,
/// since real addresses nearly always have one and code (`add::def`) rarely does.
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?",
    )
    .expect("static regex")
});
/// Long opaque strings (session tokens, keys, hashes): 32+ letters and digits, with both.
static OPAQUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9_-]{32,}\b").expect("static regex"));

/// Replaces the personal data and secrets in `text`; borrowed when there is nothing to replace.
pub fn redact(text: &str) -> Cow<'_, str> {
    // Secrets first: a token may contain what looks like an address or an e-mail.
    let mut out = Cow::Borrowed(text);
    replace(&mut out, &JWT, |_| TOKEN.to_string());
    replace(&mut out, &SECRET_FIELD, |c| {
        format!("{}{}{}{TOKEN}", &c[1], &c[2], &c[3])
    });
    replace(&mut out, &AUTH_SCHEME, |c| {
        // "basic authentication failed" is prose; a credential has digits.
        if c[2].bytes().any(|b| b.is_ascii_digit()) {
            format!("{} {TOKEN}", &c[1])
        } else {
            c[0].to_string()
        }
    });
    replace(&mut out, &EMAIL_ADDRESS, |_| EMAIL.to_string());
    replace(&mut out, &USER_FIELD, |c| {
        format!("{}{}{USER}", &c[1], &c[2])
    });
    replace(&mut out, &QUOTED_USER, |c| format!("{}\"{USER}\"", &c[1]));
    replace(&mut out, &IPV4, |_| IP.to_string());
    replace(&mut out, &IPV6, |c| {
        let m = &c[0];
        let groups = m.split(':').filter(|g| !g.is_empty()).count();
        if m.bytes().any(|b| b.is_ascii_digit()) && groups >= 2 {
            IP.to_string()
        } else {
            m.to_string()
        }
    });
    replace(&mut out, &OPAQUE, |c| {
        let m = &c[0];
        let digits = m.bytes().filter(u8::is_ascii_digit).count();
        let letters = m.bytes().filter(u8::is_ascii_alphabetic).count();
        // Long snake_case names (`sessions_expires_at_idx_v2`) have few digits; tokens have many.
        if digits >= 4 && letters >= 4 {
            TOKEN.to_string()
        } else {
            m.to_string()
        }
    });
    out
}

/// Applies one rule; the text stays borrowed unless a replacement really changed it (some rules
/// give a match back unchanged after a second look).
fn replace(text: &mut Cow<'_, str>, pattern: &Regex, with: impl Fn(&Captures) -> String) {
    if let Cow::Owned(new) = pattern.replace_all(text, |c: &Captures| with(c))
        && new != **text
    {
        *text = Cow::Owned(new);
    }
}

/// Redaction as the user asked for it: on by default, off with `--no-redact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redaction {
    pub enabled: bool,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction { enabled: true }
    }
}

impl Redaction {
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.enabled {
            redact(text)
        } else {
            Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_emails_and_addresses() {
        assert_eq!(
            redact("login ok user=u-00412 took=12ms from 10.0.4.17:5432"),
            "login ok user=<user> took=12ms from <ip>:5432"
        );
        assert_eq!(
            redact(r#"{"user_id":"u-10608","message":"hi"}"#),
            r#"{"user_id":"<user>","message":"hi"}"#
        );
        assert_eq!(
            redact("password reset sent to jane.doe+ops@example.co.uk"),
            "password reset sent to <email>"
        );
        assert_eq!(
            redact("password authentication failed for user \"bob\""),
            "password authentication failed for user \"<user>\""
        );
        assert_eq!(
            redact("client 2001:db8::8a2e:370:7334 and fe80::1 connected"),
            "client <ip> and <ip> connected"
        );
        assert_eq!(
            redact("connection authorized: user=dba_maria database=auth application_name=psql"),
            "connection authorized: user=<user> database=auth application_name=psql"
        );
    }

    #[test]
    fn secrets() {
        assert_eq!(
            redact("Authorization: Bearer abcdef0123456789.xyz"),
            "Authorization: Bearer <token>"
        );
        assert_eq!(
            redact("retrying with password=hunter2 and api_key: 'k-1'"),
            "retrying with password=<token> and api_key: '<token>'"
        );
        assert_eq!(
            redact("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl ok"),
            "jwt <token> ok"
        );
        assert_eq!(
            redact(
                "session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 expired"
            ),
            "session <token> expired"
        );
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "relation \"sessions\" does not exist at character 13",
            "statement: DROP TABLE sessions;",
            "checkpoint complete at 15:00:00.007 (wrote 312 buffers)",
            "deployed auth-service v2.31.0 (build 2031)",
            "use std::io::Write and Foo::bar",
            "CREATE INDEX sessions_expires_at_idx ON public.sessions USING btree (expires_at);",
            "POST /api/v1/login 500",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn can_be_turned_off() {
        let off = Redaction { enabled: false };
        assert_eq!(off.apply("user=alice"), "user=alice");
        assert_eq!(Redaction::default().apply("user=alice"), "user=<user>");
    }
}
