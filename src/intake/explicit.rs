//! The explicit request, from Step Functions or a direct invoke. Mirrors Terraform's
//! `aws_cloudfront_create_invalidation` action:
//!
//! `{"distribution_id": "E…", "paths": ["/…"], "caller_reference"?: "…", "timeout"?: 900}`
//!
//! or, for workflows that know which S3 keys changed (mapped like event keys):
//!
//! `{"distribution_id"?: "E…", "keys": ["…"], "caller_reference"?: "…", "timeout"?: 900}`

use serde_json::Value;

use super::{Change, ChangeKind, Intake, Payload, Source};
use crate::error::Error;
use crate::model::{path_problem, valid_distribution_id, API_MAX_PATHS, MAX_KEY_BYTES};

pub const DEFAULT_TIMEOUT: u32 = 900;
pub const MIN_TIMEOUT: u32 = 60;
pub const MAX_TIMEOUT: u32 = 3600;
pub const MAX_CALLER_REFERENCE: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitRequest {
    /// Required with `paths`; with `keys`, the configured routes apply when absent.
    pub distribution_id: Option<String>,
    /// Exactly the paths to send (validated, deduplicated); `None` for a `keys` request.
    pub paths: Option<Vec<String>>,
    pub caller_reference: Option<String>,
    /// Seconds the Step Functions wait loop may wait for `Completed`.
    pub timeout: u32,
}

pub(crate) fn is_explicit(p: &Payload<'_>) -> bool {
    p.distribution_id.is_some() || p.paths.is_some() || p.keys.is_some()
}

fn string_list(v: Value, field: &str) -> Result<Vec<String>, Error> {
    let Value::Array(items) = v else {
        return Err(Error::invalid(format!("{field} must be a list of strings")));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s),
            other => Err(Error::invalid(format!("{field}[{i}] must be a string, not {other}"))),
        })
        .collect()
}

