//! Plain-text layouts (application, web, database and system text logs), each forced.
#![no_main]

use std::sync::LazyLock;

use retrace::ingest::formats::LineFormat;

#[path = "common.rs"]
mod common;

static FAMILY: LazyLock<Vec<&'static dyn LineFormat>> = LazyLock::new(|| {
    common::family(&[
        "text",
        "log4j",
        "python-logging",
        "spring-boot",
        "go-log",
        "logfmt",
        "klog",
        "nginx-access",
        "nginx-error",
        "apache-error",
        "haproxy",
        "aws-alb",
        "redis",
        "mysql-error",
        "mysql-slow",
        "mysql-general",
        "dmesg",
        "cri",
        "csv-metrics",
    ])
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::forced(data, &FAMILY));
