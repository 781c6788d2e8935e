//! `retrace events` end to end: the normalized stream in JSON lines and Parquet, time order across
//! rotated files, years taken from other inputs, naive times across a DST change, ambiguous zone
//! abbreviations reported, JSON documents and unknown files accounted for.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use polars::prelude::{ParquetReader, SerReader};
use serde_json::Value;

const FIXTURE: &str = "fixtures/auth-db-outage";

fn retrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retrace"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run retrace")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The count in the closing "N events written" line.
fn events_written(err: &str) -> u64 {
    err.lines()
        .find_map(|l| {
            l.split_once(" events written")
                .map(|(n, _)| n.trim().to_string())
        })
        .and_then(|n| n.rsplit(' ').next().and_then(|n| n.parse().ok()))
        .unwrap_or_else(|| panic!("no event count in:\n{err}"))
}

fn jsonl(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .expect("read output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn times(rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .map(|r| r["time_ns"].as_i64().expect("time_ns"))
        .collect()
}

#[test]
fn parquet_holds_every_event_reported() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("e.parquet");
    let out = retrace(&[
        "events",
        FIXTURE,
        "--format",
        "parquet",
        "-o",
        parquet.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = events_written(&stderr(&out));
    let frame = ParquetReader::new(fs::File::open(&parquet).unwrap())
        .finish()
        .expect("read the Parquet file back");
    assert_eq!(frame.height() as u64, written);
    assert!(frame.column("time_ns").is_ok() && frame.column("status").is_ok());

    // The same stream as JSON lines: same count, in time order.
    let lines = dir.path().join("e.jsonl");
    let out = retrace(&["events", FIXTURE, "-o", lines.to_str().unwrap(), "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = jsonl(&lines);
    assert_eq!(rows.len() as u64, written);
    let t = times(&rows);
    assert!(
        t.windows(2).all(|w| w[0] <= w[1]),
        "events out of time order"
    );
}

#[test]
fn rotated_files_merge_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let line = |minute: u32, second: u32| {
        format!(
            "{{\"timestamp\":\"2023-10-15T15:{minute:02}:{second:02}Z\",\"level\":\"info\",\"service\":\"auth\",\"message\":\"tick\"}}\n"
        )
    };
    // x.log.2.gz is the oldest, x.log the newest; each file is in order, with overlaps at the edges.
    let mut oldest = String::new();
    let mut middle = String::new();
    let mut newest = String::new();
    for s in 0..30 {
        oldest.push_str(&line(0, s * 2));
        middle.push_str(&line(1, s * 2));
        newest.push_str(&line(2, s * 2));
    }
    oldest.push_str(&line(1, 1));
    middle.push_str(&line(2, 3));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(oldest.as_bytes()).unwrap();
    fs::write(dir.path().join("x.log.2.gz"), gz.finish().unwrap()).unwrap();
    fs::write(dir.path().join("x.log.1"), &middle).unwrap();
    fs::write(dir.path().join("x.log"), &newest).unwrap();
    let out_path = dir.path().join("out.jsonl");
    let out = retrace(&[
        "events",
        dir.path().to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = jsonl(&out_path);
    assert_eq!(rows.len(), 92);
    let t = times(&rows);
    assert!(
        t.windows(2).all(|w| w[0] <= w[1]),
        "rotated files not merged in time order"
    );
}

#[test]
fn yearless_syslog_takes_the_year_of_the_other_inputs() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("app.jsonl"),
        "{\"timestamp\":\"2021-12-31T23:50:00Z\",\"level\":\"error\",\"message\":\"db down\"}\n\
         {\"timestamp\":\"2022-01-01T00:10:00Z\",\"level\":\"info\",\"message\":\"db back\"}\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("messages"),
        "Dec 31 23:55:01 db-1 postgres[311]: FATAL: the database system is shutting down\n\
         Jan  1 00:05:09 db-1 systemd[1]: Started PostgreSQL.\n",
    )
    .unwrap();
    let out_path = dir.path().join("out.jsonl");
    let out = retrace(&[
        "events",
        dir.path().to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows = jsonl(&out_path);
    let syslog: Vec<&str> = rows
        .iter()
        .filter(|r| r["file"].as_str().is_some_and(|f| f.ends_with("messages")))
        .map(|r| r["time"].as_str().unwrap())
        .collect();
    assert_eq!(syslog, ["2021-12-31T23:55:01Z", "2022-01-01T00:05:09Z"]);
    assert!(err.contains("take it from the other inputs"), "{err}");
}

#[test]
fn naive_times_take_the_assumed_zone_across_the_dst_change() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    // Python logging writes local time without a zone. New York fell back on 2023-11-05 at 02:00
    // EDT (01:00 EST): 01:30 happened twice, the earlier instant is taken.
    fs::write(
        &log,
        "2023-11-05 00:30:00,000 INFO before the change\n\
         2023-11-05 01:30:00,000 WARNING inside the repeated hour\n\
         2023-11-05 02:30:00,000 ERROR after the change\n\
         2023-03-12 02:30:00,000 ERROR in the hour skipped in spring\n",
    )
    .unwrap();
    let out_path = dir.path().join("out.jsonl");
    let out = retrace(&[
        "events",
        log.to_str().unwrap(),
        "--assume-tz",
        "America/New_York",
        "-o",
        out_path.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let rows = jsonl(&out_path);
    let got: Vec<&str> = rows.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert_eq!(
        got,
        [
            "2023-11-05T04:30:00Z",
            "2023-11-05T05:30:00Z",
            "2023-11-05T07:30:00Z"
        ]
    );
    assert!(
        err.contains("4 lines = 3 parsed + 0 joined + 1 unparsed"),
        "{err}"
    );
    assert!(err.contains(":4: unreadable time"), "{err}");
}

#[test]
fn ambiguous_abbreviations_are_reported_and_settled_by_assume_tz() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("postgresql.log");
    fs::write(
        &log,
        "2024-01-15 10:00:00.000 CST [311] ERROR:  deadlock detected\n\
         2024-01-15 10:00:05.000 CST [311] LOG:  checkpoint starting: time\n",
    )
    .unwrap();
    let run = |tz: &str| {
        let out_path = dir.path().join(format!("{}.jsonl", tz.replace('/', "-")));
        let out = retrace(&[
            "events",
            log.to_str().unwrap(),
            "--assume-tz",
            tz,
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        (stderr(&out), jsonl(&out_path))
    };
    let (err, rows) = run("UTC");
    assert!(err.contains("zone abbreviation CST is ambiguous"), "{err}");
    assert_eq!(rows[0]["time"], "2024-01-15T16:00:00Z");
    let (err, rows) = run("Asia/Shanghai");
    assert!(!err.contains("ambiguous"), "{err}");
    assert_eq!(rows[0]["time"], "2024-01-15T02:00:00Z");
}

#[test]
fn json_documents_and_unknown_files_are_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("alerts.json"),
        r#"[
  {
    "labels": {"alertname": "AuthErrorRateHigh", "service": "auth"},
    "annotations": {"summary": "5xx above 5%"},
    "startsAt": "2023-10-15T19:05:12.301Z",
    "endsAt": "2023-10-15T19:20:12.301Z",
    "updatedAt": "2023-10-15T19:06:12.301Z",
    "fingerprint": "4f1c",
    "receivers": [{"name": "pager"}],
    "status": {"state": "active", "silencedBy": [], "inhibitedBy": []}
  },
  {
    "labels": {"alertname": "DiskSpaceLow"},
    "startsAt": "2023-10-15T17:20:00Z",
    "endsAt": "2023-10-15T19:20:00Z",
    "fingerprint": "77aa",
    "receivers": [{"name": "slack"}],
    "status": {"state": "suppressed", "silencedBy": ["s-1"], "inhibitedBy": []}
  }
]
"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("notes.txt"),
        "call with the DBA at 3pm\nrestore ran for two hours\n",
    )
    .unwrap();
    let out_path = dir.path().join("out.jsonl");
    let out = retrace(&[
        "events",
        dir.path().to_str().unwrap(),
        "-o",
        out_path.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("alerts.json: alertmanager-api")
            && err.contains("20 lines = 2 parsed + 18 joined + 0 unparsed"),
        "{err}"
    );
    assert!(err.contains("notes.txt: format not recognised"), "{err}");
    assert!(
        err.contains("2 lines = 0 parsed + 0 joined + 2 unparsed"),
        "{err}"
    );
    let rows = jsonl(&out_path);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["alert_name"], "DiskSpaceLow");
    assert_eq!(rows[1]["line"], 2);
}

#[test]
fn report_diagnostics_carry_the_reading_notes() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    fs::write(
        logs.join("postgresql.log"),
        "2024-01-15 10:00:00.000 IST [311] LOG:  database system is ready to accept connections\n",
    )
    .unwrap();
    let pm = dir.path().join("pm");
    let out = retrace(&[
        "report",
        logs.to_str().unwrap(),
        "-o",
        pm.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(pm.join("summary.json")).unwrap()).unwrap();
    let notes = summary["diagnostics"]["notes"].as_array().expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("IST is ambiguous"))),
        "{notes:?}"
    );
}
