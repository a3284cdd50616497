//! The explicit request, from Step Functions or a direct invoke. Mirrors Terraform's
//! `aws_cloudfront_create_invalidation` action:
//!
//! `{"distribution_id": "E…", "paths": ["/…", "#tag"], "caller_reference"?: "…", "timeout"?: 900}`
//!
//! where an item starting with `#` is a CloudFront cache tag, invalidating every object the origin
//! tagged with it. Wherever a request names a distribution, it may name a distribution tenant
//! instead (`"distribution_tenant_id": "dt_…"`), never both ([`target`], the one rule).
//!
//! or, for workflows that know which S3 keys changed (mapped like event keys):
//!
//! `{"distribution_id"?: "E…", "bucket"?: "…", "keys": ["…"], "caller_reference"?: "…", "timeout"?: 900}`
//!
//! or, for the workflow's wait loop, invalidations that exist already (the function's trackers,
//! or one started by hand for an invalidation made elsewhere): only the two ids are needed, the
//! rest is read from CloudFront and the deadline is now + `timeout`:
//!
//! `{"track": {"invalidations": [{"distribution_id": "E…", "invalidation_id": "I…", "timeout"?, "deadline"?}]}, "timeout"?: 900}`
//!
//! `null` means absent in every field, as in the workflow.
//!
//! The Step Functions workflow passes its `wait` object through (`{"first_seconds"?, "interval_seconds"?}`);
//! it is checked here so that an out-of-range value fails before anything is created. So is its
//! `room_timeout` (how long it waits for room in CloudFront's in-progress quota).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Change, ChangeKind, Intake, Payload, Source};
use crate::error::Error;
use crate::model::{
    item_problem, normalise_tag, DistributionId, TargetId, TenantId, API_MAX_PATHS, API_MAX_WILDCARDS_IN_PROGRESS,
    MAX_KEY_BYTES,
};

pub const DEFAULT_TIMEOUT: u32 = 900;
pub const MIN_TIMEOUT: u32 = 60;
pub const MAX_TIMEOUT: u32 = 3600;
pub const MAX_CALLER_REFERENCE: usize = 128;
/// Invalidations in one tracking input: each is one GetInvalidation within the function's 30 s,
/// and one wait loop in a workflow history of at most 25,000 events (about 20 hour-long loops at
/// 30 s intervals fit; more need a longer interval).
pub const MAX_TRACKED: usize = 100;

/// The workflow's `wait` fields: the first wait may be 0 s, a poll interval at least 1 s, both at
/// most an hour (no invalidation outlasts the longest `timeout`).
pub const WAIT_FIRST_SECONDS: (u64, u64) = (0, 3600);
pub const WAIT_INTERVAL_SECONDS: (u64, u64) = (1, 3600);
/// The workflow's `room_timeout`: it looks for room once a minute, about 12 history events a look,
/// so 12 hours (720 looks, about 9,000 events) leaves most of a Standard workflow's 25,000 to the
/// wait loops. The workflow's default is 6 hours, longer than any invalidation stays in progress.
pub const ROOM_TIMEOUT_SECONDS: (u64, u64) = (0, 43_200);
pub const DEFAULT_ROOM_TIMEOUT: u64 = 21_600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplicitRequest {
    pub what: Explicit,
    pub caller_reference: Option<String>,
    /// Seconds the Step Functions wait loop may wait for `Completed`.
    pub timeout: u32,
}

/// What an explicit request names: paths to send as they are, or keys mapped like event keys
/// (their changes are in [`Intake::changes`], with the request's `bucket`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explicit {
    /// Validated, deduplicated and sorted.
    Paths { distribution_id: TargetId, paths: Vec<String> },
    /// Without a distribution (or tenant), the configured routes decide; with one, only its
    /// routes' mapping.
    Keys { distribution_id: Option<TargetId> },
    /// Invalidations that exist already: nothing is created, each is read back for the wait loop.
    Track { invalidations: Vec<TrackItem> },
}

/// One invalidation of a tracking input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackItem {
    pub distribution_id: TargetId,
    pub invalidation_id: String,
    /// The item's own `timeout` (the function's trackers give 3,600); else the request's.
    pub timeout: Option<u32>,
    /// A deadline given with the item (RFC 3339, as the function's trackers give it); else the
    /// wait loop's deadline is now + timeout.
    pub deadline: Option<String>,
}

impl ExplicitRequest {
    pub fn distribution_id(&self) -> Option<&TargetId> {
        match &self.what {
            Explicit::Paths { distribution_id, .. } => Some(distribution_id),
            Explicit::Keys { distribution_id } => distribution_id.as_ref(),
            Explicit::Track { .. } => None,
        }
    }
}

