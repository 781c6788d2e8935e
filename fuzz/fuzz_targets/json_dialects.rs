//! JSON-line dialects, each forced on the input.
#![no_main]

use std::sync::LazyLock;

use retrace::ingest::formats::LineFormat;

#[path = "common.rs"]
mod common;

static FAMILY: LazyLock<Vec<&'static dyn LineFormat>> = LazyLock::new(|| {
    common::family(&[
        "json",
        "bunyan",
        "pino",
        "zap",
        "logrus",
        "structlog",
        "tracing-json",
        "ecs",
        "otlp-json",
        "gcp-logentry",
        "docker-json",
        "journald",
        "mongodb",
        "postgres-jsonlog",
        "gokit",
        "envoy-access",
    ])
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::forced(data, &FAMILY));
