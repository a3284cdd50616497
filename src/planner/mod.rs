//! The path planner: changes → per distribution, the paths to send. Pure: no AWS types, no I/O.
//!
//! - [`mapping`]: key → the viewer paths that serve it (index documents) → covers of each request form;
//! - [`encoding`]: CloudFront's encoding rule and the forms other encoders produce;
//! - [`collapse`]: budgets (`MAX_PATHS`, `MAX_WILDCARDS`), tightest wildcards first;
//! - [`coverage`]: which items (paths, wildcards, tags) cover which request forms, the one rule
//!   by which an invalidation is found to cover a request, a change or given paths.
//!
//! Routing (which distribution and origin path a key belongs to) and the include/exclude filter
//! are applied here too, from the planner's own [`Settings`] (built from the environment by
//! `config.rs`; the planner never reads the environment or the whole configuration).

pub mod collapse;
pub mod coverage;
pub mod covers;
pub mod encoding;
pub mod explain;
pub mod filter;
pub mod mapping;
pub mod routing;
pub mod tags;

pub use coverage::ItemIndex;
pub use covers::Covers;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;
pub use crate::model::{path_problem, MAX_PATH_LEN};
use crate::model::{Change, TargetId};
use filter::KeyFilter;
use routing::{strip_prefix, Routes, Target};
use tags::TagRules;

/// What the planner is told: where keys go, how they map to paths, and the user's caps.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which distributions each changed key belongs to. Without `ROUTES`, one catch-all route to
    /// `DISTRIBUTION_ID` with `ORIGIN_PATH`.
    pub routes: Routes,
    /// `index.html` by default; `None` when disabled.
    pub index_document: Option<String>,
    /// The user's own caps on one request (`MAX_PATHS`, `MAX_WILDCARDS`), never zero.
    pub max_paths: std::num::NonZeroUsize,
    pub max_wildcards: std::num::NonZeroUsize,
    pub filter: KeyFilter,
    /// `TAGS`: cache tags that changes of matching keys add to their request.
    pub tags: TagRules,
    /// `MONTHLY_PATH_BUDGET`: this project's paths a month on a distribution past which plans are
    /// made for fewest billed paths ([`Budget::thrifty`], `budget.rs`); `None`: no budget.
    pub monthly_path_budget: Option<std::num::NonZeroUsize>,
    /// The distributions whose list may hold their tenants' invalidations (the submit step's
    /// concern, set by config.rs from the tenants it knows).
    pub tenant_parents: Parents,
    /// `DISTRIBUTION_TENANTS`: each tenant's parent distribution, where known (the submit step's
    /// concern: whether a parent's invalidations clear its tenants' caches too is unsettled).
    pub parent_of: BTreeMap<crate::model::TenantId, crate::model::DistributionId>,
}

/// Which distributions may be the parent of a distribution tenant: those named in
/// `DISTRIBUTION_TENANTS`, or every distribution when a route names a tenant whose parent is not
/// named there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Parents {
    #[default]
    None,
    These(BTreeSet<String>),
    Any,
}

impl Parents {
    /// Whether `target` is a distribution that may have tenants.
    pub fn may_be(&self, target: &TargetId) -> bool {
        match (self, target) {
            (_, TargetId::Tenant(_)) | (Parents::None, _) => false,
            (Parents::These(ds), TargetId::Distribution(d)) => ds.contains(d.as_str()),
            (Parents::Any, TargetId::Distribution(_)) => true,
        }
    }
}

/// What one path costs past the free tier (CloudFront pricing, per path, wildcard or not).
pub const COST_PER_PATH_USD: f64 = 0.005;

/// One CreateInvalidation request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    #[serde(flatten, with = "crate::model::target_field")]
    pub distribution_id: TargetId,
    pub paths: Vec<String>,
    /// SQS message indexes whose changes this request carries (to report if it fails).
    #[serde(skip)]
    pub messages: BTreeSet<usize>,
    #[serde(flatten)]
    pub stats: PlanStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PlanStats {
    /// Changed keys routed to this distribution.
    pub keys_in: usize,
    /// Covers before budgets were applied (each request form of each viewer path; a key with an
    /// unsettled character contributes wildcards).
    pub covers: usize,
    /// Paths in the plan that are not wildcards.
    pub exact_paths: usize,
    pub wildcards: usize,
    /// Cache-tag items (`#tag`), from `TAGS` or the request.
    pub tags: usize,
}

