//! moto's control APIs, for the tests that steer the stand-in: the launcher's (`/_cfstub/...`:
//! faults, settings, its call log, completing invalidations) and moto's own (`/moto-api/...`), and
//! the AWS JSON protocol for the other services moto runs (Step Functions, EventBridge, SQS).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cf_invalidator::cloudfront::SdkCloudFront;
use serde_json::Value;

use crate::venv::Moto;

impl Moto {
    pub fn cloudfront(&self) -> SdkCloudFront {
        SdkCloudFront::from_client(self.sdk())
    }

    /// A call to the launcher's control API (`/_cfstub/...`) or moto's own (`/moto-api/...`).
    pub fn control(&self, method: &str, path: &str, body: &Value) -> Value {
        let (status, out) = http(self.port, method, path, &body.to_string());
        assert!((200..300).contains(&status), "{method} {path}: HTTP {status} {out}");
        out
    }

    /// Queues faults for the next matching CloudFront calls.
    pub fn inject(&self, faults: Value) {
        self.control("POST", "/_cfstub/faults", &serde_json::json!({ "faults": faults }));
    }

    /// The access keys that signed each CloudFront call, in order.
    pub fn signers(&self) -> Vec<String> {
        let log = self.control("GET", "/_cfstub/log", &Value::Null);
        log["calls"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap_or("").to_string()).collect()
    }

    /// The CloudFront operations the stand-in has seen, in order.
    pub fn calls(&self) -> Vec<String> {
        let log = self.control("GET", "/_cfstub/log", &Value::Null);
        log["calls"].as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap().to_string()).collect()
    }

    /// Changes the launcher's settings (`complete_after_reads`, `complete_after_seconds`, `quota`);
    /// returns them all. `complete_after_seconds` is fixed per invalidation when it is created.
    pub fn config(&self, settings: Value) -> Value {
        self.control("POST", "/_cfstub/config", &settings)
    }

    /// Completes one invalidation now (`Some(id)`), or every one in progress (`None`): the ids completed.
    pub fn complete(&self, id: Option<&str>) -> Vec<String> {
        let body = id.map(|i| serde_json::json!({ "id": i })).unwrap_or_else(|| serde_json::json!({}));
        let out = self.control("POST", "/_cfstub/complete", &body);
        out["completed"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }

    /// What counts against the in-progress quota of a distribution now: (exact paths, wildcard paths).
    pub fn in_progress(&self, distribution_id: &str) -> (usize, usize) {
        let out = self.control("GET", "/_cfstub/in_progress", &Value::Null);
        let d = &out[distribution_id];
        (d["exact"].as_u64().unwrap_or(0) as usize, d["wildcards"].as_u64().unwrap_or(0) as usize)
    }

    /// A tenant's invalidations as CloudFront lists them (ListInvalidationsForDistributionTenant),
    /// newest first, each with its sorted paths (GetInvalidationForDistributionTenant).
    pub async fn tenant_invalidations(&self, tenant: &str) -> Vec<(String, Vec<String>)> {
        let sdk = self.sdk();
        let list = sdk.list_invalidations_for_distribution_tenant().id(tenant).send().await.unwrap();
        let mut out = Vec::new();
        for s in list.invalidation_list.and_then(|l| l.items).unwrap_or_default() {
            let got =
                sdk.get_invalidation_for_distribution_tenant().distribution_tenant_id(tenant).id(&s.id).send().await;
            let batch = got.unwrap().invalidation.unwrap().invalidation_batch.unwrap();
            let mut paths = batch.paths.unwrap().items.unwrap_or_default();
            paths.sort();
            out.push((s.id, paths));
        }
        out
    }

    /// Invalidations made at given `CreateTime`s, completed (to fill past months): each
    /// (CallerReference, paths, RFC 3339 time); their ids in the same order.
    pub fn create_at(&self, distribution_id: &str, invalidations: &[(String, Vec<String>, String)]) -> Vec<String> {
        let specs: Vec<Value> = invalidations
            .iter()
            .map(|(r, paths, t)| serde_json::json!({"caller_reference": r, "paths": paths, "create_time": t}))
            .collect();
        let body = serde_json::json!({"distribution_id": distribution_id, "invalidations": specs});
        let out = self.control("POST", "/_cfstub/invalidations", &body);
        out["ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect()
    }
}

/// A minimal HTTP/1.1 exchange on 127.0.0.1 (the control APIs are tiny JSON): status and body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    http_with(port, method, path, "Content-Type: application/json\r\n", body)
}

/// An AWS JSON-protocol call to moto (e.g. `AWSStepFunctions.StartExecution`): moto routes by
/// the credential scope and does not check signatures.
pub fn aws_json(port: u16, service: &str, target: &str, body: &Value) -> Value {
    let headers = format!(
        "Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: {target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n"
    );
    let (status, out) = http_with(port, "POST", "/", &headers, &body.to_string());
    assert_eq!(status, 200, "{target}: {out}");
    out
}

fn http_with(port: u16, method: &str, path: &str, headers: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}
