//! End to end: runs the built binary on the bundled reference incident and checks the story it
//! tells against the truth in `expected.json`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;

const FIXTURE: &str = "fixtures/auth-db-outage";

/// The parts of `summary.json` these tests read, decoded into types of their own.
#[derive(Debug, Deserialize)]
struct Summary {
    schema: String,
    inputs: Vec<Input>,
    outages: Vec<Outage>,
    timeline: Vec<Entry>,
    charts: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Input {
    path: String,
    format: Option<String>,
    lines: u64,
    parsed: u64,
    joined: u64,
    unparsed: u64,
}

#[derive(Debug, Deserialize)]
struct Outage {
    start: String,
    end: String,
    duration_seconds: i64,
    service: String,
    impact: Impact,
    detection: Detection,
    root_cause_candidates: Vec<Candidate>,
}

#[derive(Debug, Deserialize)]
struct Impact {
    users_active: u64,
    users_affected: u64,
    users_affected_pct: f64,
    requests_total: u64,
    requests_failed: u64,
    requests_failed_pct: f64,
    baseline_error_rate: f64,
    peak_error_rate: f64,
}

#[derive(Debug, Deserialize)]
struct Detection {
    first_alert: Option<String>,
    acknowledged: Option<String>,
    resolved: Option<String>,
    time_to_detect_seconds: Option<i64>,
    time_to_acknowledge_seconds: Option<i64>,
    time_to_resolve_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Candidate {
    text: String,
    score: f64,
    reason: String,
    source: String,
}

#[derive(Debug, Deserialize)]
struct Entry {
    time: String,
    kind: String,
    text: String,
}

fn ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad time {s:?}: {e}"))
        .with_timezone(&Utc)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn retrace(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run retrace")
}

/// Runs the report once for all the tests that read it.
fn report() -> &'static (tempfile::TempDir, Summary, serde_json::Value, String) {
    static REPORT: OnceLock<(tempfile::TempDir, Summary, serde_json::Value, String)> =
        OnceLock::new();
    REPORT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("postmortem");
        let output = retrace(&[
            "report",
            FIXTURE,
            "-o",
            out.to_str().unwrap(),
            "--tz",
            "America/New_York",
        ]);
        assert!(
            output.status.success(),
            "retrace failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary_text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
        let summary: Summary = serde_json::from_str(&summary_text).expect("summary.json decodes");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join(FIXTURE).join("expected.json"))
                .expect("expected.json"),
        )
        .expect("expected.json decodes");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (dir, summary, expected, stderr)
    })
}

fn expected_time(expected: &serde_json::Value, pointer: &str) -> DateTime<Utc> {
    ts(expected
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("expected.json lacks {pointer}")))
}

fn expected_f64(expected: &serde_json::Value, pointer: &str) -> f64 {
    expected
        .pointer(pointer)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("expected.json lacks {pointer}"))
}

#[test]
fn finds_exactly_one_outage_with_the_right_window() {
    let (_, s, expected, _) = report();
    assert_eq!(s.schema, "retrace.summary/v1");
    assert_eq!(s.outages.len(), 1, "{:#?}", s.outages);
    let o = &s.outages[0];
    let start_err = (ts(&o.start) - expected_time(expected, "/window/start"))
        .num_seconds()
        .abs();
    let end_err = (ts(&o.end) - expected_time(expected, "/window/end"))
        .num_seconds()
        .abs();
    assert!(start_err <= 60, "start {} off by {start_err} s", o.start);
    assert!(end_err <= 60, "end {} off by {end_err} s", o.end);
    assert!((o.duration_seconds - 7200).abs() <= 120);
    assert_eq!(o.service, "auth-service");
}