impl Plan {
    pub fn cost_usd(&self) -> f64 {
        self.paths.len() as f64 * COST_PER_PATH_USD
    }

    /// A plan of paths given as they are (an explicit `paths` request).
    pub fn of_paths(distribution_id: &TargetId, paths: &[String]) -> Plan {
        let tags = paths.iter().filter(|p| p.starts_with('#')).count();
        let counts = crate::model::PathCounts::of(paths);
        Plan {
            distribution_id: distribution_id.clone(),
            paths: paths.to_vec(),
            messages: BTreeSet::from([0]),
            stats: PlanStats {
                keys_in: 0,
                covers: paths.len(),
                exact_paths: counts.exact - tags,
                wildcards: counts.wildcards,
                tags,
            },
        }
    }
}

pub use collapse::Budget;

/// How the keys of a request are routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing<'a> {
    /// Event keys: the configured routes decide; a key without a route is skipped (counted).
    Events,
    /// The keys of an explicit request, mapped exactly as event keys are, optionally only for the
    /// distribution it names. Nothing is skipped silently: a key that routing cannot place is an
    /// `InvalidInput` naming it (filters still apply: EXCLUDE is the user's own choice).
    Keys { distribution_id: Option<&'a TargetId> },
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

/// Every distribution's request before budgets, in distribution order, and the keys skipped.
#[derive(Debug, Clone, Default)]
pub struct Gathered<'c> {
    pub requests: Vec<Request<'c>>,
    /// Keys skipped, by reason (no route, filtered, outside the origin path).
    pub skipped: BTreeMap<&'static str, usize>,
}

/// The changes routed to one distribution, and the covers of every request form they need.
#[derive(Debug, Clone)]
pub struct Request<'c> {
    pub distribution_id: TargetId,
    covers: Covers,
    /// Each change with its key as the distribution's origin serves it (origin path stripped).
    pub routed: Vec<(&'c Change, &'c str)>,
    /// Changes whose own paths are excluded (`EXCLUDE`/`INCLUDE`) but which add cache tags.
    tag_only: Vec<&'c Change>,
    /// Cache tags the changes add (`TAGS`), lower case, each once.
    tags: BTreeSet<String>,
    messages: BTreeSet<usize>,
}

impl Request<'_> {
    /// Every change this request carries: what its CallerReference stands for.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.routed.iter().map(|(c, _)| *c).chain(self.tag_only.iter().copied())
    }

    /// The plan within `budget`, or `None` when it cannot be met (no wildcard room for what
    /// needs one, or more exact paths than the room and no wildcard to merge them into).
    pub fn fit(&self, budget: Budget) -> Option<Plan> {
        // Tags take their places first: they are never merged. *Unsettled*: whether a tag counts
        // against the 3,000 exact paths in progress; counting it does is the safe side.
        let tags = self.tags.len();
        let for_paths = Budget {
            max_paths: budget.max_paths.checked_sub(tags)?,
            max_exact: budget.max_exact.checked_sub(tags)?,
            ..budget
        };
        let mut paths = if self.covers.is_empty() {
            Vec::new()
        } else {
            let covers = collapse::collapse(self.covers.clone(), for_paths);
            covers.paths()
        };
        if budget.is_narrowed_thrifty() && paths.iter().any(|p| p == "/*") {
            // Fewest billed paths never means the whole cache: the usual plan is made instead
            // (and is `/*` only when the usual budget needs it too).
            return None;
        }
        let crate::model::PathCounts { exact: exact_paths, wildcards } = crate::model::PathCounts::of(&paths);
        paths.extend(self.tags.iter().map(|t| t.to_string()));
        if !budget.holds(&paths) {
            return None;
        }
        Some(Plan {
            distribution_id: self.distribution_id.clone(),
            paths,
            messages: self.messages.clone(),
            stats: PlanStats { keys_in: self.routed.len(), covers: self.covers.len(), exact_paths, wildcards, tags },
        })
    }

    /// The plan within the configured budgets alone, which always has wildcard room.
    pub fn fit_configured(&self, settings: &Settings) -> Result<Plan, Error> {
        self.fit(Budget::configured(settings)).ok_or_else(|| no_plan_fits(&self.distribution_id))
    }
}

