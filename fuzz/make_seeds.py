#!/usr/bin/env python3
"""Writes the seed corpus for every fuzz target from retrace's own example lines (`retrace
formats`) and the first lines of the bundled reference incident (both written by this project).

Usage: python3 fuzz/make_seeds.py [path/to/retrace]   (default: target/release/retrace)
"""
import gzip
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The same family lists as fuzz_targets/*.rs: the first byte of a seed picks the format.
FAMILIES = {
    "json_dialects": ["json", "bunyan", "pino", "zap", "logrus", "structlog", "tracing-json", "ecs",
                      "otlp-json", "gcp-logentry", "docker-json", "journald", "mongodb",
                      "postgres-jsonlog", "gokit", "envoy-access"],
    "text_layouts": ["text", "log4j", "python-logging", "spring-boot", "go-log", "logfmt", "klog",
                     "nginx-access", "nginx-error", "apache-error", "haproxy", "aws-alb", "redis",
                     "mysql-error", "mysql-slow", "mysql-general", "dmesg", "cri", "csv-metrics"],
    "postgres": ["postgres-stderr", "postgres-csvlog", "postgres-syslog", "postgres-jsonlog"],
    "syslog": ["syslog", "syslog-5424", "postgres-syslog", "haproxy"],
    "alert_payloads": ["alertmanager-webhook", "alertmanager-api", "grafana-webhook",
                       "pagerduty-webhook", "pagerduty-log-entries", "opsgenie", "prometheus-query"],
}


def formats(binary):
    """(name, example) in registry order."""
    out = subprocess.run([binary, "formats"], check=True, capture_output=True, text=True).stdout
    found = []
    for block in out.strip().split("\n\n"):
        name = re.match(r"(\S+) \(", block)
        example = re.search(r"^  example: (.*)$", block, re.M)
        if name and example:
            found.append((name.group(1), example.group(1)))
    return found


def fixture_heads():
    """The first 20 lines of each file of the reference incident."""
    base = os.path.join(ROOT, "fixtures", "auth-db-outage")
    heads = []
    for folder, _, files in sorted(os.walk(base)):
        for f in sorted(files):
            if f == "expected.json":
                continue
            path = os.path.join(folder, f)
            opener = gzip.open if f.endswith(".gz") else open
            with opener(path, "rb") as fh:
                heads.append(b"".join(fh.readline() for _ in range(20)))
    return heads


def write(target, index, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"seed-{index:03}"), "wb") as fh:
        fh.write(data)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "retrace")
    registry = formats(binary)
    names = [n for n, _ in registry]
    examples = dict(registry)
    n = 0
    for i, (_, example) in enumerate(registry):
        for selector in range(8):
            write("detect_and_parse", n, bytes([selector]) + (example + "\n").encode() * 3)
            n += 1
    for head in fixture_heads():
        for selector in range(8):
            write("detect_and_parse", n, bytes([selector]) + head)
            write("report", n, bytes([selector]) + head)
            n += 1
    # fast_paths takes plain text; chunked's first byte also picks the chunk size and whether
    # the fast paths are on.
    m = 0
    for _, example in registry:
        write("fast_paths", m, (example + "\n").encode() * 2)
        write("chunked", m, bytes([0x80 | m % 8]) + (example + "\n").encode() * 5)
        m += 1
    for head in fixture_heads():
        write("fast_paths", m, head)
        for selector in (0, 3, 0x85):
            write("chunked", m * 4 + selector % 4, bytes([selector]) + head)
        m += 1
    for target, family in FAMILIES.items():
        members = [f for f in names if f in family]
        for k, name in enumerate(members):
            write(target, k, bytes([k]) + (examples[name] + "\n").encode() * 3)


if __name__ == "__main__":
    main()