#[test]
fn impact_matches_the_truth() {
    let (_, s, expected, _) = report();
    let i = &s.outages[0].impact;
    let want = expected_f64(expected, "/users_affected_pct");
    assert!(
        (i.users_affected_pct - want).abs() <= 2.0,
        "users {} vs {want}",
        i.users_affected_pct
    );
    let want = expected_f64(expected, "/requests_failed_pct");
    assert!(
        (i.requests_failed_pct - want).abs() <= 2.0,
        "requests {} vs {want}",
        i.requests_failed_pct
    );
    assert!(i.users_affected <= i.users_active);
    assert!(i.requests_failed <= i.requests_total);
    assert!(
        i.baseline_error_rate < 0.02,
        "baseline {}",
        i.baseline_error_rate
    );
    assert!(i.peak_error_rate > 0.6, "peak {}", i.peak_error_rate);
}

#[test]
fn detection_times_come_from_alerts_and_pages() {
    let (_, s, expected, _) = report();
    let d = &s.outages[0].detection;
    let first = ts(d.first_alert.as_deref().expect("first alert"));
    assert!(
        (first - expected_time(expected, "/first_alert"))
            .num_seconds()
            .abs()
            <= 1
    );
    let ack = ts(d.acknowledged.as_deref().expect("acknowledged"));
    assert!(
        (ack - expected_time(expected, "/acknowledged"))
            .num_seconds()
            .abs()
            <= 1
    );
    let resolved = ts(d.resolved.as_deref().expect("resolved"));
    assert!(
        (resolved - expected_time(expected, "/resolved"))
            .num_seconds()
            .abs()
            <= 1
    );
    let ttd = d.time_to_detect_seconds.expect("ttd");
    assert!((ttd - expected_f64(expected, "/time_to_detect_seconds") as i64).abs() <= 60);
    assert!(d.time_to_acknowledge_seconds.expect("tta") > 0);
    let ttr = d.time_to_resolve_seconds.expect("ttr");
    assert!((ttr - expected_f64(expected, "/time_to_resolve_seconds") as i64).abs() <= 60);
}

#[test]
fn drop_table_is_the_top_root_cause() {
    let (_, s, _, _) = report();
    let c = &s.outages[0].root_cause_candidates;
    assert!(!c.is_empty());
    assert!(
        c[0].text.contains("DROP TABLE sessions"),
        "top candidate: {:?}",
        c[0]
    );
    assert!(
        c[0].source
            .starts_with(&format!("{FIXTURE}/db/postgresql.log:")),
        "{}",
        c[0].source
    );
    assert!(c[0].reason.contains("sessions"), "{}", c[0].reason);
    assert!(c.iter().skip(1).all(|o| o.score < c[0].score));
}

#[test]
fn timeline_tells_the_story() {
    let (_, s, _, _) = report();
    let kinds: Vec<&str> = s.timeline.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "change",
        "onset",
        "first-error",
        "alert-fired",
        "paged",
        "acknowledged",
        "escalated",
        "mitigation",
        "recovery",
        "alert-resolved",
        "incident-resolved",
    ] {
        assert!(kinds.contains(&kind), "no {kind} entry in {kinds:?}");
    }
    assert!(
        s.timeline
            .windows(2)
            .all(|w| ts(&w[0].time) <= ts(&w[1].time)),
        "timeline out of order"
    );
    let restore = s.timeline.iter().any(|e| {
        e.kind == "mitigation"
            && (e.text.contains("pg_restore")
                || e.text.contains("COPY")
                || e.text.contains("CREATE TABLE"))
    });
    assert!(restore, "no restore step in the timeline");
    let drop = s
        .timeline
        .iter()
        .find(|e| e.kind == "change" && e.text.contains("DROP TABLE sessions"))
        .expect("DROP TABLE entry");
    let onset = s
        .timeline
        .iter()
        .find(|e| e.kind == "onset")
        .expect("onset");
    assert!(ts(&drop.time) < ts(&onset.time));
}