impl<'c> Request<'c> {
    /// Every change with its viewer key (`None` for a change that only adds cache tags).
    pub fn each_change(&self) -> impl Iterator<Item = (&'c Change, Option<&'c str>)> + '_ {
        self.routed.iter().map(|&(c, k)| (c, Some(k))).chain(self.tag_only.iter().map(|&c| (c, None)))
    }

    /// The same request with only the changes `keep` accepts (the others are covered already).
    pub fn retain(&self, settings: &Settings, keep: impl Fn(&Change) -> bool) -> Request<'c> {
        let mut r = Request {
            distribution_id: self.distribution_id.clone(),
            covers: Covers::new(),
            routed: Vec::new(),
            tag_only: Vec::new(),
            tags: BTreeSet::new(),
            messages: BTreeSet::new(),
        };
        let mut scratch = String::new();
        for &(change, viewer_key) in self.routed.iter().filter(|(c, _)| keep(c)) {
            mapping::for_each_viewer_path(viewer_key, settings.index_document.as_deref(), &mut scratch, |vp| {
                mapping::covers_for(vp, &mut r.covers)
            });
            r.routed.push((change, viewer_key));
        }
        r.tag_only = self.tag_only.iter().copied().filter(|c| keep(c)).collect();
        for change in r.routed.iter().map(|(c, _)| *c).chain(r.tag_only.iter().copied()).collect::<Vec<_>>() {
            for tag in settings.tags.tags_for(&change.key) {
                r.tags.insert(tag.to_string());
            }
            r.messages.insert(change.message);
        }
        r
    }

    /// Room for every change's covers up front: an index document's key makes three, and growing
    /// a million keys' arena by doubling would copy it again and again. Room that is never
    /// written costs address space only.
    fn with_room(distribution_id: &TargetId, changes: &[Change]) -> Self {
        let texts: usize = changes.iter().map(|c| 3 * (c.key.len() + 2)).sum();
        Request {
            distribution_id: distribution_id.clone(),
            covers: Covers::with_capacity(texts, 3 * changes.len()),
            routed: Vec::with_capacity(changes.len()),
            tag_only: Vec::new(),
            tags: BTreeSet::new(),
            messages: BTreeSet::new(),
        }
    }
}

/// Where a change goes: the targets (distribution and origin path) of its route, or why it goes
/// nowhere. `Ok(None)`: skipped for no route (events only). `foreign` is the target of a keys
/// request naming a distribution the configuration does not know.
fn targets<'a>(
    cfg: &'a Settings,
    foreign: &'a [Target],
    change: &Change,
    i: usize,
    routing: Routing<'_>,
) -> Result<Option<&'a [Target]>, Error> {
    let route = cfg.routes.route_for(change.bucket.as_deref(), &change.key);
    match routing {
        Routing::Events => match route {
            Some(r) => Ok(Some(&r.targets)),
            None if cfg.routes.is_empty() => Err(no_distribution()),
            None => Ok(None),
        },
        Routing::Keys { distribution_id } => {
            if change.bucket.is_none() && cfg.routes.depends_on_bucket(&change.key) {
                return Err(Error::invalid(format!(
                    "bucket is required: ROUTES send keys[{i}] {:?} by bucket; give the request's bucket",
                    change.key
                )));
            }
            let Some(d) = distribution_id else {
                return match route {
                    Some(r) => Ok(Some(&r.targets)),
                    None if cfg.routes.is_empty() => Err(no_distribution()),
                    None => Err(Error::invalid(format!(
                        "keys[{i}] {:?} matches no route in ROUTES; name distribution_id or fix ROUTES",
                        change.key
                    ))),
                };
            };
            // ROUTES names a distribution at most once per route (config.rs refuses repeats).
            if let Some(t) = route.and_then(|r| r.targets.iter().find(|t| t.distribution_id == *d)) {
                return Ok(Some(std::slice::from_ref(t)));
            }
            if cfg.routes.names(d) {
                return Err(Error::invalid(format!(
                    "keys[{i}] {:?} is not routed to distribution_id {d} by ROUTES",
                    change.key
                )));
            }
            // A distribution the configuration does not know: the request names it, so it is the
            // target, with the configured ORIGIN_PATH.
            Ok(Some(foreign))
        }
    }
}

