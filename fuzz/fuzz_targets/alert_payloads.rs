//! Alert, paging and metric payloads, as JSON lines or whole documents, each forced.
#![no_main]

use std::sync::LazyLock;

use retrace::ingest::formats::LineFormat;

#[path = "common.rs"]
mod common;

static FAMILY: LazyLock<Vec<&'static dyn LineFormat>> = LazyLock::new(|| {
    common::family(&[
        "alertmanager-webhook",
        "alertmanager-api",
        "grafana-webhook",
        "pagerduty-webhook",
        "pagerduty-log-entries",
        "opsgenie",
        "prometheus-query",
    ])
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::forced(data, &FAMILY));
