//! AWS Application Load Balancer access logs (`type time elb client:port target:port
//! request/target/response times status ... "request" "user agent" ...`) and the older Classic
//! ELB layout (time first).

use std::borrow::Cow;

use super::{
    FileContext, LineFormat, LineOutcome, http_severity, set_request, split_fields, strip_port,
};
use crate::event::{Event, Severity, SourceKind};
use crate::time::parse_iso;

pub struct AwsAlb;

const TYPES: &[&str] = &["http", "https", "h2", "grpcs", "ws", "wss"];

/// Where the fields start: 1 after an ALB's leading type, 0 for a Classic ELB.
fn base(fields: &[&str]) -> Option<usize> {
    let first = fields.first()?;
    if TYPES.contains(first) {
        Some(1)
    } else if first.len() >= 20 && first.ends_with('Z') && first.as_bytes().get(10) == Some(&b'T') {
        Some(0)
    } else {
        None
    }
}

fn seconds(field: &str) -> Option<f64> {
    field.parse::<f64>().ok().filter(|s| *s >= 0.0)
}

impl LineFormat for AwsAlb {
    fn name(&self) -> &'static str {
        "aws-alb"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Web
    }

    fn example(&self) -> &'static str {
        r#"https 2023-10-15T19:00:01.204131Z app/auth-prod/50dc6c495c0c9188 203.0.113.7:51544 10.0.2.15:8080 0.000 0.013 0.000 502 502 412 212 "POST https://auth.example.com:443/api/v1/login HTTP/1.1" "Mozilla/5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/auth/73e2d6bc24d8a067 "Root=1-652c3a11-0e1f" "auth.example.com" "-" 0 2023-10-15T19:00:01.191000Z "forward" "-" "-" "10.0.2.15:8080" "502" "-" "-""#
    }

    fn fields(&self) -> &'static str {
        "time, load balancer (service), client, target, status (ELB), target status, latency (sum of the three processing times), method, path, user agent, trace id, error reason"
    }

    fn sniff(&self, line: &str) -> u8 {
        let fields = split_fields(line);
        let Some(b) = base(&fields) else {
            return 0;
        };
        let elb_like = fields
            .get(b + 1)
            .is_some_and(|e| e.starts_with("app/") || e.starts_with("net/") || b == 0);
        let time_ok = fields
            .get(b)
            .is_some_and(|t| parse_iso(t, &Default::default()).is_ok());
        let request_ok = fields.get(b + 11).is_some_and(|r| r.contains(' '));
        match (time_ok, elb_like, request_ok) {
            (true, true, true) if b == 1 => 96,
            (true, true, true) => 85,
            _ => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let fields = split_fields(line);
        let Some(b) = base(&fields).filter(|b| fields.len() >= b + 12) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a load balancer access log line"));
        };
        let Ok(time) = cx.iso(fields[b]) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let status = fields[b + 7].parse::<u16>().ok();
        let request = fields[b + 11];
        let mut event = Event::new(
            time,
            SourceKind::Web,
            status.map_or(Severity::Warn, http_severity),
            format!("\"{request}\" {}", fields[b + 7]),
        );
        set_request(&mut event, request, status);
        event.client = Some(strip_port(fields[b + 2]).to_string());
        // `app/name/id` → `name`.
        let elb = fields[b + 1];
        event.service = Some(elb.split('/').nth(1).unwrap_or(elb).to_string());
        let times: Option<Vec<f64>> = fields[b + 4..b + 7].iter().map(|f| seconds(f)).collect();
        event.latency_ms = times.map(|t| t.iter().sum::<f64>() * 1000.0);
        let mut attr = |key: &str, i: usize| {
            if let Some(v) = fields.get(i).filter(|v| **v != "-" && !v.is_empty()) {
                event.attrs.push((key.to_string(), v.to_string()));
            }
        };
        attr("target", b + 3);
        attr("target_status", b + 8);
        attr("user_agent", b + 12);
        if b == 1 {
            attr("trace_id", 17);
            attr("domain", 18);
            attr("error_reason", 24);
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["elasticloadbalancing", "alb", "elb"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn alb_and_classic_elb() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert!(AwsAlb.sniff(AwsAlb.example()) > 90);
        assert_eq!(
            AwsAlb.parse(AwsAlb.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.status, Some(502));
        assert_eq!(e.latency_ms, Some(13.0));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.service.as_deref(), Some("auth-prod"));
        // A request the load balancer answered itself: no target, times -1.
        let line = r#"https 2023-10-15T19:00:02.000000Z app/auth-prod/50dc6c495c0c9188 198.51.100.4:40110 - -1 -1 -1 503 - 120 336 "GET https://auth.example.com:443/ HTTP/1.1" "curl/8.4.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - "Root=1-652c3a12-77aa" "auth.example.com" "-" 0 2023-10-15T19:00:02.000000Z "forward" "-" "-" "-" "-" "-" "-""#;
        AwsAlb.parse(line, &mut cx, &mut out);
        assert_eq!(out[1].latency_ms, None);
        assert_eq!(out[1].severity, Severity::Error);
        let classic = r#"2023-10-15T19:00:03.000000Z auth-classic 203.0.113.9:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://auth.example.com:80/health HTTP/1.1" "curl/7.38.0" - -"#;
        assert!(AwsAlb.sniff(classic) > 80);
        AwsAlb.parse(classic, &mut cx, &mut out);
        assert_eq!(out[2].path.as_deref(), Some("/health"));
    }
}