/// The configured caps leave no plan (more cache tags than `MAX_PATHS`): the one message.
pub fn no_plan_fits(distribution_id: &TargetId) -> Error {
    Error::Config {
        variable: "MAX_PATHS",
        rule: format!("no plan for {distribution_id} fits MAX_PATHS and MAX_WILDCARDS"),
    }
}

fn no_distribution() -> Error {
    Error::Config {
        variable: "DISTRIBUTION_ID",
        rule: "not set (and no ROUTES), so events have no distribution to invalidate; \
               set it to the distribution's id, e.g. EDFDVBD632BHDS5"
            .into(),
    }
}

/// Routes and maps every change: one [`Request`] per distribution, before budgets.
pub fn gather<'c>(changes: &'c [Change], cfg: &Settings, routing: Routing<'_>) -> Result<Gathered<'c>, Error> {
    let mut by_dist: BTreeMap<TargetId, Request<'c>> = BTreeMap::new();
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut scratch = String::new();
    let foreign: Vec<Target> = match routing {
        Routing::Keys { distribution_id: Some(d) } => vec![cfg.routes.foreign(d)],
        _ => Vec::new(),
    };
    for (i, change) in changes.iter().enumerate() {
        let Some(targets) = targets(cfg, &foreign, change, i, routing)? else {
            *skipped.entry("no route").or_default() += 1;
            continue;
        };
        // TAGS apply even to a key whose own path EXCLUDE skips: the tag names other pages.
        let tags = cfg.tags.tags_for(&change.key);
        let filtered = cfg.filter.check(&change.key).err();
        if let Some(reason) = filtered {
            *skipped.entry(reason).or_default() += 1;
            if tags.is_empty() {
                continue;
            }
        }
        for t in targets {
            let viewer_key = match strip_prefix(&change.key, &t.origin_path) {
                // The origin path's own folder marker (`site/` under ORIGIN_PATH=/site) is no
                // object a viewer can request: `/` is the default root object's.
                Some("") => {
                    *skipped.entry("origin folder marker").or_default() += 1;
                    continue;
                }
                Some(k) => k,
                None if matches!(routing, Routing::Keys { .. }) => {
                    return Err(Error::invalid(format!(
                        "keys[{i}] {:?} is outside distribution {}'s origin path /{}",
                        change.key,
                        t.distribution_id,
                        t.origin_path.trim_end_matches('/')
                    )))
                }
                None => {
                    *skipped.entry("outside ORIGIN_PATH").or_default() += 1;
                    continue;
                }
            };
            // Look up before inserting: a key clone per change would be 10,000 allocations a batch.
            if !by_dist.contains_key(&t.distribution_id) {
                by_dist.insert(t.distribution_id.clone(), Request::with_room(&t.distribution_id, changes));
            }
            let Some(req) = by_dist.get_mut(&t.distribution_id) else { continue };
            if filtered.is_none() {
                mapping::for_each_viewer_path(viewer_key, cfg.index_document.as_deref(), &mut scratch, |vp| {
                    mapping::covers_for(vp, &mut req.covers)
                });
                req.routed.push((change, viewer_key));
            } else {
                req.tag_only.push(change);
            }
            for tag in &tags {
                if !req.tags.contains(*tag) {
                    req.tags.insert(tag.to_string());
                }
            }
            req.messages.insert(change.message);
        }
    }
    Ok(Gathered { requests: by_dist.into_values().collect(), skipped })
}

