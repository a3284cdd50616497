//! The CallerReference of each request, decided in one place.
//!
//! CloudFront returns the existing invalidation (no new one, no new charge) when a request repeats
//! a CallerReference with the same paths, and refuses it with `InvalidationBatchAlreadyExists`
//! when the paths differ. So the reference is, in order:
//!
//! - the caller's own (`caller_reference` of an explicit request; the workflow's `sfn-<execution>`);
//! - for changes: derived from what the request is *about* — the distribution and each change's
//!   key with the token of that write (S3's `sequencer`). A redelivered event or a Lambda retry
//!   derives the same reference; a later upload of the same key has a new sequencer and so a new
//!   reference. The paths are left out on purpose: they depend on the room CloudFront's quota has
//!   left, so a redelivery may plan other paths for the same changes, and then CloudFront's
//!   `InvalidationBatchAlreadyExists` means exactly "these changes were invalidated already";
//! - for explicit paths without a reference: the paths and the request token (the Lambda request
//!   id, which Lambda keeps across its own retries of an async invoke).
//!
//! The token stands in for the version of changes that carry none ([`Token`]): the Lambda request
//! id, or `cfinv invalidate`'s `--caller-reference` (the deploy's id), so the same keys and id are
//! the same invalidation whenever the command runs again. Without either, cfinv's keys are the same
//! request only while its invalidation is in progress: the reference is the digest of the keys,
//! then `-<start time in ns>`, and any reference with that digest is the same request's
//! ([`Reference::matches`]). A digest of the keys alone would be wrong: a deploy tomorrow that
//! changes the same files would get back today's completed invalidation, and nothing would be
//! invalidated.

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::xxh3_128;

use crate::model::{Change, ChangeKind};

/// A request's reference and who chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub value: String,
    pub origin: Origin,
    /// References made by other runs of the same request start with this ([`Token::Unversioned`]).
    pub family: Option<String>,
}

impl Reference {
    /// Whether `r`, found on an invalidation, is this request's.
    pub fn matches(&self, r: &str) -> bool {
        match &self.family {
            Some(prefix) => r.starts_with(prefix.as_str()),
            None => r == self.value,
        }
    }
}

/// What stands in for the version of changes that carry none (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// The Lambda request id, or a deploy's id.
    Fixed(&'a str),
    /// No id: this run's start (nanoseconds since the epoch).
    Unversioned { at: u128 },
}

/// The token of unversioned keys' digest.
const UNVERSIONED: &str = "cfinv invalidate: unversioned keys";

