//! The path planner: changes → per distribution, the paths to send. Pure: no AWS types, no I/O.
//!
//! - [`mapping`]: key → the viewer paths that serve it (index documents) → covers of each request form;
//! - [`encoding`]: CloudFront's encoding rule and the forms other encoders produce;
//! - [`collapse`]: budgets (`MAX_PATHS`, `MAX_WILDCARDS`), tightest wildcards first.
//!
//! Routing (which distribution and origin path a key belongs to) and the include/exclude filter
//! are applied here too, from [`Config`].

pub mod collapse;
pub mod covers;
pub mod encoding;
pub mod mapping;

pub use covers::Covers;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Target};
use crate::error::Error;
use crate::model::Change;
pub use crate::model::{path_problem, MAX_PATH_LEN};
use crate::reference;

/// What one path costs past the free tier (CloudFront pricing, per path, wildcard or not).
pub const COST_PER_PATH_USD: f64 = 0.005;

/// One CreateInvalidation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub distribution_id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    /// SQS message indexes whose changes this request carries (to report if it fails).
    pub messages: BTreeSet<usize>,
    pub stats: PlanStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Changed keys routed to this distribution.
    pub keys_in: usize,
    /// Paths before budgets were applied (after request forms and index documents).
    pub exact_paths: usize,
    pub wildcards: usize,
}

impl Plan {
    pub fn cost_usd(&self) -> f64 {
        self.paths.len() as f64 * COST_PER_PATH_USD
    }
}

/// The target of an explicit `keys` request that names its distribution (none otherwise).
pub fn explicit_target(cfg: &Config, distribution: Option<&str>) -> Vec<Target> {
    distribution
        .map(|id| Target { distribution_id: id.to_string(), origin_path: cfg.origin_path.clone() })
        .into_iter()
        .collect()
}

/// Where a change goes: the explicit request's distribution when there is one (`explicit`, from
/// [`explicit_target`]), else the configured route's. `Ok(None)` when ROUTES has no route for it;
/// an error when nothing is configured at all, because an event must not be acknowledged unplanned.
pub fn targets_for<'a>(
    cfg: &'a Config,
    change: &Change,
    explicit: &'a [Target],
) -> Result<Option<&'a [Target]>, Error> {
    if !explicit.is_empty() {
        return Ok(Some(explicit));
    }
    match cfg.route_for(change.bucket.as_deref(), &change.key) {
        Some(route) => Ok(Some(&route.targets)),
        None if cfg.routes.is_empty() => Err(Error::Config(
            "DISTRIBUTION_ID: not set (and no ROUTES), so events have no distribution to invalidate; \
             set it to the distribution's id, e.g. EDFDVBD632BHDS5"
                .into(),
        )),
        None => Ok(None),
    }
}

/// The covers of one key (already stripped of its origin path) before any budget: each request
/// form of each viewer path that serves it.
pub fn covers_of_key(viewer_key: &str, index_document: Option<&str>) -> Covers {
    let mut covers = Covers::new();
    mapping::for_each_viewer_path(viewer_key, index_document, &mut String::new(), |vp| {
        mapping::covers_for(vp, &mut covers)
    });
    covers
}

/// Every plan for one invocation, one per distribution, in distribution order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planned {
    pub plans: Vec<Plan>,
    /// Keys skipped, by reason (no route, filtered, outside the origin path).
    pub skipped: BTreeMap<&'static str, usize>,
}

#[derive(Default)]
struct Acc<'a> {
    covers: Covers,
    changes: Vec<&'a Change>,
    /// SQS message indexes, possibly repeated (sorted and deduplicated once at the end).
    messages: Vec<usize>,
}

impl<'a> Acc<'a> {
    /// Room for every change's covers up front: an index document's key makes three, and growing
    /// a million keys' arena by doubling would copy it again and again. Room that is never
    /// written costs address space only.
    fn with_room(changes: &[Change]) -> Self {
        let texts: usize = changes.iter().map(|c| 3 * (c.key.len() + 2)).sum();
        Acc {
            covers: Covers::with_capacity(texts, 3 * changes.len()),
            changes: Vec::with_capacity(changes.len()),
            messages: Vec::new(),
        }
    }
}

