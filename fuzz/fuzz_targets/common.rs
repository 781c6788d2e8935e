//! Shared harness: writes the fuzz input to a temporary file and ingests it through the real
//! driver, checking the one invariant that must always hold (every line accounted for).

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use retrace::aggregate::Aggregates;
use retrace::ingest::formats::{FORMATS, LineFormat, ParseContext};
use retrace::ingest::{InputFile, InputReport, ingest_file};

/// File names that steer detection's name hints.
const NAMES: &[&str] = &[
    "app.log",
    "postgresql.log",
    "access.log",
    "alerts.json",
    "pagerduty.jsonl",
    "syslog",
    "mysql-slow.log",
    "metrics.csv",
];

/// Ingests `bytes` as a file named `name`, with `forced` as its format or detection's choice.
pub fn ingest(bytes: &[u8], name: &str, forced: Option<&'static dyn LineFormat>) -> InputReport {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write fuzz input");
    let file = InputFile {
        path,
        display: name.to_string(),
        size: bytes.len() as u64,
    };
    ingest_file_once(&file, forced)
}

/// Ingests a file in one pass into aggregates, checking the accounting.
pub fn ingest_file_once(file: &InputFile, forced: Option<&'static dyn LineFormat>) -> InputReport {
    let mut sink = Aggregates::default();
    let report = ingest_file(
        0,
        file,
        forced,
        &ParseContext::default(),
        Arc::new(AtomicU64::new(0)),
        &mut sink,
    );
    assert_eq!(
        report.lines,
        report.parsed + report.joined + report.unparsed,
        "accounting broken: {report:?}"
    );
    sink.finish();
    report
}

/// A file name chosen by the first byte.
pub fn name_for(selector: u8) -> &'static str {
    NAMES[selector as usize % NAMES.len()]
}

/// The formats of a family, by name, in registry order.
pub fn family(names: &[&str]) -> Vec<&'static dyn LineFormat> {
    FORMATS
        .iter()
        .copied()
        .filter(|f| names.contains(&f.name()))
        .collect()
}

/// Runs `data[1..]` through the format of `family` chosen by `data[0]`.
pub fn forced(data: &[u8], family: &[&'static dyn LineFormat]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if family.is_empty() {
        return;
    }
    let format = family[selector as usize % family.len()];
    ingest(rest, name_for(selector / 16), Some(format));
}
