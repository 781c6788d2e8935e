//! PostgreSQL logs: stderr with any prefix, csvlog, syslog and jsonlog, each forced.
#![no_main]

use std::sync::LazyLock;

use retrace::ingest::formats::LineFormat;

#[path = "common.rs"]
mod common;

static FAMILY: LazyLock<Vec<&'static dyn LineFormat>> = LazyLock::new(|| {
    common::family(&[
        "postgres-stderr",
        "postgres-csvlog",
        "postgres-syslog",
        "postgres-jsonlog",
    ])
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::forced(data, &FAMILY));