pub(crate) fn read(p: Payload<'_>) -> Result<Intake, Error> {
    let distribution_id = match p.distribution_id {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if valid_distribution_id(&id) => Some(id),
        Some(other) => {
            return Err(Error::invalid(format!(
                "distribution_id {other} is not a distribution id (upper-case letters and digits, e.g. EDFDVBD632BHDS5)"
            )))
        }
    };
    let caller_reference = match p.caller_reference {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if !r.is_empty() && r.chars().count() <= MAX_CALLER_REFERENCE => Some(r),
        Some(other) => {
            return Err(Error::invalid(format!(
                "caller_reference must be a string of 1 to {MAX_CALLER_REFERENCE} characters, got {}",
                truncate(&other.to_string(), 80)
            )))
        }
    };
    let timeout = match p.timeout {
        None | Some(Value::Null) => DEFAULT_TIMEOUT,
        Some(v) => match v.as_u64() {
            Some(t) if (MIN_TIMEOUT as u64..=MAX_TIMEOUT as u64).contains(&t) => t as u32,
            _ => {
                return Err(Error::invalid(format!(
                    "timeout must be a whole number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT} (default {DEFAULT_TIMEOUT}), got {v}"
                )))
            }
        },
    };

    let mut intake = Intake::new(Source::Explicit);
    match (p.paths, p.keys) {
        (Some(_), Some(_)) => return Err(Error::invalid("give either paths or keys, not both")),
        (None, None) => {
            return Err(Error::invalid("an explicit request needs paths (1 to 3000 paths) or keys (S3 keys)"))
        }
        (Some(paths), None) => {
            if distribution_id.is_none() {
                return Err(Error::invalid("distribution_id is required with paths"));
            }
            let mut paths = string_list(paths, "paths")?;
            if paths.is_empty() || paths.len() > API_MAX_PATHS {
                return Err(Error::invalid(format!("paths must hold 1 to {API_MAX_PATHS} paths, got {}", paths.len())));
            }
            for (i, path) in paths.iter().enumerate() {
                if let Some(problem) = path_problem(path) {
                    return Err(Error::invalid(format!("paths[{i}] {:?}: {problem}", truncate(path, 80))));
                }
            }
            paths.sort_unstable();
            paths.dedup();
            intake.explicit = Some(ExplicitRequest { distribution_id, paths: Some(paths), caller_reference, timeout });
        }
        (None, Some(keys)) => {
            let keys = string_list(keys, "keys")?;
            if keys.is_empty() {
                return Err(Error::invalid("keys must hold at least one S3 key"));
            }
            for (i, key) in keys.into_iter().enumerate() {
                if key.is_empty() || key.len() > MAX_KEY_BYTES {
                    return Err(Error::invalid(format!("keys[{i}] must be 1 to {MAX_KEY_BYTES} bytes (an S3 key)")));
                }
                // Explicit keys are plain keys, not S3's form encoding: `a+b` means a plus.
                intake.changes.push(Change { message: 0, bucket: None, key, kind: ChangeKind::Created, version: None });
            }
            intake.explicit = Some(ExplicitRequest { distribution_id, paths: None, caller_reference, timeout });
        }
    }
    Ok(intake)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use crate::intake::parse;
    use serde_json::json;

    fn ok(v: serde_json::Value) -> crate::intake::Intake {
        parse(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn paths_request_with_defaults() {
        let i = ok(json!({"distribution_id":"EDFDVBD632BHDS5","paths":["/b","/a/*","/b"]}));
        let r = i.explicit.unwrap();
        assert_eq!(r.paths.unwrap(), vec!["/a/*", "/b"], "deduplicated, sorted");
        assert_eq!(r.timeout, 900);
        assert_eq!(r.caller_reference, None);
        assert!(i.changes.is_empty());
    }

    #[test]
    fn keys_request_maps_plain_keys() {
        let i = ok(json!({"keys":["docs/a+b.html","x y.txt"],"caller_reference":"exec-1","timeout":60}));
        let r = i.explicit.unwrap();
        assert_eq!(r.distribution_id, None);
        assert_eq!(r.timeout, 60);
        let keys: Vec<_> = i.changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["docs/a+b.html", "x y.txt"], "not form-decoded");
    }

    /// Rule: every out-of-range field and every path CloudFront would reject → InvalidInput
    /// naming the field and the rule (Terraform's action: paths 1–3,000, caller_reference ≤ 128,
    /// timeout 60–3,600; CloudFront: leading '/', ≤ 4,000 chars, '*' only last, encoded).
    #[test]
    fn invalid_requests_name_the_field_and_rule() {
        let d = "EDFDVBD632BHDS5";
        let many: Vec<String> = (0..3001).map(|i| format!("/{i}")).collect();
        let long = format!("/{}", "a".repeat(4000));
        let cases = vec![
            (json!({"paths":["/a"]}), "distribution_id is required"),
            (json!({"distribution_id":"e1","paths":["/a"]}), "distribution_id"),
            (json!({"distribution_id":7,"paths":["/a"]}), "distribution_id"),
            (json!({"distribution_id":d}), "needs paths"),
            (json!({"distribution_id":d,"paths":[]}), "paths must hold 1 to 3000"),
            (json!({"distribution_id":d,"paths":many}), "paths must hold 1 to 3000"),
            (json!({"distribution_id":d,"paths":"/a"}), "paths must be a list"),
            (json!({"distribution_id":d,"paths":[1]}), "paths[0] must be a string"),
            (json!({"distribution_id":d,"paths":["a"]}), "must start with '/'"),
            (json!({"distribution_id":d,"paths":["/a*b"]}), "'*' only as the last"),
            (json!({"distribution_id":d,"paths":[long]}), "4000"),
            (json!({"distribution_id":d,"paths":["/a b"]}), "encode"),
            (json!({"distribution_id":d,"paths":["/café"]}), "encode"),
            (json!({"distribution_id":d,"paths":["/ok","/bad%zz"]}), "paths[1]"),
            (json!({"distribution_id":d,"paths":["/a"],"keys":["a"]}), "not both"),
            (
                json!({"distribution_id":d,"paths":["/a"],"timeout":59}),
                "timeout must be a whole number of seconds from 60 to 3600",
            ),
            (json!({"distribution_id":d,"paths":["/a"],"timeout":3601}), "from 60 to 3600"),
            (json!({"distribution_id":d,"paths":["/a"],"timeout":"900"}), "timeout"),
            (json!({"distribution_id":d,"paths":["/a"],"timeout":90.5}), "timeout"),
            (
                json!({"distribution_id":d,"paths":["/a"],"caller_reference":""}),
                "caller_reference must be a string of 1 to 128",
            ),
            (json!({"distribution_id":d,"paths":["/a"],"caller_reference":"x".repeat(129)}), "1 to 128"),
            (json!({"keys":[]}), "at least one"),
            (json!({"keys":[""]}), "keys[0] must be 1 to 1024 bytes"),
            (json!({"keys":["k".repeat(1025)]}), "keys[0]"),
        ];
        for (v, want) in cases {
            let e = parse(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(e.error_type(), "InvalidInput", "{v}");
            assert!(e.to_string().contains(want), "{}: {e}", v.to_string().chars().take(120).collect::<String>());
        }
        // At the limits: exactly 3,000 paths, 128 chars, 60 and 3,600 s, a 4,000-char path are fine.
        let three_k: Vec<String> = (0..3000).map(|i| format!("/{i}")).collect();
        ok(json!({"distribution_id":d,"paths":three_k,"caller_reference":"x".repeat(128),"timeout":3600}));
        ok(json!({"distribution_id":d,"paths":[format!("/{}", "a".repeat(3999))],"timeout":60}));
    }
}
