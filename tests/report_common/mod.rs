//! Helpers shared by the report tests: running the binary, and a small synthetic incident whose
//! log text is hostile (markup, links, control characters) and full of personal data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn retrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run retrace")
}

/// Runs `retrace report` and fails with its stderr when it does not succeed.
pub fn report(args: &[&str]) -> Output {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let out = retrace(&all);
    assert!(
        out.status.success(),
        "retrace {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Log text that tries every way of breaking out of a Markdown or HTML document.
pub const HOSTILE_DEPLOY: &str = "deployed auth v1.2.3 <script>alert(1)</script> [a](javascript:alert(1)) | col | `tick` **bold** \u{1b}[31mRED\u{1b}[0m \u{202E}gnp.exe";
pub const HOSTILE_CONFIG: &str = "received SIGHUP, reloading configuration files ![x](http://evil.example/p.png) <img src=x onerror=alert(2)> &lt;b&gt; $x^2$ ~~s~~ # h";
pub const HOSTILE_ERROR: &str = "login failed for jane.doe@example.com from 203.0.113.9: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl </td></tr><tr><td>";

/// Writes a three-hour app log (UTC, 2024-05-14 10:00–13:00) with an outage from 11:00 to 12:00
/// whose failures carry [`HOSTILE_ERROR`], preceded by two hostile changes.
pub fn write_hostile_incident(dir: &Path) -> PathBuf {
    use std::fmt::Write;
    let mut log = String::new();
    let line = |log: &mut String, value: serde_json::Value| {
        let _ = writeln!(log, "{value}");
    };
    let at = |seconds: u32| {
        format!(
            "2024-05-14T{:02}:{:02}:{:02}Z",
            10 + seconds / 3600,
            (seconds / 60) % 60,
            seconds % 60
        )
    };
    for s in (0..3 * 3600).step_by(3) {
        if s == 3600 - 30 {
            line(
                &mut log,
                serde_json::json!({"timestamp": at(s), "level": "info", "service": "auth", "message": HOSTILE_DEPLOY}),
            );
        }
        if s == 3600 - 12 {
            line(
                &mut log,
                serde_json::json!({"timestamp": at(s), "level": "info", "service": "auth", "message": HOSTILE_CONFIG}),
            );
        }
        let user = format!("u-{}", 1000 + (s / 3) % 97);
        let client = format!("203.0.113.{}", (s / 3) % 200 + 1);
        let failing = (3600..7200).contains(&s) && s % 10 != 0;
        let value = if failing {
            serde_json::json!({"timestamp": at(s), "level": "error", "service": "auth", "message": HOSTILE_ERROR, "user_id": user, "client_ip": client, "method": "POST", "path": "/login", "status": 500})
        } else {
            serde_json::json!({"timestamp": at(s), "level": "info", "service": "auth", "message": format!("login ok for user_id={user}"), "user_id": user, "client_ip": client, "method": "POST", "path": "/login", "status": 200})
        };
        line(&mut log, value);
    }
    let path = dir.join("app.jsonl");
    std::fs::write(&path, log).expect("write log");
    path
}
