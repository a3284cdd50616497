//! Deterministic CallerReference.
//!
//! CloudFront returns the existing invalidation (no new one, no new charge) when a request repeats
//! a CallerReference with the same paths. So the reference is derived from what the request is
//! *about*: the distribution, each change's key with the token of that write (S3's `sequencer`),
//! and the paths. A redelivered event or a Lambda retry derives the same reference; a later upload
//! of the same key has a new sequencer and so a new reference. Including the paths means a planner
//! change between a failure and its redelivery yields a new reference rather than CloudFront's
//! `InvalidationBatchAlreadyExists`.

use sha2::{Digest, Sha256};
use xxhash_rust::xxh3::xxh3_128;

use crate::model::{Change, ChangeKind};

/// `cfinv-` and 40 hex digits (160 bits of SHA-256): far inside CloudFront's 128 characters.
///
/// Each change is first reduced to a 128-bit XXH3 digest (a stable, specified hash), so that a
/// million changes are sorted and deduplicated as integers rather than as strings; SHA-256 then
/// covers the sorted digests and the paths.
pub fn derive(distribution_id: &str, changes: &[&Change], paths: &[String], request_token: &str) -> String {
    let mut buf = Vec::with_capacity(256);
    let mut digests: Vec<u128> = changes
        .iter()
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
    let mut h = Sha256::new();
    h.update(b"cf-invalidator/2\n");
    h.update(distribution_id.as_bytes());
    h.update(b"\n");
    for d in digests {
        h.update(d.to_le_bytes());
    }
    h.update(b"\npaths\n");
    for p in paths {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    finish(h)
}

fn kind_byte(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Created => b'C',
        ChangeKind::Removed => b'R',
    }
}

/// A reference for an explicit `paths` request without one: its paths and the request token.
pub fn derive_for_paths(distribution_id: &str, paths: &[String], request_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"cf-invalidator/1 explicit\n");
    h.update(distribution_id.as_bytes());
    h.update(b"\n");
    h.update(request_token.as_bytes());
    h.update(b"\npaths\n");
    for p in paths {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    finish(h)
}

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
        }
    }

    /// Rule: same batch → same reference (redelivery creates nothing new); a later write of the
    /// same key → a new one; ≤ 128 characters.
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
        assert_ne!(r, derive("E1", &[&a1], &["/a*".to_string()], "req-1"), "other paths");
        assert!(r.len() <= 128 && r.starts_with("cfinv-"), "{r}");

        let k = change("a", None, 0);
        assert_eq!(
            derive("E1", &[&k], &p, "req-1"),
            derive("E1", &[&k], &p, "req-1"),
            "a Lambda retry keeps its request id"
        );
        assert_ne!(derive("E1", &[&k], &p, "req-1"), derive("E1", &[&k], &p, "req-2"), "a new invoke is a new request");
        assert_ne!(derive_for_paths("E1", &p, "req-1"), derive_for_paths("E1", &p, "req-2"));
    }
}