/// A whole number of seconds: `900` or `900.0` (Step Functions and JSONata may write an integer
/// as a float), never `90.5` or `"900"`.
fn whole_seconds(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 1e12).map(|f| f as u64))
}

pub(crate) fn is_explicit(p: &Payload<'_>) -> bool {
    p.distribution_id.is_some()
        || p.distribution_tenant_id.is_some()
        || p.paths.is_some()
        || p.keys.is_some()
        || p.track.is_some()
}

/// A field of whole seconds within `lo..=hi`, or `InvalidInput` naming the field, the range and
/// its default: the one rule for `timeout`, `room_timeout` and the `wait` fields.
fn seconds_within(v: &Value, field: &str, (lo, hi): (u64, u64), default: Option<u64>) -> Result<u64, Error> {
    match whole_seconds(v) {
        Some(s) if (lo..=hi).contains(&s) => Ok(s),
        _ => {
            let default = default.map(|d| format!(" (default {d})")).unwrap_or_default();
            Err(Error::invalid(format!(
                "{field} must be a whole number of seconds from {lo} to {hi}{default}, got {v}"
            )))
        }
    }
}

/// A timeout in seconds, within the workflow's limits.
fn timeout_seconds(v: &Value, field: &str) -> Result<u32, Error> {
    let limits = (u64::from(MIN_TIMEOUT), u64::from(MAX_TIMEOUT));
    seconds_within(v, field, limits, Some(u64::from(DEFAULT_TIMEOUT))).map(|t| t as u32)
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

/// `received`: when the caller received the request (see [`super::parse_at`]), the time its keys take.
pub(crate) fn read(p: Payload<'_>, received: Option<SystemTime>) -> Result<Intake, Error> {
    let distribution_id = target(p.distribution_id.as_ref(), p.distribution_tenant_id.as_ref(), "")?;
    let caller_reference = caller_reference(p.caller_reference)?;
    let timeout = match p.timeout {
        None | Some(Value::Null) => DEFAULT_TIMEOUT,
        Some(v) => timeout_seconds(&v, "timeout")?,
    };

    check_wait(p.wait)?;
    check_room_timeout(p.room_timeout)?;
    let received = keys_time(p.requested_at, received)?;
    let bucket = bucket(p.bucket)?;

    let mut intake = Intake::new(Source::Explicit);
    if let Some(track) = p.track {
        if distribution_id.is_some() || bucket.is_some() || p.paths.is_some() || p.keys.is_some() {
            return Err(Error::invalid(
                "track takes no distribution_id, distribution_tenant_id, bucket, paths or keys: each invalidation names its distribution or tenant",
            ));
        }
        // The workflow gives every input its `sfn-<execution>` reference; nothing is created here.
        let invalidations = track_items(track)?;
        intake.explicit =
            Some(ExplicitRequest { what: Explicit::Track { invalidations }, caller_reference: None, timeout });
        return Ok(intake);
    }
    let what = match (p.paths, p.keys) {
        (Some(_), Some(_)) => return Err(Error::invalid("give either paths or keys, not both")),
        (None, None) => {
            return Err(Error::invalid("an explicit request needs paths (1 to 3000 paths) or keys (S3 keys)"))
        }
        (Some(paths), None) => {
            let Some(distribution_id) = distribution_id else {
                return Err(Error::invalid("distribution_id is required with paths (or distribution_tenant_id)"));
            };
            if bucket.is_some() {
                return Err(Error::invalid("bucket applies to keys, not to paths"));
            }
            Explicit::Paths { distribution_id, paths: given_paths(paths)? }
        }
        (None, Some(keys)) => {
            intake.changes = key_changes(keys, bucket, received)?;
            Explicit::Keys { distribution_id }
        }
    };
    intake.explicit = Some(ExplicitRequest { what, caller_reference, timeout });
    Ok(intake)
}

/// `caller_reference`: 1 to [`MAX_CALLER_REFERENCE`] characters, or absent.
fn caller_reference(v: Option<Value>) -> Result<Option<String>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(r)) if !r.is_empty() && r.chars().count() <= MAX_CALLER_REFERENCE => Ok(Some(r)),
        Some(other) => Err(Error::invalid(format!(
            "caller_reference must be a string of 1 to {MAX_CALLER_REFERENCE} characters, got {}",
            truncate(&other.to_string(), 80)
        ))),
    }
}

/// `bucket`: an S3 bucket name, or absent.
fn bucket(v: Option<Value>) -> Result<Option<Arc<str>>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(b)) if (3..=63).contains(&b.len()) => Ok(Some(super::s3::bucket_name(&b))),
        Some(other) => Err(Error::invalid(format!(
            "bucket must be an S3 bucket name (3 to 63 characters), got {}",
            truncate(&other.to_string(), 80)
        ))),
    }
}