/// Plans the requests for a set of changes.
///
/// `distribution` overrides routing (an explicit `keys` request naming its distribution).
/// `request_token` stands in for the version of changes that have none (explicit keys): the
/// Lambda request id, which Lambda keeps across its own retries of an async invoke.
pub fn plan(
    changes: &[Change],
    cfg: &Config,
    distribution: Option<&str>,
    request_token: &str,
) -> Result<Planned, Error> {
    let mut by_dist: BTreeMap<String, Acc> = BTreeMap::new();
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let explicit = explicit_target(cfg, distribution);
    let mut scratch = String::new();
    for change in changes {
        let Some(targets) = targets_for(cfg, change, &explicit)? else {
            *skipped.entry("no route").or_default() += 1;
            continue;
        };
        if let Err(reason) = cfg.filter.check(&change.key) {
            *skipped.entry(reason).or_default() += 1;
            continue;
        }
        for t in targets {
            let Some(viewer_key) = crate::config::strip_prefix(&change.key, &t.origin_path) else {
                *skipped.entry("outside ORIGIN_PATH").or_default() += 1;
                continue;
            };
            // Look up before inserting: a key clone per change would be 10,000 allocations a batch.
            if !by_dist.contains_key(t.distribution_id.as_str()) {
                by_dist.insert(t.distribution_id.clone(), Acc::with_room(changes));
            }
            let acc = by_dist.get_mut(t.distribution_id.as_str()).expect("inserted above");
            mapping::for_each_viewer_path(viewer_key, cfg.index_document.as_deref(), &mut scratch, |vp| {
                mapping::covers_for(vp, &mut acc.covers)
            });
            acc.changes.push(change);
            if acc.messages.last() != Some(&change.message) {
                acc.messages.push(change.message);
            }
        }
    }
    let budget = collapse::Budget { max_paths: cfg.max_paths, max_wildcards: cfg.max_wildcards };
    let plans = by_dist
        .into_iter()
        .map(|(distribution_id, acc)| {
            let exact_paths = acc.covers.len();
            let covers = collapse::collapse(acc.covers, budget);
            let paths = covers.paths();
            let caller_reference = reference::derive(&distribution_id, &acc.changes, &paths, request_token);
            let stats = PlanStats { keys_in: acc.changes.len(), exact_paths, wildcards: covers.wildcards() };
            Plan { distribution_id, caller_reference, paths, messages: acc.messages.into_iter().collect(), stats }
        })
        .collect();
    Ok(Planned { plans, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChangeKind;

    fn cfg(vars: &[(&str, &str)]) -> Config {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).unwrap()
    }

    fn change(bucket: &str, key: &str) -> Change {
        Change {
            message: 0,
            bucket: Some(bucket.into()),
            key: key.into(),
            kind: ChangeKind::Created,
            version: Some("1".into()),
        }
    }

    fn plan_keys(vars: &[(&str, &str)], keys: &[&str]) -> Planned {
        let changes: Vec<Change> = keys.iter().map(|k| change("b", k)).collect();
        plan(&changes, &cfg(vars), None, "t").unwrap()
    }

    fn paths(p: &Planned) -> Vec<(&str, Vec<&str>)> {
        p.plans.iter().map(|x| (x.distribution_id.as_str(), x.paths.iter().map(String::as_str).collect())).collect()
    }

    /// Each mapping rule of issue 3, as (configuration, keys) → paths per distribution.
    #[test]
    fn mapping_rules() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str], &'a [(&'a str, &'a [&'a str])]);
        let cases: &[Case] = &[
            ("key → / + key", &[("DISTRIBUTION_ID", "E1")], &["a/b.css"], &[("E1", &["/a/b.css"])]),
            (
                "root index.html is also /",
                &[("DISTRIBUTION_ID", "E1")],
                &["index.html"],
                &[("E1", &["/", "/index.html"])],
            ),
            (
                "dir/index.html is also /dir/ and /dir",
                &[("DISTRIBUTION_ID", "E1")],
                &["docs/index.html"],
                &[("E1", &["/docs", "/docs/", "/docs/index.html"])],
            ),
            (
                "INDEX_DOCUMENT empty disables",
                &[("DISTRIBUTION_ID", "E1"), ("INDEX_DOCUMENT", "")],
                &["docs/index.html"],
                &[("E1", &["/docs/index.html"])],
            ),
            (
                "ORIGIN_PATH is stripped, keys outside it skipped",
                &[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "/site")],
                &["site/a.html", "other/b.html", "site/index.html"],
                &[("E1", &["/", "/a.html", "/index.html"])],
            ),
            (
                "EXCLUDE skips content-hashed assets",
                &[("DISTRIBUTION_ID", "E1"), ("EXCLUDE", "assets/**")],
                &["assets/app.1234.js", "about.html"],
                &[("E1", &["/about.html"])],
            ),
            (
                "INCLUDE keeps only matches",
                &[("DISTRIBUTION_ID", "E1"), ("INCLUDE", "*.html")],
                &["a.html", "a.css"],
                &[("E1", &["/a.html"])],
            ),
            ("duplicates removed", &[("DISTRIBUTION_ID", "E1")], &["a.html", "a.html"], &[("E1", &["/a.html"])]),
            (
                "ROUTES: one request per distribution, each with its origin path",
                &[(
                    "ROUTES",
                    r#"[{"prefix":"blog/","distributions":[{"id":"EBLOG","origin_path":"/blog"},"EALL"]},{"prefix":"","distributions":["EALL"]}]"#,
                )],
                &["blog/post.html", "index.html"],
                &[("EALL", &["/", "/blog/post.html", "/index.html"]), ("EBLOG", &["/post.html"])],
            ),
            ("nothing left: no request", &[("DISTRIBUTION_ID", "E1"), ("EXCLUDE", "**")], &["a"], &[]),
        ];
        for (rule, vars, keys, want) in cases {
            let got = plan_keys(vars, keys);
            assert_eq!(paths(&got), want.iter().map(|(d, p)| (*d, p.to_vec())).collect::<Vec<_>>(), "{rule}");
        }
    }

    #[test]
    fn skipped_keys_are_counted_by_reason() {
        let p = plan_keys(
            &[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "site"), ("EXCLUDE", "*.map")],
            &["x/a", "site/b.map", "site/c"],
        );
        assert_eq!(p.skipped, BTreeMap::from([("matched by EXCLUDE", 1), ("outside ORIGIN_PATH", 1)]));
        let p = plan_keys(&[("ROUTES", r#"[{"prefix":"a/","distributions":["E1"]}]"#)], &["b/x"]);
        assert_eq!(p.skipped, BTreeMap::from([("no route", 1)]));
        assert!(p.plans.is_empty());
    }

    #[test]
    fn events_without_a_distribution_are_a_config_error() {
        let e = plan(&[change("b", "a")], &cfg(&[]), None, "t").unwrap_err();
        assert_eq!(e.error_type(), "ConfigError");
        assert!(e.to_string().contains("DISTRIBUTION_ID"), "{e}");
        // An explicit request naming its distribution needs no configuration.
        let p = plan(&[change("b", "a")], &cfg(&[]), Some("E9"), "t").unwrap();
        assert_eq!(paths(&p), vec![("E9", vec!["/a"])]);
    }
}
