//! Environment → a validated [`Config`], read once at start.
//!
//! Every error names the variable and what it allows, because the only place an operator sees it is
//! the function's first log line (or `cfinv`'s stderr).

use std::collections::BTreeMap;

use globset::{GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::Error;
use crate::model::{valid_distribution_id, API_MAX_PATHS, API_MAX_WILDCARDS_IN_PROGRESS as API_MAX_WILDCARDS};

#[derive(Debug, Clone)]
pub struct Config {
    /// Default distribution for events; an explicit request's `distribution_id` wins.
    pub distribution_id: Option<String>,
    /// Which distributions each changed key belongs to. Without `ROUTES`, one catch-all route to
    /// `DISTRIBUTION_ID` with `ORIGIN_PATH`.
    pub routes: Vec<Route>,
    /// Origin path applied to explicit `keys` requests that name their own distribution.
    pub origin_path: String,
    /// `index.html` by default; `None` when disabled with an empty `INDEX_DOCUMENT`.
    pub index_document: Option<String>,
    pub max_paths: usize,
    pub max_wildcards: usize,
    pub filter: KeyFilter,
    /// CloudWatch namespace of the EMF metrics (`METRICS_NAMESPACE`, default `CfInvalidator`);
    /// `None` when set empty, or for the CLI, which keeps stdout for its own output.
    pub metrics_namespace: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`, the metrics' dimension.
    pub function_name: Option<String>,
    /// `CLOUDFRONT_ENDPOINT_URL`: a local CloudFront stand-in for `sam local invoke` (SAM can only
    /// override variables the template declares, so the template declares this one empty). The
    /// SDK's own `AWS_ENDPOINT_URL_CLOUDFRONT` works as well.
    pub cloudfront_endpoint: Option<String>,
}

/// A bucket and key prefix whose changes go to one or more distributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `None` matches every bucket.
    pub bucket: Option<String>,
    pub prefix: String,
    pub targets: Vec<Target>,
}

/// One distribution a route feeds, with the bucket prefix its origin serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub distribution_id: String,
    /// Normalised as a key prefix: `""` or `"site/"` (from `/site`, `site`, `/site/`).
    pub origin_path: String,
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
            let mut b = GlobSetBuilder::new();
            for g in globs {
                let anywhere;
                let pattern = if g.contains('/') {
                    g.as_str()
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
            b.build().map(Some).map_err(|e| e.to_string())
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

/// `/site/` → `site/`; `` or `/` → ``.
pub fn normalise_origin_path(p: &str) -> String {
    let t = p.trim_matches('/');
    if t.is_empty() {
        String::new()
    } else {
        format!("{t}/")
    }
}

impl Config {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same rules over a list of variables (tests, benchmarks, fuzz targets).
    pub fn from_pairs(vars: &[(&str, &str)]) -> Result<Self, Error> {
        Self::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    /// The same rules as [`Config::from_env`] over any variable source (tests, the CLI).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let err = |var: &str, msg: String| Error::Config(format!("{var}: {msg}"));
        let non_empty = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let distribution_id = match non_empty("DISTRIBUTION_ID") {
            Some(id) if valid_distribution_id(id.trim()) => Some(id.trim().to_string()),
            Some(id) => {
                return Err(err(
                    "DISTRIBUTION_ID",
                    format!("{id:?} is not a distribution id (upper-case letters and digits, e.g. EDFDVBD632BHDS5)"),
                ))
            }
            None => None,
        };
        let origin_path = normalise_origin_path(&get("ORIGIN_PATH").unwrap_or_default());
        let index_document = match get("INDEX_DOCUMENT") {
            None => Some("index.html".to_string()),
            Some(v) if v.trim().is_empty() => None,
            Some(v) if v.contains('/') => {
                return Err(err(
                    "INDEX_DOCUMENT",
                    format!("{v:?} must be a file name without '/' (default index.html, empty to disable)"),
                ))
            }
            Some(v) => Some(v.trim().to_string()),
        };
        let number = |name: &str, default: usize, max: usize| -> Result<usize, Error> {
            match non_empty(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<usize>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(err(name, format!("{v:?} must be a whole number from 1 to {max} (default {default})"))),
                },
            }
        };
        let max_paths = number("MAX_PATHS", API_MAX_PATHS, API_MAX_PATHS)?;
        let max_wildcards = number("MAX_WILDCARDS", API_MAX_WILDCARDS, API_MAX_WILDCARDS)?;

        let globs = |name: &str| -> Result<Vec<String>, Error> {
            split_list(&get(name).unwrap_or_default()).map_err(|m| err(name, m))
        };
        let include = globs("INCLUDE")?;
        let exclude = globs("EXCLUDE")?;
        let filter = KeyFilter::new(&include, &exclude).map_err(|m| err("INCLUDE/EXCLUDE", m))?;

        let routes = match non_empty("ROUTES") {
            Some(json) => parse_routes(&json).map_err(|m| err("ROUTES", m))?,
            None => match &distribution_id {
                Some(id) => vec![Route {
                    bucket: None,
                    prefix: String::new(),
                    targets: vec![Target { distribution_id: id.clone(), origin_path: origin_path.clone() }],
                }],
                None => Vec::new(),
            },
        };

        let metrics_namespace = match get("METRICS_NAMESPACE") {
            None => Some("CfInvalidator".to_string()),
            Some(v) if v.trim().is_empty() => None,
            Some(v) if v.len() <= 255 && !v.starts_with("AWS/") && v.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c)) => {
                Some(v)
            }
            Some(v) => {
                return Err(err(
                    "METRICS_NAMESPACE",
                    format!("{v:?} is not a CloudWatch namespace (letters, digits and . _ - / # :, not starting with AWS/; empty disables metrics)"),
                ))
            }
        };
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME").filter(|v| !v.is_empty());
        let cloudfront_endpoint = match non_empty("CLOUDFRONT_ENDPOINT_URL") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(u.trim().to_string()),
            Some(u) => {
                return Err(err(
                    "CLOUDFRONT_ENDPOINT_URL",
                    format!("{u:?} must be an http:// or https:// URL, or empty (the default: CloudFront itself)"),
                ))
            }
            None => None,
        };

        Ok(Config {
            distribution_id,
            routes,
            origin_path,
            index_document,
            max_paths,
            max_wildcards,
            filter,
            metrics_namespace,
            function_name,
            cloudfront_endpoint,
        })
    }

    /// Whether the route of `key` depends on its bucket: some route naming a bucket matches it.
    pub fn depends_on_bucket(&self, key: &str) -> bool {
        self.routes.iter().any(|r| r.bucket.is_some() && strip_prefix(key, &r.prefix).is_some())
    }

    /// The target of a keys request naming a distribution that no route names.
    pub fn explicit_target(&self, distribution_id: &str) -> Target {
        Target { distribution_id: distribution_id.to_string(), origin_path: self.origin_path.clone() }
    }

    /// The route for a changed key: the longest matching prefix; a route naming the bucket beats
    /// one that does not, so a catch-all never steals a specific bucket's keys.
    pub fn route_for(&self, bucket: Option<&str>, key: &str) -> Option<&Route> {
        self.routes
            .iter()
            .filter(|r| strip_prefix(key, &r.prefix).is_some())
            .filter(|r| match (&r.bucket, bucket) {
                (None, _) => true,
                (Some(rb), Some(b)) => rb == b,
                (Some(_), None) => false,
            })
            .max_by_key(|r| (r.prefix.len(), r.bucket.is_some()))
    }
}

/// `key.strip_prefix(prefix)` for a configured prefix (a route's, an origin path), without calling
/// libc's `memcmp` for the usual empty one: on our machines that call costs tens of nanoseconds even
/// at length zero, which was a tenth of planning a key.
pub fn strip_prefix<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    if prefix.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(prefix)
    }
}

/// A JSON array of strings, or a comma-separated list (commas inside `{…}` belong to the glob).
fn split_list(v: &str) -> Result<Vec<String>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(Vec::new());
    }
    if v.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(v)
            .map_err(|e| format!("not a JSON array of glob strings ({e}); or give a comma-separated list"));
    }
    let mut out = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in v.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    Ok(out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteJson {
    bucket: Option<String>,
    #[serde(default)]
    prefix: String,
    distributions: Vec<TargetJson>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TargetJson {
    Id(String),
    Full {
        id: String,
        #[serde(default)]
        origin_path: String,
    },
}

fn parse_routes(json: &str) -> Result<Vec<Route>, String> {
    let raw: Vec<RouteJson> = serde_json::from_str(json).map_err(|e| {
        format!(
            "{e}; expected a JSON array like \
             [{{\"bucket\":\"my-bucket\",\"prefix\":\"blog/\",\"distributions\":[{{\"id\":\"E123\",\"origin_path\":\"/blog\"}}]}}]"
        )
    })?;
    if raw.is_empty() {
        return Err("is an empty list; leave it unset to use DISTRIBUTION_ID".into());
    }
    let mut seen = BTreeMap::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            if r.distributions.is_empty() {
                return Err(format!("route {i} names no distributions"));
            }
            if let Some(j) = seen.insert((r.bucket.clone(), r.prefix.clone()), i) {
                return Err(format!("routes {j} and {i} have the same bucket and prefix"));
            }
            let targets = r
                .distributions
                .into_iter()
                .map(|t| {
                    let (id, op) = match t {
                        TargetJson::Id(id) => (id, String::new()),
                        TargetJson::Full { id, origin_path } => (id, origin_path),
                    };
                    if !valid_distribution_id(&id) {
                        return Err(format!(
                            "route {i}: {id:?} is not a distribution id (upper-case letters and digits)"
                        ));
                    }
                    Ok(Target { distribution_id: id, origin_path: normalise_origin_path(&op) })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(t) = targets
                .iter()
                .enumerate()
                .find(|(n, t)| targets[..*n].iter().any(|u| u.distribution_id == t.distribution_id))
            {
                return Err(format!("route {i} names distribution {} twice", t.1.distribution_id));
            }
            Ok(Route { bucket: r.bucket.filter(|b| !b.is_empty()), prefix: r.prefix, targets })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, Error> {
        Config::from_pairs(vars)
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.distribution_id, None);
        assert!(c.routes.is_empty());
        assert_eq!(c.index_document.as_deref(), Some("index.html"));
        assert_eq!((c.max_paths, c.max_wildcards), (3000, 15));
    }

    /// Each invalid value is refused with an error naming the variable and the allowed values.
    #[test]
    fn invalid_values_name_the_variable() {
        let cases: &[(&str, &str, &str)] = &[
            ("DISTRIBUTION_ID", "e123abc", "upper-case letters and digits"),
            ("DISTRIBUTION_ID", "E12-3", "upper-case letters and digits"),
            ("MAX_PATHS", "0", "from 1 to 3000"),
            ("MAX_PATHS", "3001", "from 1 to 3000"),
            ("MAX_PATHS", "ten", "from 1 to 3000"),
            ("MAX_WILDCARDS", "16", "from 1 to 15"),
            ("INDEX_DOCUMENT", "a/index.html", "without '/'"),
            ("EXCLUDE", "[1,2]", "JSON array"),
            ("EXCLUDE", "a[", "invalid glob"),
            ("ROUTES", "{}", "expected a JSON array"),
            ("ROUTES", "[]", "empty list"),
            ("ROUTES", r#"[{"prefix":"a/","distributions":["bad id"]}]"#, "not a distribution id"),
            ("ROUTES", r#"[{"prefix":"a/","distributions":[]}]"#, "no distributions"),
        ];
        for (var, val, want) in cases {
            let e = cfg(&[(var, val)]).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.error_type(), "ConfigError");
            assert!(msg.contains(var.split('/').next().unwrap()) || msg.contains("INCLUDE/EXCLUDE"), "{msg}");
            assert!(msg.contains(want), "{var}={val}: {msg}");
        }
    }

    #[test]
    fn origin_path_is_a_key_prefix() {
        for (raw, want) in [("", ""), ("/", ""), ("/site", "site/"), ("site/", "site/"), ("/a/b/", "a/b/")] {
            assert_eq!(normalise_origin_path(raw), want, "{raw:?}");
        }
        let c = cfg(&[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "/prod")]).unwrap();
        assert_eq!(c.routes[0].targets[0].origin_path, "prod/");
    }

    #[test]
    fn globs_split_on_commas_outside_braces() {
        assert_eq!(split_list("a/**, *.{js,css} ,").unwrap(), vec!["a/**", "*.{js,css}"]);
        assert_eq!(split_list(r#"["x,y", "z"]"#).unwrap(), vec!["x,y", "z"]);
        let c = cfg(&[("EXCLUDE", "assets/**/*.js"), ("INCLUDE", "")]).unwrap();
        assert_eq!(c.filter.check("assets/a/b.js"), Err("matched by EXCLUDE"));
        assert_eq!(c.filter.check("assets.js"), Ok(()));
        let c = cfg(&[("INCLUDE", "docs/*.html")]).unwrap();
        assert_eq!(c.filter.check("docs/a/b.html"), Err("not matched by INCLUDE"), "* stays within a segment");
        assert_eq!(c.filter.check("docs/a.html"), Ok(()));
        let c = cfg(&[("EXCLUDE", "*.map")]).unwrap();
        assert_eq!(c.filter.check("a.js.map"), Err("matched by EXCLUDE"), "a glob without / matches at any depth");
        assert_eq!(c.filter.check("js/deep/a.js.map"), Err("matched by EXCLUDE"));
        assert_eq!(c.filter.check("a.js"), Ok(()));
    }

    #[test]
    fn routes_pick_the_most_specific_match() {
        let c = cfg(&[(
            "ROUTES",
            r#"[{"prefix":"","distributions":["EALL"]},
                {"bucket":"b","prefix":"blog/","distributions":[{"id":"EBLOG","origin_path":"/blog"},"EMIRROR"]},
                {"prefix":"blog/","distributions":["EOTHER"]}]"#,
        )])
        .unwrap();
        let id = |b: Option<&str>, k: &str| c.route_for(b, k).unwrap().targets[0].distribution_id.clone();
        assert_eq!(id(Some("b"), "blog/x"), "EBLOG");
        assert_eq!(id(Some("c"), "blog/x"), "EOTHER");
        assert_eq!(id(Some("b"), "x"), "EALL");
        assert_eq!(c.route_for(Some("b"), "blog/x").unwrap().targets[0].origin_path, "blog/");
        assert_eq!(c.route_for(Some("b"), "blog/x").unwrap().targets[1].distribution_id, "EMIRROR");
    }
}
