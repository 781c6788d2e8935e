//! Reading a file cut into chunks parsed apart (what `report` does) must account for its lines
//! exactly as reading it in one pass does, whatever the chunk size and with or without the
//! formats' fast paths.

#![no_main]

use retrace::aggregate::Aggregates;
use retrace::ingest::InputFile;
use retrace::ingest::run::{IngestOptions, Tuning, ingest_split_with};

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let name = common::name_for(selector);
    // One file read both ways (its modification time can be the year of year-less lines).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, rest).expect("write fuzz input");
    let file = InputFile {
        path,
        display: name.to_string(),
        size: rest.len() as u64,
    };
    let whole = common::ingest_file_once(&file, None);
    let options = IngestOptions {
        assume_tz: chrono_tz::UTC,
        formats: Vec::new(),
        threads: 2,
        progress: false,
    };
    let tuning = Tuning {
        chunk_bytes: 1 + (selector as usize % 8) * 7,
        fast_paths: selector & 0x80 == 0,
    };
    let parts = ingest_split_with(&[file], &options, tuning, |_| Aggregates::default())
        .expect("split ingestion");
    let split = &parts[0].0;
    let counts = |r: &retrace::ingest::InputReport| {
        (
            r.format,
            r.lines,
            r.parsed,
            r.joined,
            r.unparsed,
            r.blank,
            r.truncated_lines,
            r.events,
            r.first,
            r.last,
        )
    };
    assert_eq!(counts(&whole), counts(split), "chunk {tuning:?}");
    assert_eq!(whole.notes, split.notes, "chunk {tuning:?}");
});
