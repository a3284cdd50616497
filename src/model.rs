//! The shared vocabulary of intake, planner and the edge: what a change is, and CloudFront's rules
//! and limits for paths, distribution ids and requests. Intake and the planner both depend on this
//! file and never on each other.

use std::sync::Arc;

/// CloudFront's hard per-request limit on paths (CreateInvalidation `Paths.Quantity`; past it,
/// `BatchTooLarge`).
pub const API_MAX_PATHS: usize = 3000;
/// CloudFront's quota of exact (file) paths in progress per distribution.
pub const API_MAX_PATHS_IN_PROGRESS: usize = 3000;
/// CloudFront's quota of wildcard paths in progress per distribution, counted apart from the
/// exact ones: no request can ever hold more.
pub const API_MAX_WILDCARDS_IN_PROGRESS: usize = 15;
/// S3's limit on a key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Whether an invalidation item is a wildcard path (`*` as its last character), which counts
/// against the 15 wildcard paths in progress instead of the 3,000 exact ones.
pub fn is_wildcard(item: &str) -> bool {
    item.ends_with('*')
}

/// How many of a request's or an invalidation's items count against each of CloudFront's two
/// independent in-progress quotas (3,000 exact paths, 15 wildcard paths per distribution). Cache
/// tags count as exact paths: *unsettled* whether CloudFront counts them at all, and counting them
/// is the safe side. The one place wildcards are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathCounts {
    pub exact: usize,
    pub wildcards: usize,
}

impl PathCounts {
    pub fn of<S: AsRef<str>>(items: &[S]) -> Self {
        let wildcards = items.iter().filter(|p| is_wildcard(p.as_ref())).count();
        PathCounts { exact: items.len() - wildcards, wildcards }
    }
}

impl std::ops::AddAssign for PathCounts {
    fn add_assign(&mut self, other: PathCounts) {
        self.exact += other.exact;
        self.wildcards += other.wildcards;
    }
}

/// Whether a key's content appeared/changed or went away. Both need invalidating; the kind is
/// kept for logs and for the caller reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Created,
    Removed,
}

/// One key that was created or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Index into `Intake::messages` for SQS (which message to report if it is not submitted);
    /// 0 for every other source.
    pub message: usize,
    /// Shared between the changes of one bucket (a batch names the same bucket 10,000 times).
    pub bucket: Option<Arc<str>>,
    /// The decoded S3 key (UTF-8, no form encoding).
    pub key: String,
    pub kind: ChangeKind,
    /// What distinguishes this write of the key from another write of the same key (the S3
    /// `sequencer`, or the best substitute the event has). `None` for explicit keys.
    pub version: Option<String>,
    /// When the change was made, as the record says (S3 `eventTime`, EventBridge `time`, SNS
    /// `Timestamp`, SQS `SentTimestamp` where nothing inside is earlier; an explicit request's
    /// receipt): an invalidation created after it (with a margin) covers it. Never before the
    /// change by the clock that wrote it: each of those is stamped once the change is made, and
    /// intake takes the end of the last digit written (EventBridge's whole second ends 1 s after
    /// what it says). The clocks differ, hence the margin. `None`: unknown, so no earlier
    /// invalidation may be taken to cover it.
    pub time: Option<std::time::SystemTime>,
}

/// A CloudFront distribution id, valid by Terraform's rule (`^[A-Z0-9]+$`; CloudFront sets no
/// length, AWS's examples have 13–15 characters). Checked once where it enters — configuration,
/// ROUTES, an explicit request — with one message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct DistributionId(String);