/// `paths`: 1 to [`API_MAX_PATHS`] items, each a path, a wildcard or a cache tag (tags in lower
/// case); deduplicated and sorted.
fn given_paths(v: Value) -> Result<Vec<String>, Error> {
    let mut paths = string_list(v, "paths")?;
    if paths.is_empty() || paths.len() > API_MAX_PATHS {
        return Err(Error::invalid(format!("paths must hold 1 to {API_MAX_PATHS} paths, got {}", paths.len())));
    }
    for (i, path) in paths.iter_mut().enumerate() {
        if let Some(problem) = item_problem(path) {
            return Err(Error::invalid(format!("paths[{i}] {:?}: {problem}", truncate(path, 80))));
        }
        if path.starts_with('#') {
            // Cache tags are case-insensitive: one spelling, sent once.
            *path = normalise_tag(path);
        }
    }
    paths.sort_unstable();
    paths.dedup();
    let wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
    if wildcards > API_MAX_WILDCARDS_IN_PROGRESS {
        // CloudFront never holds more in progress, so such a request could only ever be
        // refused as TooManyInvalidationsInProgress, and retried in vain.
        return Err(Error::invalid(format!(
            "paths hold {wildcards} wildcards; CloudFront allows at most {API_MAX_WILDCARDS_IN_PROGRESS} wildcard paths in progress per distribution"
        )));
    }
    Ok(paths)
}

/// `keys`: at least one S3 key, each a change of the request's `bucket` at `received`.
fn key_changes(v: Value, bucket: Option<Arc<str>>, received: Option<SystemTime>) -> Result<Vec<Change>, Error> {
    let keys = string_list(v, "keys")?;
    if keys.is_empty() {
        return Err(Error::invalid("keys must hold at least one S3 key"));
    }
    let mut changes = Vec::with_capacity(keys.len());
    for (i, key) in keys.into_iter().enumerate() {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(Error::invalid(format!("keys[{i}] must be 1 to {MAX_KEY_BYTES} bytes (an S3 key)")));
        }
        // Explicit keys are plain keys, not S3's form encoding: `a+b` means a plus.
        changes.push(Change {
            message: 0,
            bucket: bucket.clone(),
            key,
            kind: ChangeKind::Created,
            version: None,
            time: received,
        });
    }
    Ok(changes)
}

/// `{"invalidations": [{distribution_id | distribution_tenant_id, invalidation_id, timeout?, deadline?}, ...]}`; other fields of
/// an item (the create step's status, paths, ...) are read from CloudFront instead.
fn track_items(track: Value) -> Result<Vec<TrackItem>, Error> {
    const SHAPE: &str = "track must be {\"invalidations\": [{\"distribution_id\", \"invalidation_id\"}, ...]}";
    let Value::Object(mut track) = track else { return Err(Error::invalid(SHAPE)) };
    let Some(Value::Array(items)) = track.remove("invalidations") else { return Err(Error::invalid(SHAPE)) };
    if items.is_empty() || items.len() > MAX_TRACKED {
        return Err(Error::invalid(format!(
            "track.invalidations must hold 1 to {MAX_TRACKED} invalidations, got {}",
            items.len()
        )));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(item) = item else {
            return Err(Error::invalid(format!("track.invalidations[{i}] must be an object: {SHAPE}")));
        };
        let field = |name: &str| item.get(name).filter(|v| !v.is_null());
        let at = format!("track.invalidations[{i}].");
        let Some(distribution_id) = target(field("distribution_id"), field("distribution_tenant_id"), &at)? else {
            return Err(Error::invalid(format!(
                "{at}distribution_id is required (a distribution id), or {at}distribution_tenant_id (a tenant id)"
            )));
        };
        // CloudFront's ids are upper-case letters and digits; the id goes into a request path.
        let invalidation_id = match field("invalidation_id") {
            Some(Value::String(id))
                if (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                id.clone()
            }
            _ => {
                return Err(Error::invalid(format!(
                    "track.invalidations[{i}].invalidation_id is required (an invalidation id: letters and digits)"
                )))
            }
        };
        // The wait loop compares it with a Step Functions timestamp: RFC 3339 in UTC.
        let deadline = match field("deadline") {
            None => None,
            Some(Value::String(d)) if humantime::parse_rfc3339(d).is_ok() => Some(d.clone()),
            Some(other) => {
                return Err(Error::invalid(format!(
                    "track.invalidations[{i}].deadline must be an RFC 3339 time in UTC (2026-01-01T00:00:00Z), got {}",
                    truncate(&other.to_string(), 80)
                )))
            }
        };
        // With a deadline the timeout only reports what set it; without one it sets the deadline.
        let name = format!("track.invalidations[{i}].timeout");
        let timeout = match field("timeout") {
            None => None,
            Some(v) if deadline.is_some() => Some(
                whole_seconds(v)
                    .and_then(|t| u32::try_from(t).ok())
                    .ok_or_else(|| Error::invalid(format!("{name} must be a whole number of seconds, got {v}")))?,
            ),
            Some(v) => Some(timeout_seconds(v, &name)?),
        };
        out.push(TrackItem { distribution_id, invalidation_id, timeout, deadline });
    }
    Ok(out)
}