/// [`decide`] with any [`Token`].
pub fn decide_with<'c>(
    given: Option<&str>,
    distribution_id: &str,
    changes: impl Iterator<Item = &'c Change>,
    paths: &[String],
    token: Token<'_>,
) -> Reference {
    match token {
        Token::Fixed(t) => decide(given, distribution_id, changes, paths, t),
        Token::Unversioned { at } => {
            let base = decide(given, distribution_id, changes, paths, UNVERSIONED);
            if base.origin == Origin::Caller {
                return base;
            }
            Reference { value: format!("{}-{at}", base.value), family: Some(format!("{}-", base.value)), ..base }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Caller,
    Changes,
    Paths,
}

/// The references this project's invalidations carry: `cfinv-` for every reference derived
/// here (by the Lambda or `cfinv invalidate`), `sfn-` for the workflow's (`sfn-<execution name>`,
/// statemachine/invalidate.asl.json). A caller-given `caller_reference` of an explicit request
/// counts as another tool's: nothing tells it apart.
const OUR_PREFIXES: [&str; 2] = ["cfinv-", "sfn-"];

/// Whether an invalidation's CallerReference is one this project makes.
pub fn is_ours(caller_reference: &str) -> bool {
    OUR_PREFIXES.iter().any(|p| caller_reference.starts_with(p))
}

/// Whether a CallerReference has the form this project generates — not merely its prefix, as
/// [`is_ours`] reads it: `cfinv-` and 40 lower-case hex digits ([`finish`]), perhaps followed by
/// `-` and the start time in nanoseconds of an unversioned run ([`decide_with`]), or the workflow's
/// `sfn-<execution name>` (1 to 80 characters, what Step Functions allows in a name). A reference a
/// caller chose, even one starting `cfinv-`, is not: `cfinv cost` bills it to others, and the
/// monthly path budget (`budget.rs`) does not count it.
pub fn is_generated(caller_reference: &str) -> bool {
    if caller_reference.starts_with("sfn-") {
        return is_workflows(caller_reference);
    }
    let Some(rest) = caller_reference.strip_prefix("cfinv-") else { return false };
    let (digest, at) = match rest.split_once('-') {
        Some((digest, at)) => (digest, Some(at)),
        None => (rest, None),
    };
    let hex = digest.len() == 40 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex && at.is_none_or(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a CallerReference is the workflow's own, `sfn-<execution name>` (1 to 80 characters):
/// it names one execution, whose keys never come back with other keys under it.
pub fn is_workflows(caller_reference: &str) -> bool {
    caller_reference.strip_prefix("sfn-").is_some_and(|name| (1..=80).contains(&name.chars().count()))
}

/// The one rule (see the module documentation).
pub fn decide<'c>(
    given: Option<&str>,
    distribution_id: &str,
    changes: impl Iterator<Item = &'c Change>,
    paths: &[String],
    request_token: &str,
) -> Reference {
    if let Some(r) = given {
        return Reference { value: r.to_string(), origin: Origin::Caller, family: None };
    }
    let mut buf = Vec::with_capacity(256);
    // Each change is first reduced to a 128-bit XXH3 digest (a stable, specified hash), so that a
    // million changes are sorted and deduplicated as integers rather than as strings.
    let mut digests: Vec<u128> = changes
        .map(|c| {
            buf.clear();
            // NUL separates fields: it cannot occur in a bucket name, and a NUL in a key only
            // shifts bytes between fields that are hashed together anyway.
            buf.extend_from_slice(c.bucket.as_deref().unwrap_or("").as_bytes());
            buf.push(0);
            buf.extend_from_slice(c.key.as_bytes());
            buf.extend_from_slice(&[0, kind_byte(c.kind), 0]);
            buf.extend_from_slice(c.version.as_deref().unwrap_or(request_token).as_bytes());
            xxh3_128(&buf)
        })
        .collect();
    digests.sort_unstable();
    digests.dedup();
    let (origin, parts): (Origin, Vec<&[u8]>) = if digests.is_empty() {
        (Origin::Paths, std::iter::once(request_token.as_bytes()).chain(paths.iter().map(|p| p.as_bytes())).collect())
    } else {
        (Origin::Changes, Vec::new())
    };
    let mut h = Sha256::new();
    h.update(match origin {
        Origin::Paths => &b"cf-invalidator/3 paths\n"[..],
        _ => &b"cf-invalidator/3 changes\n"[..],
    });
    h.update(distribution_id.as_bytes());
    h.update(b"\n");
    for d in digests {
        h.update(d.to_le_bytes());
    }
    for p in parts {
        h.update(p);
        h.update(b"\n");
    }
    Reference { value: finish(h), origin, family: None }
}

/// The reference of a request deployed again: its earlier invalidation (reference `earlier`) has
/// been followed by another that covers some of its keys, so that earlier one no longer answers
/// it (`submit.rs`). Derived from `earlier` alone, so that a retry of the redeploy finds the
/// invalidation it made, and a redeploy after yet another deploy derives the next one from it: a
/// chain `r`, `redeployed(r)`, `redeployed(redeployed(r))`, ... of which the newest not followed by a
/// covering invalidation is the answer.
pub fn redeployed(earlier: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cf-invalidator/3 deployed again\n");
    h.update(earlier.as_bytes());
    finish(h)
}

fn kind_byte(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Created => b'C',
        ChangeKind::Removed => b'R',
    }
}

/// `cfinv-` and 40 hex digits (160 bits of SHA-256): far inside CloudFront's 128 characters.
fn finish(h: Sha256) -> String {
    let digest = h.finalize();
    let mut s = String::with_capacity(46);
    s.push_str("cfinv-");
    for b in &digest[..20] {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(key: &str, seq: Option<&str>, message: usize) -> Change {
        Change {
            message,
            bucket: Some("b".into()),
            key: key.into(),
            kind: ChangeKind::Created,
            version: seq.map(Into::into),
            time: None,
        }
    }

    fn derive(d: &str, changes: &[&Change], paths: &[String], token: &str) -> String {
        decide(None, d, changes.iter().copied(), paths, token).value
    }

    /// Rule: same changes → same reference (redelivery creates nothing new), whatever paths the
    /// room allowed; a later write of the same key → a new one; the caller's own wins; ≤ 128
    /// characters.
    #[test]
    fn deterministic_and_sensitive_to_each_write() {
        let p = vec!["/a".to_string()];
        let a1 = change("a", Some("01"), 0);
        let a1_again = change("a", Some("01"), 7); // the same S3 event in another SQS message
        let a2 = change("a", Some("02"), 0);
        let r = derive("E1", &[&a1], &p, "req-1");
        assert_eq!(
            r,
            derive("E1", &[&a1_again], &p, "req-2"),
            "message and request do not matter when S3 versioned it"
        );
        assert_eq!(r, derive("E1", &[&a1, &a1_again], &p, "req-1"), "duplicates do not matter");
        assert_ne!(r, derive("E1", &[&a2], &p, "req-1"), "a later upload");
        assert_ne!(r, derive("E2", &[&a1], &p, "req-1"), "another distribution");
        assert_eq!(r, derive("E1", &[&a1], &["/a*".to_string()], "req-1"), "other paths for the same changes");
        assert!(r.len() <= 128 && r.starts_with("cfinv-"), "{r}");

        let k = change("a", None, 0);
        assert_eq!(
            derive("E1", &[&k], &p, "req-1"),
            derive("E1", &[&k], &p, "req-1"),
            "a Lambda retry keeps its request id"
        );
        assert_ne!(derive("E1", &[&k], &p, "req-1"), derive("E1", &[&k], &p, "req-2"), "a new invoke is a new request");

        assert_ne!(derive("E1", &[], &p, "req-1"), derive("E1", &[], &p, "req-2"), "explicit paths: the request token");
        assert_ne!(
            derive("E1", &[], &p, "req-1"),
            derive("E1", &[], &["/b".into()], "req-1"),
            "explicit paths: the paths"
        );
        assert_eq!(decide(None, "E1", [&a1].into_iter(), &p, "t").origin, Origin::Changes);
        assert_eq!(decide(None, "E1", std::iter::empty(), &p, "t").origin, Origin::Paths);
        let given = decide(Some("deploy-1"), "E1", [&a1].into_iter(), &p, "t");
        assert_eq!((given.value.as_str(), given.origin), ("deploy-1", Origin::Caller));
    }

    /// Rule: what this module and the workflow generate is recognised — whatever the
    /// changes, tokens and unversioned runs — and nothing a caller may choose for itself is, even
    /// with the same prefix.
    #[test]
    fn generated_references_are_recognised_by_their_form() {
        let k = change("a", None, 0);
        let generated = [
            decide(None, "E1", [&k].into_iter(), &[], "req-1").value,
            decide(None, "E1", std::iter::empty(), &["/a".to_string()], "req-1").value,
            decide_with(None, "E1", [&k].into_iter(), &[], Token::Unversioned { at: 1_764_000_000_123_456_789 }).value,
            "sfn-deploy-42".to_string(),
        ];
        for r in &generated {
            assert!(is_generated(r), "{r}");
        }
        let chosen = [
            ("a caller's own", "deploy-2026-01-01"),
            ("the prefix only", "cfinv-"),
            ("a caller's cfinv- name", "cfinv-my-deploy"),
            ("upper-case hex", "cfinv-0123456789ABCDEF0123456789ABCDEF01234567"),
            ("39 hex digits", "cfinv-0123456789abcdef0123456789abcdef0123456"),
            ("a non-numeric run time", "cfinv-0123456789abcdef0123456789abcdef01234567-x"),
            ("an empty run time", "cfinv-0123456789abcdef0123456789abcdef01234567-"),
            ("the workflow's prefix only", "sfn-"),
            ("a console's", "console-2026"),
            ("empty", ""),
        ];
        for (rule, r) in chosen {
            assert!(!is_generated(r), "{rule}: {r}");
        }
        let caller = decide(Some("cfinv-release-7"), "E1", [&k].into_iter(), &[], "t").value;
        assert!(!is_generated(&caller), "a caller-given reference stays the caller's");
    }

    /// Rule: a redeploy's reference is derived from the earlier one alone — the same earlier
    /// reference, the same redeploy (a retry finds it); each link of a chain differs from the
    /// others and from its start; ours, and within CloudFront's 128 characters.
    #[test]
    fn redeploys_chain_deterministically() {
        for start in ["release-1.2", "sfn-deploy-7", &"x".repeat(128)] {
            let (r1, r2) = (redeployed(start), redeployed(&redeployed(start)));
            assert_eq!(r1, redeployed(start), "{start}");
            assert!(r1 != start && r2 != r1 && r2 != start, "{start}");
            assert!(is_ours(&r1) && r1.len() <= 128, "{r1}");
        }
    }

    /// Rule: without a version or id, keys are the same request only while in progress — each
    /// run has its own reference, and every run of the same keys matches it; other keys do not.
    #[test]
    fn unversioned_runs_of_the_same_keys_match_each_other() {
        let k = change("a", None, 0);
        let other = change("b", None, 0);
        let run = |c: &Change, at| decide_with(None, "E1", [c].into_iter(), &[], Token::Unversioned { at });
        let (first, second) = (run(&k, 1), run(&k, 2));
        assert_ne!(first.value, second.value, "a new run is a new invalidation once the first completed");
        assert!(second.matches(&first.value) && first.matches(&second.value));
        assert!(!first.matches(&run(&other, 1).value));
        let fixed = decide_with(None, "E1", [&k].into_iter(), &[], Token::Fixed("sha-1"));
        assert!(fixed.matches(&fixed.value) && !fixed.matches(&first.value));
        assert!(fixed.value.len() <= 128 && first.value.len() <= 128);
    }
}
