//! TXT lookups for domain ownership proofs, over DNS-over-HTTPS with the JSON API Google's and
//! Cloudflare's public resolvers answer (`?name=&type=TXT`, `application/dns-json`). Lambda
//! functions outside a VPC reach them over HTTPS; the local stack answers the same protocol
//! from records a test publishes (`infra/dns_local.py`). The client is built on first use: only
//! the domain endpoints need it, and loading root certificates is a cold-start cost.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;

use crate::https;

const TIMEOUT: Duration = Duration::from_secs(3);
/// A TXT answer is a few hundred bytes; a resolver that sends more is not one.
const MAX_ANSWER: usize = 64 * 1024;
const TXT: u16 = 16;

#[derive(Debug, thiserror::Error)]
#[error("the DNS lookup failed: {0:#}")]
pub struct DnsError(anyhow::Error);

#[derive(Clone, Debug)]
pub struct Resolver(https::Lazy);

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Status")]
    status: u32,
    #[serde(rename = "Answer", default)]
    answer: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: u16,
    data: String,
}

/// NOERROR and NXDOMAIN are answers; anything else (SERVFAIL, REFUSED) is a failed lookup.
const NOERROR: u32 = 0;
const NXDOMAIN: u32 = 3;

impl Resolver {
    pub fn new(http: https::Lazy) -> Self {
        Self(http)
    }

    /// The TXT strings published at `name` (each record's strings joined, as RFC 7208 reads
    /// them); none when the name does not exist.
    pub async fn txt(&self, query_url: &str, name: &str) -> Result<Vec<String>, DnsError> {
        let url = format!(
            "{query_url}?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("name", name)
                .append_pair("type", "TXT")
                .finish()
        );
        let request = http::Request::get(url)
            .header(http::header::ACCEPT, "application/dns-json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| DnsError(e.into()))?;
        let answered = self
            .0
            .call(request, TIMEOUT, MAX_ANSWER)
            .await
            .map_err(DnsError)?;
        if !answered.status.is_success() {
            return Err(DnsError(anyhow::anyhow!(
                "the resolver answered HTTP {}",
                answered.status
            )));
        }
        parse_answer(&answered.body)
    }
}

fn parse_answer(body: &[u8]) -> Result<Vec<String>, DnsError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| DnsError(e.into()))?;
    match answer.status {
        NOERROR => Ok(answer
            .answer
            .iter()
            .filter(|record| record.kind == TXT)
            .map(|record| txt_strings(&record.data))
            .collect()),
        NXDOMAIN => Ok(Vec::new()),
        other => Err(DnsError(anyhow::anyhow!(
            "the resolver answered RCODE {other}"
        ))),
    }
}

/// `"part one" "part two"` → `part onepart two`; an unquoted datum stays as it is.
fn txt_strings(data: &str) -> String {
    let data = data.trim();
    if !data.starts_with('"') {
        return data.to_owned();
    }
    let mut out = String::new();
    let mut inside = false;
    let mut chars = data.chars();
    while let Some(c) = chars.next() {
        match (inside, c) {
            (false, '"') => inside = true,
            (true, '"') => inside = false,
            (true, '\\') => out.extend(chars.next()),
            (true, c) => out.push(c),
            (false, _) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_answers_are_read_as_resolvers_print_them() {
        let body = br#"{"Status":0,"Answer":[
            {"name":"x.example.","type":5,"TTL":300,"data":"y.example."},
            {"name":"x.example.","type":16,"TTL":300,"data":"\"v=spf1 -all\""},
            {"name":"x.example.","type":16,"TTL":300,"data":"\"artisthub-domain-verification=\" \"ab\\\"c\""}
        ]}"#;
        assert_eq!(
            parse_answer(body).unwrap(),
            ["v=spf1 -all", "artisthub-domain-verification=ab\"c"]
        );
        assert!(
            parse_answer(br#"{"Status":3}"#).unwrap().is_empty(),
            "NXDOMAIN: no record"
        );
        for failed in [&br#"{"Status":2}"#[..], b"<html>", b""] {
            assert!(parse_answer(failed).is_err());
        }
    }
}