impl DistributionId {
    /// `Err` is the rule, for the caller to prefix with where the id came from.
    pub fn parse(id: &str) -> Result<Self, String> {
        if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            Ok(DistributionId(id.to_string()))
        } else {
            Err(format!("{id:?} is not a distribution id (upper-case letters and digits, e.g. EDFDVBD632BHDS5)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for DistributionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DistributionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for DistributionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A distribution tenant's id (CloudFront SaaS Manager): `dt_` and then letters, digits, `_` or `-`,
/// 64 characters at most (the API's `Id` is 1–64 characters; tenant ids all start `dt_`). Not a
/// distribution id: the distribution rule (upper-case letters and digits) never sees one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// `Err` is the rule, for the caller to prefix with where the id came from.
    pub fn parse(id: &str) -> Result<Self, String> {
        let ok = id.len() <= 64
            && id.strip_prefix("dt_").is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            });
        if ok {
            Ok(TenantId(id.to_string()))
        } else {
            Err(format!(
                "{id:?} is not a distribution tenant id (dt_ and then letters, digits, _ or -, at most 64 characters)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one invalidation is made on: a distribution (`CreateInvalidation`) or a distribution tenant
/// (`CreateInvalidationForDistributionTenant`). Everything else — planning, references, the room,
/// waiting — is the same for both; only the CloudFront operations and the field that names it
/// (`distribution_id` or `distribution_tenant_id`) differ. The two id forms never overlap (a
/// tenant's starts with lower-case `dt_`), so the id alone, as text, names one or the other.
///
/// Serialized as its id (a string); as the field that names it in an enclosing object with
/// `#[serde(flatten, with = "crate::model::target_field")]`: `"distribution_id": "E…"` or
/// `"distribution_tenant_id": "dt_…"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetId {
    Distribution(DistributionId),
    Tenant(TenantId),
}

impl serde::Serialize for TargetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A [`TargetId`] as the one field that names it ([`TargetId::field`]), for `#[serde(flatten)]`.
pub mod target_field {
    use serde::ser::SerializeMap;

    pub fn serialize<S: serde::Serializer>(t: &super::TargetId, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(t.field(), t.as_str())?;
        map.end()
    }
}

impl TargetId {
    /// A tenant id (`dt_…`) or a distribution id, each by its own rule. `Err` is the rule.
    pub fn parse(id: &str) -> Result<Self, String> {
        if id.starts_with("dt_") {
            TenantId::parse(id).map(TargetId::Tenant)
        } else {
            DistributionId::parse(id).map(TargetId::Distribution)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TargetId::Distribution(d) => d.as_str(),
            TargetId::Tenant(t) => t.as_str(),
        }
    }

    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            TargetId::Tenant(t) => Some(t),
            TargetId::Distribution(_) => None,
        }
    }

    pub fn is_tenant(&self) -> bool {
        self.tenant().is_some()
    }

    /// The field that names it in requests, answers and events: `distribution_id` or
    /// `distribution_tenant_id`.
    pub fn field(&self) -> &'static str {
        match self {
            TargetId::Distribution(_) => "distribution_id",
            TargetId::Tenant(_) => "distribution_tenant_id",
        }
    }

    /// What it is, for messages: `distribution E…` or `distribution tenant dt_…`.
    pub fn describe(&self) -> String {
        match self {
            TargetId::Distribution(d) => format!("distribution {d}"),
            TargetId::Tenant(t) => format!("distribution tenant {t}"),
        }
    }
}

impl From<DistributionId> for TargetId {
    fn from(d: DistributionId) -> Self {
        TargetId::Distribution(d)
    }
}

impl From<TenantId> for TargetId {
    fn from(t: TenantId) -> Self {
        TargetId::Tenant(t)
    }
}

impl std::ops::Deref for TargetId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TargetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for TargetId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

/// CloudFront's limit on one path's length.
pub const MAX_PATH_LEN: usize = 4000;

/// Why a path would be refused by CloudFront, or `None` when it is valid: starts with `/`, at most
/// 4,000 characters, `*` only last, printable ASCII with unsafe characters `%XX`-encoded.
pub fn path_problem(p: &str) -> Option<String> {
    if !p.starts_with('/') {
        return Some("must start with '/' (items starting with '#' are cache tags, not paths)".into());
    }
    if p.len() > MAX_PATH_LEN {
        return Some(format!("is {} characters, over CloudFront's {MAX_PATH_LEN}", p.len()));
    }
    if p.as_bytes()[..p.len() - 1].contains(&b'*') {
        return Some("has '*' not at the end (CloudFront allows '*' only as the last character)".into());
    }
    let b = p.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let bad = match c {
            b'%' => {
                !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            }
            b' ' | b'<' | b'>' | b'"' | b'#' | b'{' | b'}' | b'|' | b'\\' | b'^' | b'[' | b']' | b'`' => true,
            // Reported rejected by CloudFront (and %7E accepted but not invalidating): cover a
            // key with '~' by a wildcard that ends before it.
            b'~' => true,
            c => !(0x21..0x7f).contains(&c),
        };
        if bad {
            return Some(format!(
                "has {:?} at byte {i}: encode unsafe and non-ASCII characters as %XX (and end a wildcard before a '~')",
                p[i..].chars().next().unwrap_or('?')
            ));
        }
    }
    None
}

/// CloudFront's limit on one cache tag.
pub const MAX_TAG_LEN: usize = 256;

/// Why an item of `Paths.Items` would be refused, or `None`: a cache tag (`#tag`) or a path.
pub fn item_problem(item: &str) -> Option<String> {
    if item.starts_with('#') {
        tag_problem(item)
    } else {
        path_problem(item)
    }
}

/// Why a cache-tag item would be refused, or `None` when it is valid. CloudFront's rules: the item
/// starts with `#`; the tag is 1 to 256 characters of ASCII 33–126, without commas (the origin's
/// header separates tags with them) and without a wildcard.
pub fn tag_problem(item: &str) -> Option<String> {
    let Some(tag) = item.strip_prefix('#') else {
        return Some("a cache tag must start with '#'".into());
    };
    if tag.is_empty() || tag.len() > MAX_TAG_LEN {
        return Some(format!("a cache tag must be 1 to {MAX_TAG_LEN} characters after '#', got {}", tag.len()));
    }
    if let Some(c) = tag.chars().find(|c| !matches!(*c as u32, 33..=126)) {
        return Some(format!("a cache tag is ASCII 33–126 only (no spaces, controls or non-ASCII), got {c:?}"));
    }
    if tag.contains(',') {
        return Some("a cache tag has no commas (the origin's header separates tags with them)".into());
    }
    if tag.contains('*') {
        return Some("a cache tag has no wildcard".into());
    }
    None
}

/// A cache tag as sent: tags are case-insensitive, so one spelling (lower case) is sent once.
pub fn normalise_tag(item: &str) -> String {
    item.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: CloudFront rejects the whole request for one bad path; these are the checks.
    #[test]
    fn path_validity() {
        let ok = ["/", "/*", "/a/b*", "/a%20b", "/caf%C3%A9", "/a+b=c&d@e"];
        let bad = ["", "a", "#tag", "/a*b", "/a b", "/café", "/a%2", "/a%zz", "/a~b", "/a\u{1}", "/<x>"];
        for p in ok {
            assert_eq!(path_problem(p), None, "{p}");
        }
        for p in bad {
            assert!(path_problem(p).is_some(), "{p:?}");
        }
        assert!(path_problem(&format!("/{}", "a".repeat(4000))).is_some());
    }

    #[test]
    fn distribution_ids_follow_terraforms_rule() {
        for ok in ["EDFDVBD632BHDS5", "E1"] {
            assert_eq!(DistributionId::parse(ok).map(|d| d.to_string()).as_deref(), Ok(ok));
        }
        for bad in ["", "e1", "E-1", "E 1", &"E".repeat(65)] {
            let e = DistributionId::parse(bad).unwrap_err();
            assert!(e.contains("is not a distribution id (upper-case letters and digits"), "{bad}: {e}");
        }
    }

    /// Rule: a tenant id is `dt_…`, 1–64 characters, with its own rule; a distribution
    /// id's rule never rejects one, and each id names the kind it is.
    #[test]
    fn target_ids_are_distributions_or_tenants_by_their_own_rules() {
        let max = format!("dt_{}", "a".repeat(61));
        let cases: &[(&str, Result<bool, &str>)] = &[
            // (id, Ok(is a tenant) or Err(part of the rule))
            ("EDFDVBD632BHDS5", Ok(false)),
            ("dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB", Ok(true)),
            ("dt_acme-site_1", Ok(true)),
            (max.as_str(), Ok(true)),
            ("dt_", Err("is not a distribution tenant id")),
            ("dt_a b", Err("is not a distribution tenant id")),
            ("dt_a.b", Err("is not a distribution tenant id")),
            ("DT_ACME", Err("is not a distribution id")),
            ("tenant", Err("is not a distribution id")),
            ("", Err("is not a distribution id")),
        ];
        for (id, want) in cases {
            match (TargetId::parse(id), want) {
                (Ok(t), Ok(tenant)) => {
                    assert_eq!((t.is_tenant(), t.as_str()), (*tenant, *id), "{id}");
                    assert_eq!(TenantId::parse(id).is_ok(), *tenant, "{id}");
                }
                (Err(e), Err(rule)) => assert!(e.contains(rule), "{id}: {e}"),
                (got, want) => panic!("{id}: got {got:?}, want {want:?}"),
            }
        }
        assert!(TenantId::parse(&format!("{max}a")).is_err(), "65 characters");
        // A value is its id; flattened into an object, the one field that names it.
        #[derive(serde::Serialize)]
        struct Named {
            #[serde(flatten, with = "target_field")]
            on: TargetId,
            n: u8,
        }
        for (id, field) in [("E1", "distribution_id"), ("dt_acme", "distribution_tenant_id")] {
            let on = TargetId::parse(id).unwrap();
            assert_eq!(serde_json::to_value(&on).unwrap(), serde_json::json!(id));
            assert_eq!(serde_json::to_value(Named { on, n: 1 }).unwrap(), serde_json::json!({field: id, "n": 1}));
        }
        assert!(DistributionId::parse("dt_acme").is_err() && TenantId::parse("E1").is_err());
    }

    /// Rule: cache tags, by CloudFront's documentation — `#`, 1–256 characters of ASCII 33–126,
    /// no commas, no wildcard.
    #[test]
    fn cache_tag_rules() {
        let long = format!("#{}", "t".repeat(256));
        for ok in ["#product-pages", "#a", "#A_b.c:d/e", long.as_str()] {
            assert_eq!(tag_problem(ok), None, "{ok}");
            assert_eq!(item_problem(ok), None, "{ok}");
        }
        let too_long = format!("#{}", "t".repeat(257));
        let cases = [
            ("#", "1 to 256"),
            (too_long.as_str(), "1 to 256"),
            ("#a b", "ASCII 33–126"),
            ("#café", "ASCII 33–126"),
            ("#a,b", "no commas"),
            ("#pages*", "no wildcard"),
            ("tag", "must start with '#'"),
        ];
        for (item, want) in cases {
            assert!(tag_problem(item).is_some_and(|p| p.contains(want)), "{item}: {:?}", tag_problem(item));
        }
        assert!(item_problem("no-slash").is_some_and(|p| p.contains("must start with '/'")));
        assert_eq!(normalise_tag("#Product-Pages"), "#product-pages");
    }
}
