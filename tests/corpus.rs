//! Opt-in check against real logs written by other people's software: every file listed in
//! `../shared/corpus/MANIFEST.tsv` must be recognised as the format it is, with at least 98% of
//! its lines parsed or joined. Skips (passing) when the corpus folder is absent. Prints the table.

use std::path::{Path, PathBuf};

use retrace::ingest::InputFile;
use retrace::ingest::RecordingSink;
use retrace::ingest::run::{IngestOptions, ingest_all};

/// The retrace formats that correctly read each manifest format.
fn accepted(manifest_format: &str) -> &'static [&'static str] {
    match manifest_format {
        "alertmanager_v2_alertgroups" => &["alertmanager-api"],
        "alertmanager_webhook" => &["alertmanager-webhook"],
        "grafana_webhook" => &["grafana-webhook"],
        "opsgenie_alert" => &["opsgenie"],
        "pagerduty_v3_webhook" => &["pagerduty-webhook"],
        "bunyan" => &["bunyan"],
        "docker_json_file" => &["docker-json"],
        "ecs_json" => &["ecs"],
        "gcp_logentry" => &["gcp-logentry"],
        "gokit_json" => &["gokit"],
        "logfmt" => &["logfmt"],
        // Heroku's logplex lines carry a PostgreSQL message behind a router prefix.
        "heroku_logplex" => &["postgres-stderr"],
        "log4j" => &["log4j"],
        "logrus_json" => &["logrus"],
        "otlp_json" => &["otlp-json"],
        "pino" => &["pino"],
        "python_logging" => &["python-logging"],
        "spring_boot" => &["spring-boot"],
        "structlog_json" => &["structlog"],
        "tracing_json" => &["tracing-json"],
        "zap_json" => &["zap"],
        "mongodb_json" => &["mongodb"],
        "mysql_slow" => &["mysql-slow"],
        "mysql_error" => &["mysql-error"],
        "postgres_csvlog" => &["postgres-csvlog"],
        "postgres_jsonlog" => &["postgres-jsonlog"],
        "postgres_stderr" => &["postgres-stderr"],
        "postgres_syslog" => &["postgres-syslog"],
        "redis_log" => &["redis"],
        "prometheus_query_range" => &["prometheus-query"],
        "sadf_csv" => &["csv-metrics"],
        "dmesg" => &["dmesg"],
        "klog" => &["klog"],
        "journald_json" => &["journald"],
        "syslog_rfc3164" => &["syslog"],
        "syslog_rfc5424" => &["syslog-5424"],
        "apache_combined" | "nginx_combined" => &["nginx-access"],
        "apache_error" => &["apache-error"],
        "aws_alb" => &["aws-alb"],
        // Envoy's lines inside the container runtime's wrapper.
        "envoy_access" => &["cri", "envoy-access"],
        "haproxy_http" => &["haproxy"],
        "nginx_error" => &["nginx-error"],
        _ => &[],
    }
}

#[test]
fn every_corpus_file_is_recognised_and_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(manifest) = std::fs::read_to_string(root.join("MANIFEST.tsv")) else {
        eprintln!("corpus not found at {}: skipped", root.display());
        return;
    };
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "{:<46} {:<22} {:>7} {:>7} {:>7} {:>8} {:>7}",
        "file", "format found", "lines", "parsed", "joined", "unparsed", "used"
    )];
    let options = IngestOptions {
        assume_tz: chrono_tz::UTC,
        formats: Vec::new(),
        threads: 1,
        progress: false,
    };
    for row in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let mut cols = row.split('\t');
        let (Some(rel), Some(expected)) = (cols.next(), cols.next()) else {
            continue;
        };
        let path: PathBuf = root.join(rel);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let file = InputFile {
            display: rel.to_string(),
            path,
            size,
        };
        let results = ingest_all(std::slice::from_ref(&file), &options, |_| {
            RecordingSink::default()
        })
        .expect("ingest");
        let (report, sink) = &results[0];
        let found = report.format.unwrap_or("-");
        let used = report.used_share();
        table.push(format!(
            "{:<46} {:<22} {:>7} {:>7} {:>7} {:>8} {:>6.1}%",
            rel,
            found,
            report.lines,
            report.parsed,
            report.joined,
            report.unparsed,
            used * 100.0
        ));
        assert_eq!(
            report.lines,
            report.parsed + report.joined + report.unparsed,
            "{rel}: lines not accounted for"
        );
        let want = accepted(expected);
        if report.format.is_none() {
            failures.push(format!(
                "{rel}: not recognised (best guess {:?})",
                report.best_guess
            ));
        } else if !want.is_empty() && !want.contains(&found) {
            failures.push(format!("{rel}: read as {found}, expected one of {want:?}"));
        }
        if used < 0.98 {
            failures.push(format!(
                "{rel}: only {:.1}% of lines parsed or joined; first unparsed: {:?}",
                used * 100.0,
                report.samples.first()
            ));
        }
        if sink.events.is_empty() {
            failures.push(format!("{rel}: no events"));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}
