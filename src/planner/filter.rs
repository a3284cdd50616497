//! `EXCLUDE` / `INCLUDE`: which changed keys never need invalidating (content-hashed assets, source
//! maps), as globs over the full S3 key.

use globset::{GlobSet, GlobSetBuilder};

/// Globs over the full S3 key, as in `.gitignore` (also used by `TAGS`): `*` stays within one `/`
/// segment, `**` crosses them, and a glob without `/` matches a file name at any depth.
pub fn key_globs<S: AsRef<str>>(globs: &[S]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let g = g.as_ref();
        let anywhere;
        let pattern = if g.contains('/') {
            g
        } else {
            anywhere = format!("{{{g},**/{g}}}");
            anywhere.as_str()
        };
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid glob {g:?}: {e}"))?;
        b.add(glob);
    }
    b.build().map_err(|e| e.to_string())
}

/// `EXCLUDE` / `INCLUDE` globs over the full S3 key, as in `.gitignore`: `*` stays within one `/`
/// segment, `**` crosses them, and a glob without `/` matches a file name at any depth (`*.map`).
#[derive(Debug, Clone, Default)]
pub struct KeyFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl KeyFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        fn build(globs: &[String]) -> Result<Option<GlobSet>, String> {
            if globs.is_empty() {
                return Ok(None);
            }
            key_globs(globs).map(Some)
        }
        Ok(KeyFilter { include: build(include)?, exclude: build(exclude)? })
    }

    /// `Err(reason)` when the key is filtered out.
    pub fn check(&self, key: &str) -> Result<(), &'static str> {
        if let Some(inc) = &self.include {
            if !inc.is_match(key) {
                return Err("not matched by INCLUDE");
            }
        }
        if let Some(exc) = &self.exclude {
            if exc.is_match(key) {
                return Err("matched by EXCLUDE");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules: gitignore-style globs — `*` stays within one segment, `**` crosses them, a glob
    /// without `/` matches a file name at any depth; INCLUDE keeps only matches.
    #[test]
    fn globs_match_like_gitignore() {
        let f = |inc: &[&str], exc: &[&str]| {
            let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
            KeyFilter::new(&s(inc), &s(exc)).unwrap()
        };
        type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a str, Result<(), &'a str>);
        let cases: &[Case] = &[
            (&[], &["assets/**/*.js"], "assets/a/b.js", Err("matched by EXCLUDE")),
            (&[], &["assets/**/*.js"], "assets.js", Ok(())),
            (&["docs/*.html"], &[], "docs/a/b.html", Err("not matched by INCLUDE")),
            (&["docs/*.html"], &[], "docs/a.html", Ok(())),
            (&[], &["*.map"], "a.js.map", Err("matched by EXCLUDE")),
            (&[], &["*.map"], "js/deep/a.js.map", Err("matched by EXCLUDE")),
            (&[], &["*.map"], "a.js", Ok(())),
        ];
        for (inc, exc, key, want) in cases {
            assert_eq!(f(inc, exc).check(key), *want, "{inc:?} {exc:?} {key}");
        }
        assert!(KeyFilter::new(&[], &["a[".to_string()]).unwrap_err().contains("invalid glob"));
    }
}
