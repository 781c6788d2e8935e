//! The whole analysis on fuzzed input, then the Markdown, HTML and summary.json renderers: no
//! panic anywhere from ingest to the rendered text.
#![no_main]

use std::collections::BTreeMap;

use retrace::detect::DetectConfig;
use retrace::pipeline::{AnalysisOptions, analyse};
use retrace::redact::Redaction;
use retrace::report::draft::{DraftOptions, draft};
use retrace::report::{html, markdown, summary};

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(common::name_for(selector)), rest).expect("write");
    let options = AnalysisOptions {
        paths: vec![dir.path().to_path_buf()],
        report_tz: chrono_tz::America::New_York,
        assume_tz: chrono_tz::UTC,
        formats: Vec::new(),
        threads: 1,
        progress: false,
        detect: DetectConfig::default(),
        notes: None,
    };
    let Ok(analysis) = analyse(&options) else {
        return;
    };
    for enabled in [true, false] {
        let redaction = Redaction { enabled };
        let doc = draft(
            &analysis,
            &DraftOptions {
                redaction,
                charts: Vec::new(),
            },
        );
        let _ = markdown::render(&doc);
        let _ = html::render(&doc, &BTreeMap::new());
        let _ = summary::render(&analysis, &[], redaction);
    }
});
