//! `--notes FILE` end to end: a responder's lines land in the timeline at the right instant
//! (report zone, date from the incident), bad lines are reported with file:line, and a missing
//! file fails before any log is read. Also `--svg`.

mod report_common;

use report_common::{report, retrace};

const FIXTURE: &str = "fixtures/auth-db-outage";

#[test]
fn notes_are_merged_into_the_timeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.txt");
    std::fs::write(
        &notes,
        "# our own notes\n15:20 rolled back deploy 2031\n- 16:38 - Maria starts the restore of sessions\nlunch break\n2023-10-15 17:30 | status page closed\n",
    )
    .unwrap();
    let out = dir.path().join("pm");
    let run = report(&[
        FIXTURE,
        "-o",
        out.to_str().unwrap(),
        "--tz",
        "America/New_York",
        "--notes",
        notes.to_str().unwrap(),
        "--svg",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let bad = format!("{}:4: warning", notes.display());
    assert!(
        stderr.contains(&bad),
        "bad line not reported as {bad}: {stderr}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let timeline = summary["timeline"].as_array().expect("timeline");
    let note = |text: &str| {
        timeline
            .iter()
            .find(|e| e["text"].as_str() == Some(text))
            .unwrap_or_else(|| panic!("no timeline entry {text:?}"))
    };
    // 15:20 EDT on the incident's day is 19:20 UTC.
    let rollback = note("rolled back deploy 2031");
    assert_eq!(rollback["time"], "2023-10-15T19:20:00Z");
    assert_eq!(rollback["kind"], "note");
    assert_eq!(
        rollback["source"].as_str(),
        Some(format!("{}:2", notes.display()).as_str())
    );
    assert_eq!(
        note("Maria starts the restore of sessions")["time"],
        "2023-10-15T20:38:00Z"
    );
    assert_eq!(note("status page closed")["time"], "2023-10-15T21:30:00Z");
    let problems = summary["diagnostics"]["note_problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["line"], 4);
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = timeline
        .iter()
        .filter_map(|e| e["time"].as_str())
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("RFC 3339 time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "timeline out of order"
    );

    let md = std::fs::read_to_string(out.join("postmortem.md")).unwrap();
    let row = md
        .lines()
        .find(|l| l.contains("rolled back deploy 2031"))
        .expect("note in the Markdown");
    assert!(row.starts_with("| 15:20:00 | Note (team) |"), "{row}");
    assert!(
        md.contains("team note (rollback): rolled back deploy 2031"),
        "{md}"
    );
    assert!(
        md.contains("not a timeline line"),
        "bad line not in the appendix"
    );

    // --svg: each chart also as SVG, listed apart from the PNGs.
    let svgs = summary["charts_svg"].as_array().unwrap();
    assert_eq!(svgs.len(), 4);
    for svg in svgs {
        let text = std::fs::read_to_string(out.join(svg.as_str().unwrap())).unwrap();
        assert!(text.starts_with("<svg"), "{text:.100}");
        assert!(text.contains("width=\"1400\"") && text.contains("height=\"700\""));
        assert!(text.contains("DejaVu Sans"));
        assert!(!text.contains("retrace-dejavu-sans"));
    }
    assert!(md.contains("(charts/error_rate.svg)"));
}

#[test]
fn a_missing_notes_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pm");
    let output = retrace(&[
        "report",
        FIXTURE,
        "-o",
        out.to_str().unwrap(),
        "--notes",
        "no/such/notes.txt",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--notes no/such/notes.txt"), "{err}");
    assert!(!err.contains("outage(s) found"), "{err}");
}