/// What a request (or an item of one, `at` its place) names: `distribution_id` (a distribution) or
/// `distribution_tenant_id` (a distribution tenant), each by its own id rule; `None` when neither.
/// Naming both is `InvalidInput`: one invalidation is made on one of them. `null` is absent.
fn target(distribution: Option<&Value>, tenant: Option<&Value>, at: &str) -> Result<Option<TargetId>, Error> {
    match (distribution.filter(|v| !v.is_null()), tenant.filter(|v| !v.is_null())) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(Error::invalid(format!(
            "give {at}distribution_id or {at}distribution_tenant_id, not both: an invalidation is made on a distribution or on one of its tenants"
        ))),
        (Some(Value::String(id)), None) => DistributionId::parse(id)
            .map(|d| Some(TargetId::Distribution(d)))
            .map_err(|rule| Error::invalid(format!("{at}distribution_id {rule}"))),
        (None, Some(Value::String(id))) => TenantId::parse(id)
            .map(|t| Some(TargetId::Tenant(t)))
            .map_err(|rule| Error::invalid(format!("{at}distribution_tenant_id {rule}"))),
        (Some(other), None) => {
            Err(Error::invalid(format!("{at}distribution_id must be a string (a distribution id), got {other}")))
        }
        (None, Some(other)) => Err(Error::invalid(format!(
            "{at}distribution_tenant_id must be a string (a distribution tenant id), got {other}"
        ))),
    }
}

/// Each field of the workflow's `wait` defaults on its own in the workflow; here only the values
/// given are checked.
fn check_wait(wait: Option<Value>) -> Result<(), Error> {
    let fields = match wait {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(fields)) => fields,
        Some(other) => return Err(Error::invalid(format!("wait must be an object, got {other}"))),
    };
    for (name, limits) in [("first_seconds", WAIT_FIRST_SECONDS), ("interval_seconds", WAIT_INTERVAL_SECONDS)] {
        if let Some(v) = fields.get(name).filter(|v| !v.is_null()) {
            seconds_within(v, &format!("wait.{name}"), limits, None)?;
        }
    }
    Ok(())
}

/// How far before its receipt a request's `requested_at` is believed: the longest the workflow
/// waits for room (`room_timeout` at most, 12 hours) and an hour more. An earlier time is taken as
/// this much before the receipt — a later time, the safe side — so that a caller's build start or
/// a mistaken date cannot make a week of invalidations count as covering keys written since, nor
/// make the function read them all.
pub const REQUESTED_AT_REACH: Duration = Duration::from_secs(ROOM_TIMEOUT_SECONDS.1 + 3600);

/// The time an explicit request's keys take: when it was received, or `requested_at` when that
/// is earlier (within [`REQUESTED_AT_REACH`]). A request that waits for room is received again at
/// every look (the workflow's wait loop), and an invalidation made meanwhile by another tool or
/// person covers its keys only if it was made after them: the first receipt is the later bound on
/// when they were written, so the workflow passes its execution's start (the keys must have been
/// written before the execution starts, as before the first look). A later `requested_at` than
/// the receipt says nothing more (the keys were written before they were sent).
fn keys_time(requested_at: Option<Value>, received: Option<SystemTime>) -> Result<Option<SystemTime>, Error> {
    let requested = match requested_at {
        None | Some(Value::Null) => return Ok(received),
        Some(v) => match v.as_str().and_then(super::rfc3339) {
            Some(q) => q,
            None => {
                return Err(Error::invalid(format!(
                    "requested_at must be an RFC 3339 time in UTC, such as 2026-12-05T02:41:14.123Z, got {}",
                    truncate(&v.to_string(), 80)
                )))
            }
        },
    };
    Ok(Some(match received {
        Some(r) => requested.min(r).max(r.checked_sub(REQUESTED_AT_REACH).unwrap_or(SystemTime::UNIX_EPOCH)),
        None => requested,
    }))
}

