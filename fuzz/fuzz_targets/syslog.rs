//! Syslog (RFC 3164 with its year inference, RFC 5424) and the formats carried in it.
#![no_main]

use std::sync::LazyLock;

use retrace::ingest::formats::LineFormat;

#[path = "common.rs"]
mod common;

static FAMILY: LazyLock<Vec<&'static dyn LineFormat>> =
    LazyLock::new(|| common::family(&["syslog", "syslog-5424", "postgres-syslog", "haproxy"]));

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::forced(data, &FAMILY));