/// Every plan for one invocation, one per distribution, in distribution order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planned {
    pub plans: Vec<Plan>,
    /// Keys skipped, by reason (no route, filtered, outside the origin path).
    pub skipped: BTreeMap<&'static str, usize>,
}

/// Plans a set of changes within the configured budgets, as if nothing were in progress (what
/// `cfinv plan` shows; the handler fits each request into the room CloudFront has left).
pub fn plan(changes: &[Change], cfg: &Settings, routing: Routing<'_>) -> Result<Planned, Error> {
    let gathered = gather(changes, cfg, routing)?;
    let plans = gathered.requests.iter().map(|r| r.fit_configured(cfg)).collect::<Result<_, _>>()?;
    Ok(Planned { plans, skipped: gathered.skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChangeKind;

    /// Settings as the planner receives them, from the few variables these cases name, each
    /// through the planner's own parser (`config.rs` validates the rest: trimming, ranges, errors).
    fn cfg(vars: &[(&str, &str)]) -> Settings {
        let var = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        let list = |name: &str| -> Vec<String> {
            var(name).map(|v| v.split(',').map(str::to_string).collect()).unwrap_or_default()
        };
        let dist = var("DISTRIBUTION_ID").map(|d| crate::model::DistributionId::parse(&d).unwrap());
        let origin_path = var("ORIGIN_PATH").unwrap_or_default();
        let mut routes = Routes::single(dist.as_ref(), &origin_path);
        if let Some(json) = var("ROUTES") {
            routes.routes = routing::parse_routes(&json).unwrap();
        }
        let n = |name: &str, default: usize| {
            std::num::NonZeroUsize::new(var(name).map_or(default, |v| v.parse().unwrap())).unwrap()
        };
        Settings {
            routes,
            index_document: var("INDEX_DOCUMENT").or(Some("index.html".into())).filter(|d| !d.is_empty()),
            max_paths: n("MAX_PATHS", 3000),
            max_wildcards: n("MAX_WILDCARDS", 15),
            filter: KeyFilter::new(&list("INCLUDE"), &list("EXCLUDE")).unwrap(),
            tags: var("TAGS").map(|t| TagRules::parse(&t).unwrap()).unwrap_or_default(),
            monthly_path_budget: None,
            tenant_parents: Parents::None,
            parent_of: BTreeMap::new(),
        }
    }

    fn change(bucket: &str, key: &str) -> Change {
        Change {
            message: 0,
            bucket: Some(bucket.into()),
            key: key.into(),
            kind: ChangeKind::Created,
            version: Some("1".into()),
            time: None,
        }
    }

    fn plan_keys(vars: &[(&str, &str)], keys: &[&str]) -> Planned {
        let changes: Vec<Change> = keys.iter().map(|k| change("b", k)).collect();
        plan(&changes, &cfg(vars), Routing::Events).unwrap()
    }

    fn paths(p: &Planned) -> Vec<(&str, Vec<&str>)> {
        p.plans.iter().map(|x| (x.distribution_id.as_str(), x.paths.iter().map(String::as_str).collect())).collect()
    }

    /// Each mapping rule, as (configuration, keys) → paths per distribution.
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
        let e = plan(&[change("b", "a")], &cfg(&[]), Routing::Events).unwrap_err();
        assert_eq!(e.error_type(), "ConfigError");
        assert!(e.to_string().contains("DISTRIBUTION_ID"), "{e}");
        // An explicit request naming its distribution needs no configuration.
        let p = plan(
            &[change("b", "a")],
            &cfg(&[]),
            Routing::Keys { distribution_id: Some(&TargetId::parse("E9").unwrap()) },
        )
        .unwrap();
        assert_eq!(paths(&p), vec![("E9", vec!["/a"])]);
    }

    /// Rule: under the monthly budget (a thrifty cut to as many paths as wildcards may be spent)
    /// changes merge into section wildcards, never into `/*`: a thrifty plan that would be `/*`
    /// is no plan, and the usual one is made instead.
    #[test]
    fn a_thrifty_plan_merges_sections_but_never_flushes_everything() {
        /// (what, changes, wildcards to spend, the thrifty plan or `None`).
        type Case<'a> = (&'a str, &'a [Change], usize, Option<&'a [&'a str]>);
        let settings = cfg(&[("DISTRIBUTION_ID", "E1")]);
        let two = keys(None, &["index.html", "css/site.css"]);
        let many: Vec<String> =
            ["docs", "blog", "shop"].iter().flat_map(|s| (0..20).map(move |i| format!("{s}/p{i}.html"))).collect();
        let many = keys(None, &many.iter().map(String::as_str).collect::<Vec<_>>());
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("two files, one wildcard to spend",   &two,  1,  None),
            ("two files, two wildcards to spend",  &two,  2,  None),
            ("many files, one wildcard to spend",  &many, 1,  None),
            ("many files, 3 wildcards to spend",   &many, 3,  Some(&["/blog/p*", "/docs/p*", "/shop/p*"])),
        ];
        for (what, changes, wildcards, want) in cases {
            let requests = gather(changes, &settings, Routing::Keys { distribution_id: None }).unwrap().requests;
            let budget = Budget::configured(&settings).within_room(2990, *wildcards);
            let thrifty = requests[0].fit(budget.thrifty());
            assert_eq!(
                thrifty.as_ref().map(|p| p.paths.clone()),
                want.map(|w| w.iter().map(|s| s.to_string()).collect()),
                "{what}"
            );
            // The usual plan is what is made instead: exact paths.
            let usual = requests[0].fit(budget).unwrap();
            assert!(!usual.paths.iter().any(|p| p == "/*"), "{what}: {:?}", usual.paths);
        }
    }

    fn keys(bucket: Option<&str>, keys: &[&str]) -> Vec<Change> {
        keys.iter()
            .map(|k| Change {
                message: 0,
                bucket: bucket.map(Into::into),
                key: k.to_string(),
                kind: ChangeKind::Created,
                version: None,
                time: None,
            })
            .collect()
    }

    /// Rule: explicit keys are mapped exactly as event keys are — routes, origin
    /// paths and buckets — and a key that routing cannot place is `InvalidInput` naming why,
    /// never a silent skip.
    #[test]
    fn explicit_keys_follow_routes() {
        let routes = (
            "ROUTES",
            r#"[{"bucket":"www","prefix":"blog/","distributions":[{"id":"EBLOG","origin_path":"/blog"}]},
                {"prefix":"","distributions":["EALL"]}]"#,
        );
        type Case<'a> =
            (&'a str, Option<&'a str>, Option<&'a str>, &'a [&'a str], Result<&'a [(&'a str, &'a [&'a str])], &'a str>);
        let cases: &[Case] = &[
            (
                "a distribution's origin path is stripped",
                Some("www"),
                Some("EBLOG"),
                &["blog/post.html"],
                Ok(&[("EBLOG", &["/post.html"])]),
            ),
            ("the bucket picks the route", Some("www"), None, &["blog/post.html"], Ok(&[("EBLOG", &["/post.html"])])),
            (
                "another bucket: the catch-all",
                Some("other"),
                None,
                &["blog/post.html"],
                Ok(&[("EALL", &["/blog/post.html"])]),
            ),
            ("routes that need the bucket", None, None, &["blog/post.html"], Err("bucket is required")),
            (
                "not routed to the distribution named",
                Some("www"),
                Some("EALL"),
                &["blog/post.html"],
                Err("is not routed to distribution_id EALL"),
            ),
            (
                "a key outside the route of the distribution named",
                Some("www"),
                Some("EBLOG"),
                &["blog"],
                Err("is not routed to distribution_id EBLOG"),
            ),
            ("a distribution no route names", None, Some("EOTHER"), &["x.html"], Ok(&[("EOTHER", &["/x.html"])])),
        ];
        let c = cfg(&[routes]);
        for (rule, bucket, dist, ks, want) in cases {
            let changes = keys(*bucket, ks);
            let dist = dist.map(|d| TargetId::parse(d).unwrap());
            let got = plan(&changes, &c, Routing::Keys { distribution_id: dist.as_ref() });
            match want {
                Ok(w) => assert_eq!(
                    paths(&got.unwrap_or_else(|e| panic!("{rule}: {e}"))),
                    w.iter().map(|(d, p)| (*d, p.to_vec())).collect::<Vec<_>>(),
                    "{rule}"
                ),
                Err(msg) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.error_type(), "InvalidInput", "{rule}");
                    assert!(e.to_string().contains(msg), "{rule}: {e}");
                }
            }
        }
        // The same key from an S3 event plans the same path.
        let event = vec![change("www", "blog/post.html")];
        assert_eq!(paths(&plan(&event, &c, Routing::Events).unwrap()), vec![("EBLOG", vec!["/post.html"])]);
        // Without ROUTES, a keys request naming the configured distribution uses ORIGIN_PATH.
        let c = cfg(&[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "/blog")]);
        let e1 = TargetId::parse("E1").unwrap();
        let got = plan(&keys(None, &["blog/post.html"]), &c, Routing::Keys { distribution_id: Some(&e1) }).unwrap();
        assert_eq!(paths(&got), vec![("E1", vec!["/post.html"])]);
        let e = plan(&keys(None, &["elsewhere.html"]), &c, Routing::Keys { distribution_id: Some(&e1) }).unwrap_err();
        assert!(e.to_string().contains("outside distribution E1's origin path /blog"), "{e}");
    }

    /// Rule: the origin path's own folder marker is no object a viewer requests; `/`
    /// belongs to the default root object.
    #[test]
    fn the_origin_folder_marker_plans_nothing() {
        let p = plan_keys(&[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "/site")], &["site/", "site/a.html"]);
        assert_eq!(paths(&p), vec![("E1", vec!["/a.html"])]);
        assert_eq!(p.skipped, BTreeMap::from([("origin folder marker", 1)]));
    }

    /// Rules (`TAGS`): a matching change adds its tags to its distribution's request — even when
    /// EXCLUDE skips its own path; tags count against MAX_PATHS and are never merged into a
    /// wildcard.
    #[test]
    fn cache_tags_from_tags() {
        let tags = ("TAGS", r##"{"data/products/*.json": "#product-pages", "*.css": ["#styles"]}"##);
        let p =
            plan_keys(&[("DISTRIBUTION_ID", "E1"), tags], &["data/products/1.json", "data/products/2.json", "a.html"]);
        assert_eq!(
            paths(&p),
            vec![("E1", vec!["/a.html", "/data/products/1.json", "/data/products/2.json", "#product-pages"])]
        );
        assert_eq!(p.plans[0].stats.tags, 1);
        let p = plan_keys(&[("DISTRIBUTION_ID", "E1"), tags, ("EXCLUDE", "data/**")], &["data/products/1.json"]);
        assert_eq!(paths(&p), vec![("E1", vec!["#product-pages"])], "EXCLUDE skips the path, not the tag");
        let p = plan_keys(&[("DISTRIBUTION_ID", "E1"), tags, ("MAX_PATHS", "2")], &["x/a.css", "x/b.css", "y/c.html"]);
        assert_eq!(paths(&p), vec![("E1", vec!["/*", "#styles"])], "the tag keeps its place, paths merge");
    }

    /// Rule: a plan of given paths reports what it holds — wildcards are not exact paths, tags
    /// neither.
    #[test]
    fn a_plan_of_given_paths_counts_each_kind() {
        let paths: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).chain(["/a".into(), "#t".into()]).collect();
        let p = Plan::of_paths(&TargetId::parse("E1").unwrap(), &paths);
        assert_eq!((p.stats.exact_paths, p.stats.wildcards, p.stats.tags), (1, 15, 1));
    }
}