#[test]
fn every_line_is_accounted_for() {
    let (_, s, expected, stderr) = report();
    assert_eq!(s.inputs.len(), 5, "{:?}", s.inputs);
    for i in &s.inputs {
        assert_eq!(i.lines, i.parsed + i.joined + i.unparsed, "{}", i.path);
        assert!(i.format.is_some(), "{} not recognised", i.path);
        assert!(
            stderr.contains(&i.path),
            "stderr does not report {}",
            i.path
        );
        let rel = i.path.trim_start_matches(&format!("{FIXTURE}/"));
        if let Some(lines) = expected
            .pointer(&format!("/lines/{}/lines", rel.replace('/', "~1")))
            .and_then(|v| v.as_u64())
        {
            assert_eq!(i.lines, lines, "{}", i.path);
        }
    }
    let formats: Vec<&str> = s
        .inputs
        .iter()
        .filter_map(|i| i.format.as_deref())
        .collect();
    for f in [
        "json",
        "nginx-access",
        "postgres-stderr",
        "alertmanager-webhook",
        "pagerduty-webhook",
    ] {
        assert!(formats.contains(&f), "{f} not detected: {formats:?}");
    }
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("read png");
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn writes_the_postmortem_and_charts() {
    let (dir, s, _, _) = report();
    let out = dir.path().join("postmortem");
    let md = std::fs::read_to_string(out.join("postmortem.md")).expect("postmortem.md");
    for section in [
        "## Issue Summary",
        "## Timeline",
        "## Root Cause and Resolution",
        "## Corrective and Preventative Measures",
    ] {
        assert!(md.contains(section), "missing {section}");
    }
    assert!(md.contains("America/New_York (EDT"), "zone not named");
    assert!(md.contains("15:00:0"), "onset not in local time");
    assert!(md.contains("DROP TABLE sessions"));
    assert!(s.charts.len() >= 2, "{:?}", s.charts);
    for chart in &s.charts {
        assert!(md.contains(&format!("]({chart})")), "{chart} not linked");
        let (w, h) = png_size(&out.join(chart));
        assert!(w >= 1200 && h >= 600, "{chart} is {w}x{h}");
    }
    assert!(s.charts.iter().any(|c| c.contains("error_rate")));
    assert!(s.charts.iter().any(|c| c.contains("requests")));
}

#[test]
fn postmortem_text_snapshot() {
    let (dir, _, _, _) = report();
    let md = std::fs::read_to_string(dir.path().join("postmortem/postmortem.md")).unwrap();
    insta::assert_snapshot!("reference_postmortem", md);
}

#[test]
fn same_summary_single_threaded() {
    let (dir, _, _, _) = report();
    let first = std::fs::read(dir.path().join("postmortem/summary.json")).unwrap();
    let other = tempfile::tempdir().unwrap();
    let out = other.path().join("pm");
    let output = retrace(&[
        "report",
        FIXTURE,
        "-o",
        out.to_str().unwrap(),
        "--tz",
        "America/New_York",
        "--threads",
        "1",
        "--quiet",
    ]);
    assert!(output.status.success());
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), first);
}

/// The formats' fast paths (with the cached minute times) and one chunk boundary after every
/// few lines read exactly what the full parses read in default chunks.
#[test]
fn same_summary_without_fast_paths_and_in_tiny_chunks() {
    let (dir, _, _, _) = report();
    let first = std::fs::read(dir.path().join("postmortem/summary.json")).unwrap();
    for (fast, chunk) in [("0", "2000000"), ("1", "997"), ("0", "613")] {
        let other = tempfile::tempdir().unwrap();
        let out = other.path().join("pm");
        let output = Command::new(env!("CARGO_BIN_EXE_retrace"))
            .current_dir(root())
            .env("RETRACE_FAST_PATHS", fast)
            .env("RETRACE_CHUNK_BYTES", chunk)
            .args([
                "report",
                FIXTURE,
                "-o",
                out.to_str().unwrap(),
                "--tz",
                "America/New_York",
                "--quiet",
            ])
            .output()
            .expect("run retrace");
        assert!(output.status.success());
        assert_eq!(
            std::fs::read(out.join("summary.json")).unwrap(),
            first,
            "fast paths {fast}, chunks of {chunk} bytes"
        );
    }
}

#[test]
fn refuses_to_overwrite_a_non_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let output = retrace(&["report", FIXTURE, "-o", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn missing_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pm");
    let output = retrace(&["report", "no/such/folder", "-o", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("no/such/folder") && err.contains("no such file"),
        "{err}"
    );
}