fn check_room_timeout(v: Option<Value>) -> Result<(), Error> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(v) => seconds_within(&v, "room_timeout", ROOM_TIMEOUT_SECONDS, Some(DEFAULT_ROOM_TIMEOUT)).map(drop),
    }
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
    use super::Explicit;
    use crate::intake::parse;
    use serde_json::json;

    fn ok(v: serde_json::Value) -> crate::intake::Intake {
        parse(v.to_string().as_bytes()).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn paths_request_with_defaults() {
        let i = ok(json!({"distribution_id":"EDFDVBD632BHDS5","paths":["/b","/a/*","/b"]}));
        let r = i.explicit.unwrap();
        let Explicit::Paths { paths, .. } = r.what else { panic!("a paths request") };
        assert_eq!(paths, vec!["/a/*", "/b"], "deduplicated, sorted");
        assert_eq!(r.timeout, 900);
        assert_eq!(r.caller_reference, None);
        assert!(i.changes.is_empty());
    }

    /// Rule: the workflow's `room_timeout` is 0 to 12 hours of whole seconds, for paths, keys and
    /// tracking inputs alike (the workflow sets it on every input that reaches the function).
    #[test]
    fn room_timeout_takes_0_to_12_hours() {
        let d = "EDFDVBD632BHDS5";
        for t in [json!(0), json!(60), json!(21600.0), json!(43200)] {
            ok(json!({"distribution_id":d,"paths":["/a"],"room_timeout":t}));
            ok(json!({"keys":["a"],"room_timeout":t}));
            ok(json!({"track":{"invalidations":[{"distribution_id":d,"invalidation_id":"I1"}]},"room_timeout":t}));
        }
    }

    #[test]
    fn keys_request_maps_plain_keys() {
        let i = ok(json!({"keys":["docs/a+b.html","x y.txt"],"caller_reference":"exec-1","timeout":60}));
        let r = i.explicit.unwrap();
        assert_eq!(r.what, Explicit::Keys { distribution_id: None });
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
            (json!({"distribution_id":d,"paths":["#a,b"]}), "no commas"),
            (json!({"distribution_id":d,"paths":["#"]}), "1 to 256"),
            (json!({"distribution_id":d,"paths":["#pages*"]}), "no wildcard"),
            (json!({"distribution_id":d,"paths":["#a b"]}), "ASCII 33–126"),
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
            (json!({"keys":["a"],"bucket":""}), "bucket must be an S3 bucket name"),
            (json!({"keys":["a"],"bucket":7}), "bucket must be"),
            (json!({"distribution_id":d,"paths":["/a"],"bucket":"b-1"}), "bucket applies to keys"),
            (json!({"keys":[""]}), "keys[0] must be 1 to 1024 bytes"),
            (json!({"keys":["k".repeat(1025)]}), "keys[0]"),
            (
                json!({"distribution_id":d,"paths":["/a"],"room_timeout":43_201}),
                "room_timeout must be a whole number of seconds from 0 to 43200 (default 21600)",
            ),
            (json!({"distribution_id":d,"paths":["/a"],"room_timeout":-1}), "room_timeout"),
            (json!({"distribution_id":d,"paths":["/a"],"room_timeout":"6h"}), "room_timeout"),
            (json!({"distribution_id":d,"paths":["/a"],"room_timeout":1.5}), "room_timeout"),
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

    /// Rule: an explicit request names a distribution (`distribution_id`) or a tenant
    /// (`distribution_tenant_id`), each by its own id rule; both, or neither where one is needed
    /// (paths, a tracked invalidation), is InvalidInput. Keys may name neither (ROUTES decide).
    #[test]
    fn a_request_names_a_distribution_or_a_tenant() {
        let (d, t) = ("EDFDVBD632BHDS5", "dt_acme");
        let tenant = || Some(crate::model::TargetId::parse(t).unwrap());
        let dist = || Some(crate::model::TargetId::parse(d).unwrap());
        let track = |item: serde_json::Value| json!({"track": {"invalidations": [item]}});
        // (request, Ok(what it names) or Err(part of the message))
        let cases = vec![
            (json!({"distribution_tenant_id":t,"paths":["/a"]}), Ok(tenant())),
            (json!({"distribution_id":d,"paths":["/a"]}), Ok(dist())),
            (json!({"distribution_tenant_id":t,"keys":["a"]}), Ok(tenant())),
            (json!({"keys":["a"]}), Ok(None)),
            (json!({"distribution_id":null,"distribution_tenant_id":t,"paths":["/a"]}), Ok(tenant())),
            (track(json!({"distribution_tenant_id":t,"invalidation_id":"I1"})), Ok(tenant())),
            (track(json!({"distribution_id":d,"invalidation_id":"I1"})), Ok(dist())),
            (json!({"distribution_id":d,"distribution_tenant_id":t,"paths":["/a"]}), Err("not both")),
            (json!({"distribution_id":d,"distribution_tenant_id":t,"keys":["a"]}), Err("not both")),
            (json!({"paths":["/a"]}), Err("distribution_id is required with paths (or distribution_tenant_id)")),
            (json!({"distribution_id":t,"paths":["/a"]}), Err("distribution_id \"dt_acme\" is not a distribution id")),
            (json!({"distribution_tenant_id":d,"paths":["/a"]}), Err("is not a distribution tenant id")),
            (json!({"distribution_tenant_id":"dt_","paths":["/a"]}), Err("is not a distribution tenant id")),
            (json!({"distribution_tenant_id":7,"paths":["/a"]}), Err("must be a string (a distribution tenant id)")),
            (
                json!({"distribution_tenant_id":format!("dt_{}", "a".repeat(62)),"paths":["/a"]}),
                Err("at most 64 characters"),
            ),
            (track(json!({"invalidation_id":"I1"})), Err("track.invalidations[0].distribution_tenant_id")),
            (
                track(json!({"distribution_id":d,"distribution_tenant_id":t,"invalidation_id":"I1"})),
                Err("give track.invalidations[0].distribution_id or track.invalidations[0].distribution_tenant_id"),
            ),
            (
                json!({"distribution_tenant_id":t,"track":{"invalidations":[{"distribution_id":d,"invalidation_id":"I1"}]}}),
                Err("track takes no distribution_id, distribution_tenant_id"),
            ),
        ];
        for (v, want) in cases {
            let got = parse(v.to_string().as_bytes()).map(|i| {
                let r = i.explicit.expect("explicit");
                match r.what {
                    Explicit::Track { invalidations } => Some(invalidations[0].distribution_id.clone()),
                    _ => r.distribution_id().cloned(),
                }
            });
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{v}"),
                (Err(e), Err(part)) => {
                    assert_eq!(e.error_type(), "InvalidInput", "{v}");
                    assert!(e.to_string().contains(part), "{v}: {e}");
                }
                (got, want) => panic!("{v}: got {got:?}, want {want:?}"),
            }
        }
    }

    /// Rule: a whole number of seconds may be written as a float (`900.0`), as Step
    /// Functions and JSONata may write it; a fraction or a string is still refused.
    #[test]
    fn timeout_accepts_an_integral_float() {
        let d = "EDFDVBD632BHDS5";
        for (t, want) in [
            (json!(900.0), Some(900)),
            (json!(60), Some(60)),
            (json!(3600.0), Some(3600)),
            (json!(90.5), None),
            (json!("900"), None),
            (json!(59.0), None),
        ] {
            let got = parse(json!({"distribution_id":d,"paths":["/a"],"timeout":t}).to_string().as_bytes());
            assert_eq!(got.ok().and_then(|i| i.explicit).map(|r| r.timeout), want, "{t}");
        }
    }

    /// Rule: cache tags (`#tag`) are accepted beside paths, one spelling each.
    #[test]
    fn cache_tags_beside_paths() {
        let i = ok(json!({"distribution_id":"EDFDVBD632BHDS5","paths":["/a","#Product-Pages","#product-pages"]}));
        let Explicit::Paths { paths, .. } = i.explicit.unwrap().what else { panic!("a paths request") };
        assert_eq!(paths, ["#product-pages", "/a"]);
    }

    /// Rule: CloudFront never holds more than 15 wildcard paths in progress, so a
    /// request with more can never succeed: refused at once, naming the limit.
    #[test]
    fn more_than_15_wildcards_are_refused() {
        let d = "EDFDVBD632BHDS5";
        let w = |n: usize| (0..n).map(|i| format!("/w{i}/*")).collect::<Vec<_>>();
        ok(json!({"distribution_id":d,"paths":w(15)}));
        let e = parse(json!({"distribution_id":d,"paths":w(16)}).to_string().as_bytes()).unwrap_err();
        assert_eq!(e.error_type(), "InvalidInput");
        assert!(e.to_string().contains("at most 15 wildcard paths in progress"), "{e}");
    }

    /// Rule: each field of the workflow's `wait` is checked on its own, before
    /// anything is created; absent fields are the workflow's defaults.
    #[test]
    fn wait_fields_are_checked_one_by_one() {
        let d = "EDFDVBD632BHDS5";
        let req = |w: serde_json::Value| json!({"distribution_id":d,"paths":["/a"],"wait":w}).to_string();
        for w in [
            json!({}),
            json!({"interval_seconds":1}),
            json!({"first_seconds":0}),
            json!({"first_seconds":3600,"interval_seconds":30.0}),
            json!(null),
        ] {
            assert!(parse(req(w.clone()).as_bytes()).is_ok(), "{w}");
        }
        for (w, want) in [
            (json!({"interval_seconds":0}), "wait.interval_seconds must be a whole number of seconds from 1 to 3600"),
            (json!({"first_seconds":-1}), "wait.first_seconds"),
            (json!({"first_seconds":3601}), "wait.first_seconds"),
            (json!({"interval_seconds":"30"}), "wait.interval_seconds"),
            (json!({"interval_seconds":1.5}), "wait.interval_seconds"),
            (json!(30), "wait must be an object"),
        ] {
            let e = parse(req(w.clone()).as_bytes()).unwrap_err();
            assert_eq!(e.error_type(), "InvalidInput", "{w}");
            assert!(e.to_string().contains(want), "{w}: {e}");
        }
    }

    /// Rule: `null` means absent, the same as in the workflow: every field set
    /// to null reads as the request without it.
    #[test]
    fn null_means_absent_in_every_field() {
        let d = "EDFDVBD632BHDS5";
        let read = |v: serde_json::Value| parse(v.to_string().as_bytes()).map(|i| (i.explicit, i.changes));
        let cases = [
            (
                json!({"distribution_id":d,"paths":["/a"],"caller_reference":null,"timeout":null,"wait":null,"room_timeout":null,"keys":null,"bucket":null}),
                json!({"distribution_id":d,"paths":["/a"]}),
            ),
            (
                json!({"distribution_id":d,"paths":["/a"],"wait":{"first_seconds":null,"interval_seconds":null}}),
                json!({"distribution_id":d,"paths":["/a"],"wait":{}}),
            ),
            (json!({"distribution_id":null,"keys":["a.html"],"paths":null}), json!({"keys":["a.html"]})),
            (
                json!({"track":{"invalidations":[{"distribution_id":d,"invalidation_id":"I1","timeout":null,"deadline":null,"status":null}]},"paths":null,"distribution_id":null}),
                json!({"track":{"invalidations":[{"distribution_id":d,"invalidation_id":"I1"}]}}),
            ),
        ];
        for (with_nulls, without) in cases {
            let (a, b) = (read(with_nulls.clone()), read(without));
            assert!(a.is_ok(), "{with_nulls}: {a:?}");
            assert_eq!(a, b, "{with_nulls}");
        }
    }

    /// Rule: a tracking input needs only each invalidation's two ids; its
    /// timeout (or each item's) and a deadline an item gives are kept, the rest is read from
    /// CloudFront. Refused: a missing or malformed id or deadline, an empty list, and paths or
    /// keys beside it — before anything is read.
    #[test]
    fn track_needs_only_the_ids() {
        let d = "EDFDVBD632BHDS5";
        let i = ok(json!({"track":{"invalidations":[
            {"distribution_id":d,"invalidation_id":"I2J0I21PCUYOIK"},
            {"distribution_id":d,"invalidation_id":"I3","timeout":3600,"deadline":"2026-01-01T00:00:00Z","status":"InProgress","paths":["/a"]}
        ]},"timeout":120,"caller_reference":"sfn-x"}));
        let r = i.explicit.unwrap();
        assert_eq!(r.timeout, 120);
        let Explicit::Track { invalidations } = r.what else { panic!("a track request") };
        let item = |id: &str, timeout, deadline: Option<&str>| super::TrackItem {
            distribution_id: crate::model::TargetId::parse(d).unwrap(),
            invalidation_id: id.into(),
            timeout,
            deadline: deadline.map(String::from),
        };
        assert_eq!(
            invalidations,
            [item("I2J0I21PCUYOIK", None, None), item("I3", Some(3600), Some("2026-01-01T00:00:00Z"))]
        );
        assert!(i.changes.is_empty());
        let one = |f: serde_json::Value| {
            let mut item = json!({"distribution_id":d,"invalidation_id":"I1"});
            item.as_object_mut().unwrap().extend(f.as_object().unwrap().clone());
            json!({"track":{"invalidations":[item]}})
        };
        let many: Vec<_> = (0..101).map(|i| json!({"distribution_id":d,"invalidation_id":format!("I{i}")})).collect();
        for (v, want) in [
            (
                json!({"track":{"invalidations":[{"invalidation_id":"I1"}]}}),
                "invalidations[0].distribution_id is required",
            ),
            (
                json!({"track":{"invalidations":[{"distribution_id":d}]}}),
                "invalidations[0].invalidation_id is required",
            ),
            (one(json!({"invalidation_id":"I1/../x"})), "invalidation_id is required"),
            (one(json!({"distribution_id":"e1"})), "distribution_id"),
            (one(json!({"deadline":"tomorrow"})), "deadline must be an RFC 3339 time"),
            (one(json!({"timeout":59})), "track.invalidations[0].timeout must be a whole number"),
            (one(json!({"timeout":"4","deadline":"2026-01-01T00:00:00Z"})), "timeout must be a whole number"),
            (json!({"track":{"invalidations":[]}}), "1 to 100"),
            (json!({"track":{"invalidations":many}}), "1 to 100"),
            (json!({"track":[]}), "track must be"),
            (json!({"track":{"invalidations":["I1"]}}), "must be an object"),
            (
                json!({"track":{"invalidations":[{"distribution_id":d,"invalidation_id":"I1"}]},"paths":["/a"],"distribution_id":d}),
                "track takes no",
            ),
        ] {
            let e = parse(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(e.error_type(), "InvalidInput", "{v}");
            assert!(e.to_string().contains(want), "{}: {e}", v.to_string().chars().take(120).collect::<String>());
        }
    }

    /// Rule: an explicit keys request may name its bucket, which routing then uses
    /// exactly as it uses an event's bucket.
    #[test]
    fn keys_carry_the_requests_bucket() {
        let i = ok(json!({"keys":["a.html"],"bucket":"www-example"}));
        assert_eq!(i.changes[0].bucket.as_deref(), Some("www-example"));
        let i = ok(json!({"keys":["a.html"]}));
        assert_eq!(i.changes[0].bucket, None);
    }

    /// Rule: an explicit request's keys were written before it was sent, so they take the time
    /// the caller received it; a caller that gives no receipt time leaves them unknown (`None`).
    /// A paths request has no changes to time.
    #[test]
    fn keys_take_the_receipt_time() {
        use crate::intake::parse_at;
        let received = humantime::parse_rfc3339("2024-05-14T09:30:00.250Z").unwrap();
        let keys = json!({"keys":["a.html","b+c.html"],"bucket":"www-example"}).to_string();
        let cases = [(parse_at(keys.as_bytes(), received), Some(received)), (parse(keys.as_bytes()), None)];
        for (got, want) in cases {
            let times: Vec<_> = got.unwrap().changes.iter().map(|c| c.time).collect();
            assert_eq!(times, [want; 2]);
        }
        let sample = parse_at(include_bytes!("../../events/explicit-keys.json"), received).unwrap();
        assert!(!sample.changes.is_empty() && sample.changes.iter().all(|c| c.time == Some(received)));
        let paths = parse_at(include_bytes!("../../events/explicit-paths.json"), received).unwrap();
        assert!(paths.changes.is_empty());
        // An event's changes keep the event's own times, whenever it was received.
        let s3 = parse_at(include_bytes!("../../events/s3-put.json"), received).unwrap();
        assert_eq!(s3.changes[0].time, Some(humantime::parse_rfc3339("2024-05-14T09:21:03.513Z").unwrap()));
    }

    /// Rule: `requested_at` (the workflow's execution start, or the caller's own) is the keys'
    /// time when it is earlier than the receipt — a request waiting for room is received again at
    /// each look, and what another tool made since the first one covers it — never later, and
    /// never more than the longest wait for room (and an hour) before it.
    /// RFC 3339 in UTC (`Z` or `+00:00`); null is absent; anything else is refused by name.
    #[test]
    fn requested_at_is_the_keys_time_when_earlier() {
        use crate::intake::parse_at;
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        let received = at("2024-05-14T09:30:00.250Z");
        let keys = |requested_at: serde_json::Value| {
            let body = json!({"keys": ["a.html"], "requested_at": requested_at}).to_string();
            parse_at(body.as_bytes(), received).map(|i| i.changes[0].time)
        };
        let cases = [
            (json!("2024-05-14T09:00:00.000Z"), Some(at("2024-05-14T09:00:00.001Z")), "earlier: its end"),
            (json!("2024-05-14T09:00:00.000000+00:00"), Some(at("2024-05-14T09:00:00.000001Z")), "UTC as +00:00"),
            (json!("2024-05-14T10:00:00Z"), Some(received), "later: the receipt"),
            (json!("2024-05-13T09:30:00.250Z"), Some(received - super::REQUESTED_AT_REACH), "a day before: 13 hours"),
            (serde_json::Value::Null, Some(received), "null: the receipt"),
        ];
        for (given, want, why) in cases {
            assert_eq!(keys(given).unwrap(), want, "{why}");
        }
        for wrong in [json!("2024-05-14T09:00:00+02:00"), json!("yesterday"), json!(1715677200)] {
            let e = keys(wrong.clone()).unwrap_err();
            assert!(e.to_string().contains("requested_at must be an RFC 3339 time in UTC"), "{wrong}: {e}");
        }
        // Without a receipt time (a caller that does not know it), requested_at alone.
        let body = json!({"keys": ["a.html"], "requested_at": "2024-05-14T09:00:00Z"}).to_string();
        assert_eq!(parse(body.as_bytes()).unwrap().changes[0].time, Some(at("2024-05-14T09:00:01Z")));
    }
}
