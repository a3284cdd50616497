//! Environment → a validated [`Config`], read once at start.
//!
//! Every variable is read through one reader that trims it, and every error names the variable
//! and what it allows ([`Error::Config`]), because the only place an operator sees it is the
//! function's first log line (or `cfinv`'s stderr).

use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use crate::error::Error;
use crate::model::{
    DistributionId, TargetId, TenantId, API_MAX_PATHS, API_MAX_WILDCARDS_IN_PROGRESS as API_MAX_WILDCARDS,
};
use crate::planner::filter::KeyFilter;
use crate::planner::routing::{parse_routes, Routes};
use crate::planner::tags::TagRules;
use crate::planner::{Parents, Settings};

/// The largest `MONTHLY_PATH_BUDGET`: a billion paths ($5 million past the free tier) is no budget.
pub const MAX_MONTHLY_PATH_BUDGET: usize = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct Config {
    /// Default distribution for events; an explicit request's `distribution_id` wins.
    pub distribution_id: Option<DistributionId>,
    /// The planner's own settings (`ROUTES` or `DISTRIBUTION_ID` with `ORIGIN_PATH`,
    /// `INDEX_DOCUMENT`, `MAX_PATHS`, `MAX_WILDCARDS`, `INCLUDE`, `EXCLUDE`, `TAGS`).
    pub planner: Settings,
    /// The role to assume for each distribution in another account (ROUTES' `role_arn`).
    pub roles: BTreeMap<TargetId, String>,
    /// `DISTRIBUTION_TENANTS` (`PARENT/dt_…` pairs, the template's `DistributionTenants`): each
    /// distribution tenant's parent distribution, the `DistributionId` dimension of a tenant's
    /// per-distribution metrics. Not required for a tenant that `ROUTES` or a request names: one
    /// without a parent here is still invalidated, and its metrics fall back to the tenant's id
    /// (`invocation/report.rs` says why).
    pub tenant_parents: BTreeMap<TenantId, DistributionId>,
    /// CloudWatch namespace of the EMF metrics (`METRICS_NAMESPACE`, default `CfInvalidator`);
    /// `None` when set empty, or for the CLI, which keeps stdout for its own output.
    pub metrics_namespace: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`, the metrics' dimension.
    pub function_name: Option<String>,
    /// `CLOUDFRONT_ENDPOINT_URL`: a local CloudFront stand-in for `sam local invoke` (SAM can only
    /// override variables the template declares, so the template declares this one empty). The
    /// SDK's own `AWS_ENDPOINT_URL_CLOUDFRONT` works as well.
    pub cloudfront_endpoint: Option<String>,
    /// `TRACK_STATE_MACHINE_ARN`: the workflow that tracks each invalidation made from events to
    /// its completion event (`track.rs`); `None` (unset or empty) tracks nothing.
    pub track_state_machine_arn: Option<String>,
    /// `BATCHING_WINDOW_SECONDS` and `FUNCTION_TIMEOUT_SECONDS`: what pacing the wildcard slots
    /// needs of the deployment ([`crate::quota::Pace`]).
    pub pace: crate::quota::Pace,
}

impl Config {
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same rules over a list of variables (tests, benchmarks, fuzz targets).
    pub fn from_pairs(vars: &[(&str, &str)]) -> Result<Self, Error> {
        Self::from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    /// The same rules as [`Config::from_env`] over any variable source (tests, the CLI). The
    /// variables are read in this order, and the first one wrong is the error.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let vars = Vars { get };
        let distribution_id = vars.parsed("DISTRIBUTION_ID", DistributionId::parse)?;
        let mut planner = planner_settings(&vars, distribution_id.as_ref())?;
        let roles = planner.routes.roles().map_err(|m| err("ROUTES", m))?;
        let tenant_parents = parse_tenant_parents(&vars.var("DISTRIBUTION_TENANTS").unwrap_or_default())
            .map_err(|m| err("DISTRIBUTION_TENANTS", m))?;
        planner.tenant_parents = possible_parents(&planner.routes, &tenant_parents);
        planner.parent_of = tenant_parents.clone();
        // How the function runs and reports. A variable added to the configuration is read here,
        // by a function of its own or a `Vars` reader, whose errors name it and what it allows.
        let metrics_namespace = metrics_namespace(&vars)?;
        let function_name = vars.set("AWS_LAMBDA_FUNCTION_NAME");
        let cloudfront_endpoint = cloudfront_endpoint(&vars)?;
        let track_state_machine_arn = vars.parsed("TRACK_STATE_MACHINE_ARN", crate::track::parse_state_machine_arn)?;
        Ok(Config {
            distribution_id,
            planner,
            roles,
            tenant_parents,
            metrics_namespace,
            function_name,
            cloudfront_endpoint,
            track_state_machine_arn,
            pace: pace(&vars)?,
        })
    }
}

/// The one reader of the variables: each trimmed; `Some("")` when set but blank (which some
/// variables read as "disabled"), `None` when unset.
struct Vars<F> {
    get: F,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// Trimmed, possibly blank.
    fn var(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_string())
    }

    /// Trimmed and not blank.
    fn set(&self, name: &str) -> Option<String> {
        self.var(name).filter(|v| !v.is_empty())
    }

    /// Parsed when set and not blank; `parse`'s message is the rule in the error.
    fn parsed<T>(&self, name: &'static str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, Error> {
        self.set(name).map(|v| parse(&v).map_err(|rule| err(name, rule))).transpose()
    }

    /// A whole number from 1 to `max`, `default` when unset or blank.
    fn number(&self, name: &'static str, default: usize, max: usize) -> Result<NonZeroUsize, Error> {
        let n = match self.set(name) {
            None => default,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    return Err(err(name, format!("{v:?} must be a whole number from 1 to {max} (default {default})")))
                }
            },
        };
        NonZeroUsize::new(n).ok_or_else(|| err(name, format!("must be from 1 to {max}")))
    }

    /// A list of globs ([`split_list`]); empty when unset.
    fn globs(&self, name: &'static str) -> Result<Vec<String>, Error> {
        split_list(&self.var(name).unwrap_or_default()).map_err(|m| err(name, m))
    }
}

fn err(variable: &'static str, rule: String) -> Error {
    Error::Config { variable, rule }
}

/// The planner's settings from `INDEX_DOCUMENT`, `MAX_PATHS`, `MAX_WILDCARDS`,
/// `MONTHLY_PATH_BUDGET`, `INCLUDE`, `EXCLUDE`, `TAGS`, and `ROUTES` (or the single route to
/// `distribution_id` under `ORIGIN_PATH`), in that order. No distribution has tenants yet:
/// [`Config::from_lookup`] adds them from `DISTRIBUTION_TENANTS`.
fn planner_settings(
    vars: &Vars<impl Fn(&str) -> Option<String>>,
    distribution_id: Option<&DistributionId>,
) -> Result<Settings, Error> {
    let origin_path = vars.var("ORIGIN_PATH").unwrap_or_default();
    let index_document = index_document(vars)?;
    let max_paths = vars.number("MAX_PATHS", API_MAX_PATHS, API_MAX_PATHS)?;
    let max_wildcards = vars.number("MAX_WILDCARDS", API_MAX_WILDCARDS, API_MAX_WILDCARDS)?;
    // Unset or empty: no budget (the template's default parameter is empty).
    let monthly_path_budget = match vars.set("MONTHLY_PATH_BUDGET") {
        None => None,
        Some(_) => Some(vars.number("MONTHLY_PATH_BUDGET", 1, MAX_MONTHLY_PATH_BUDGET)?),
    };
    let include = vars.globs("INCLUDE")?;
    let exclude = vars.globs("EXCLUDE")?;
    let filter = KeyFilter::new(&include, &exclude).map_err(|m| err("INCLUDE/EXCLUDE", m))?;
    let tags = vars.parsed("TAGS", TagRules::parse)?.unwrap_or_default();
    let routes = match vars.parsed("ROUTES", parse_routes)? {
        Some(routes) => Routes { routes, ..Routes::single(None, &origin_path) },
        None => Routes::single(distribution_id, &origin_path),
    };
    Ok(Settings {
        routes,
        index_document,
        max_paths,
        max_wildcards,
        filter,
        tags,
        monthly_path_budget,
        tenant_parents: Parents::None,
        parent_of: BTreeMap::new(),
    })
}

/// `INDEX_DOCUMENT`: a file name, `index.html` when unset, `None` (no index documents) when blank.
fn index_document(vars: &Vars<impl Fn(&str) -> Option<String>>) -> Result<Option<String>, Error> {
    match vars.var("INDEX_DOCUMENT") {
        None => Ok(Some("index.html".to_string())),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.contains('/') => Err(err(
            "INDEX_DOCUMENT",
            format!("{v:?} must be a file name without '/' (default index.html, empty to disable)"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

/// `METRICS_NAMESPACE`: a CloudWatch namespace, `CfInvalidator` when unset, `None` (no metrics)
/// when blank.
fn metrics_namespace(vars: &Vars<impl Fn(&str) -> Option<String>>) -> Result<Option<String>, Error> {
    match vars.var("METRICS_NAMESPACE") {
        None => Ok(Some("CfInvalidator".to_string())),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.len() <= 255 && !v.starts_with("AWS/") && v.chars().all(|c| c.is_ascii_alphanumeric() || "._-/#:".contains(c)) => {
            Ok(Some(v))
        }
        Some(v) => Err(err(
            "METRICS_NAMESPACE",
            format!("{v:?} is not a CloudWatch namespace (letters, digits and . _ - / # :, not starting with AWS/; empty disables metrics)"),
        )),
    }
}

/// `CLOUDFRONT_ENDPOINT_URL`: an http(s) URL, or `None` (CloudFront itself) when unset or blank.
fn cloudfront_endpoint(vars: &Vars<impl Fn(&str) -> Option<String>>) -> Result<Option<String>, Error> {
    match vars.set("CLOUDFRONT_ENDPOINT_URL") {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Ok(Some(u)),
        Some(u) => Err(err(
            "CLOUDFRONT_ENDPOINT_URL",
            format!("{u:?} must be an http:// or https:// URL, or empty (the default: CloudFront itself)"),
        )),
        None => Ok(None),
    }
}

/// `BATCHING_WINDOW_SECONDS` (the event sources' `MaximumBatchingWindowInSeconds`, 0 to 300 as
/// Lambda allows) and `FUNCTION_TIMEOUT_SECONDS` (the function's timeout, 1 to 900): unset, the
/// defaults of [`crate::quota::Pace::DEFAULT`].
fn pace(vars: &Vars<impl Fn(&str) -> Option<String>>) -> Result<crate::quota::Pace, Error> {
    let default = crate::quota::Pace::DEFAULT;
    let seconds = |name: &'static str, min: u64, max: u64, default: std::time::Duration| match vars.set(name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(std::time::Duration::from_secs(n)),
            _ => Err(err(
                name,
                format!("{v:?} must be a whole number of seconds from {min} to {max} (default {})", default.as_secs()),
            )),
        },
    };
    Ok(crate::quota::Pace {
        window: seconds("BATCHING_WINDOW_SECONDS", 0, 300, default.window)?,
        timeout: seconds("FUNCTION_TIMEOUT_SECONDS", 1, 900, default.timeout)?,
    })
}

/// The distributions that may have tenants: each parent `DISTRIBUTION_TENANTS` names, or every
/// distribution when `ROUTES` names a tenant whose parent it does not (that tenant's parent may be
/// any of them).
fn possible_parents(routes: &Routes, parents: &BTreeMap<TenantId, DistributionId>) -> Parents {
    let unparented = routes.routes.iter().flat_map(|r| &r.targets).any(|t| match &t.distribution_id {
        TargetId::Tenant(tenant) => !parents.contains_key(tenant),
        TargetId::Distribution(_) => false,
    });
    match (unparented, parents.is_empty()) {
        (true, _) => Parents::Any,
        (false, true) => Parents::None,
        (false, false) => Parents::These(parents.values().map(|d| d.to_string()).collect()),
    }
}

/// `DISTRIBUTION_TENANTS`: comma-separated `PARENT/dt_…` pairs (the form of the template's
/// `DistributionTenants`, which CloudFormation joins with commas), blank items ignored (an empty
/// parameter joins to ""), each pair trimmed. A tenant has one parent: the same pair twice is
/// harmless, two parents for one tenant is refused.
fn parse_tenant_parents(v: &str) -> Result<BTreeMap<TenantId, DistributionId>, String> {
    const FORM: &str = "comma-separated PARENT/TENANT pairs, e.g. E2ABC/dt_acme,E2ABC/dt_globex; empty for none";
    let mut parents = BTreeMap::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((parent, tenant)) = pair.split_once('/') else {
            return Err(format!("{pair:?} is not a PARENT/TENANT pair ({FORM})"));
        };
        let parent =
            DistributionId::parse(parent.trim()).map_err(|rule| format!("{pair:?}: the parent {rule} ({FORM})"))?;
        let tenant = TenantId::parse(tenant.trim()).map_err(|rule| format!("{pair:?}: the tenant {rule} ({FORM})"))?;
        if let Some(other) = parents.get(&tenant).filter(|&p| *p != parent) {
            return Err(format!("{pair:?}: tenant {tenant} is given two parents, {other} and {parent} ({FORM})"));
        }
        parents.insert(tenant, parent);
    }
    Ok(parents)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, Error> {
        Config::from_pairs(vars)
    }

    fn n(v: usize) -> NonZeroUsize {
        NonZeroUsize::new(v).unwrap()
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.distribution_id, None);
        assert!(c.planner.routes.is_empty());
        assert_eq!(c.planner.index_document.as_deref(), Some("index.html"));
        assert_eq!((c.planner.max_paths, c.planner.max_wildcards), (n(3000), n(15)));
        assert_eq!(c.planner.monthly_path_budget, None, "no budget unless asked");
        assert_eq!(cfg(&[("MONTHLY_PATH_BUDGET", "")]).unwrap().planner.monthly_path_budget, None, "empty: none");
        assert_eq!(cfg(&[("MONTHLY_PATH_BUDGET", " 800 ")]).unwrap().planner.monthly_path_budget, Some(n(800)));
        assert_eq!(c.pace, crate::quota::Pace::DEFAULT, "unset: a 60 s window and a 30 s timeout");
    }

    /// Rule: pacing reads the window and timeout the template deploys, each as a whole number of
    /// seconds within what Lambda allows.
    #[test]
    fn pacing_reads_the_batching_window_and_the_function_timeout() {
        let s = std::time::Duration::from_secs;
        let cases = [
            (&[("BATCHING_WINDOW_SECONDS", "10")][..], s(10), s(30)),
            (&[("BATCHING_WINDOW_SECONDS", " 0 "), ("FUNCTION_TIMEOUT_SECONDS", "900")][..], s(0), s(900)),
            (&[("BATCHING_WINDOW_SECONDS", "300"), ("FUNCTION_TIMEOUT_SECONDS", "1")][..], s(300), s(1)),
            (&[("BATCHING_WINDOW_SECONDS", "")][..], s(60), s(30)),
        ];
        for (vars, window, timeout) in cases {
            assert_eq!(cfg(vars).unwrap().pace, crate::quota::Pace { window, timeout }, "{vars:?}");
        }
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
            ("MONTHLY_PATH_BUDGET", "0", "from 1 to 1000000000"),
            ("MONTHLY_PATH_BUDGET", "1,000", "from 1 to 1000000000"),
            ("MONTHLY_PATH_BUDGET", "-5", "from 1 to 1000000000"),
            ("MONTHLY_PATH_BUDGET", "1e3", "from 1 to 1000000000"),
            ("INDEX_DOCUMENT", "a/index.html", "without '/'"),
            ("EXCLUDE", "[1,2]", "JSON array"),
            ("EXCLUDE", "a[", "invalid glob"),
            ("ROUTES", "{}", "expected a JSON array"),
            ("ROUTES", "[]", "empty list"),
            ("ROUTES", r#"[{"prefix":"a/","distributions":["bad id"]}]"#, "not a distribution id"),
            ("ROUTES", r#"[{"prefix":"a/","distributions":[]}]"#, "no distributions"),
            ("TRACK_STATE_MACHINE_ARN", "invalidate", "not a state machine ARN"),
            ("DISTRIBUTION_TENANTS", "dt_acme", "not a PARENT/TENANT pair"),
            ("BATCHING_WINDOW_SECONDS", "301", "from 0 to 300"),
            ("BATCHING_WINDOW_SECONDS", "60s", "from 0 to 300"),
            ("BATCHING_WINDOW_SECONDS", "-1", "from 0 to 300"),
            ("FUNCTION_TIMEOUT_SECONDS", "0", "from 1 to 900"),
            ("FUNCTION_TIMEOUT_SECONDS", "901", "from 1 to 900"),
            ("FUNCTION_TIMEOUT_SECONDS", "30.5", "from 1 to 900"),
        ];
        for (var, val, want) in cases {
            let e = cfg(&[(var, val)]).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.error_type(), "ConfigError");
            assert!(msg.contains(var.split('/').next().unwrap()) || msg.contains("INCLUDE/EXCLUDE"), "{msg}");
            assert!(msg.contains(want), "{var}={val}: {msg}");
        }
    }

    /// Rule (metrics by the parent): `DISTRIBUTION_TENANTS` is comma-separated
    /// `PARENT/dt_…` pairs, as the template's `DistributionTenants` joins them; each valid form
    /// gives the tenant → parent map, each invalid one is refused with an error that names the
    /// variable, what is wrong and the allowed form.
    #[test]
    fn distribution_tenants_map_each_tenant_to_its_parent() {
        /// (rule, value, the (tenant, parent) pairs it gives)
        type Valid<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
        let valid: &[Valid] = &[
            ("unset", "", &[]),
            ("blank: the template's empty parameter", "  ", &[]),
            ("one pair", "E2ABC/dt_acme", &[("dt_acme", "E2ABC")]),
            ("several, one parent", "E2ABC/dt_acme,E2ABC/dt_globex", &[("dt_acme", "E2ABC"), ("dt_globex", "E2ABC")]),
            (
                "spaces and empty items",
                " E2ABC / dt_acme , ,EOTHER1/dt_x-1_y, ",
                &[("dt_acme", "E2ABC"), ("dt_x-1_y", "EOTHER1")],
            ),
            ("the same pair twice", "E2ABC/dt_acme,E2ABC/dt_acme", &[("dt_acme", "E2ABC")]),
        ];
        for (rule, value, want) in valid {
            let vars: &[(&str, &str)] = if value.is_empty() { &[] } else { &[("DISTRIBUTION_TENANTS", value)] };
            let got: Vec<(String, String)> = cfg(vars)
                .unwrap_or_else(|e| panic!("{rule}: {e}"))
                .tenant_parents
                .iter()
                .map(|(t, p)| (t.to_string(), p.to_string()))
                .collect();
            let want: Vec<(String, String)> = want.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect();
            assert_eq!(got, want, "{rule}");
        }
        let invalid: &[(&str, &str, &str)] = &[
            ("a tenant alone", "dt_acme", "not a PARENT/TENANT pair"),
            ("a distribution alone", "E2ABC", "not a PARENT/TENANT pair"),
            ("the wrong way round", "dt_acme/E2ABC", "the parent \"dt_acme\" is not a distribution id"),
            ("a lower-case parent", "e2abc/dt_acme", "is not a distribution id"),
            ("a tenant without dt_", "E2ABC/acme", "is not a distribution tenant id"),
            ("a tenant with a slash", "E2ABC/dt_a/b", "is not a distribution tenant id"),
            ("a tenant over 64 characters", &format!("E2ABC/dt_{}", "a".repeat(62)), "at most 64 characters"),
            ("no tenant", "E2ABC/", "is not a distribution tenant id"),
            ("two parents for one tenant", "E2ABC/dt_acme,EOTHER1/dt_acme", "two parents, E2ABC and EOTHER1"),
            ("separated by semicolons", "E2ABC/dt_acme;E2ABC/dt_globex", "is not a distribution tenant id"),
        ];
        for (rule, value, want) in invalid {
            let e = cfg(&[("DISTRIBUTION_TENANTS", value)]).unwrap_err();
            let msg = e.to_string();
            match e {
                Error::Config { variable, .. } => {
                    assert_eq!(variable, "DISTRIBUTION_TENANTS", "{rule}");
                    assert!(msg.contains("DISTRIBUTION_TENANTS") && msg.contains(want), "{rule}: {msg}");
                    assert!(msg.contains("PARENT/TENANT pairs, e.g. E2ABC/dt_acme"), "{rule}: the allowed form: {msg}");
                }
                other => panic!("{rule}: {other:?}"),
            }
        }
    }

    #[test]
    fn origin_path_applies_to_the_single_route() {
        let c = cfg(&[("DISTRIBUTION_ID", "E1"), ("ORIGIN_PATH", "/prod")]).unwrap();
        assert_eq!(c.planner.routes.routes[0].targets[0].origin_path, "prod/");
        assert_eq!(c.planner.routes.origin_path, "prod/");
    }

    #[test]
    fn globs_split_on_commas_outside_braces() {
        assert_eq!(split_list("a/**, *.{js,css} ,").unwrap(), vec!["a/**", "*.{js,css}"]);
        assert_eq!(split_list(r#"["x,y", "z"]"#).unwrap(), vec!["x,y", "z"]);
        let c = cfg(&[("EXCLUDE", "assets/**/*.js, *.map"), ("INCLUDE", "")]).unwrap();
        assert_eq!(c.planner.filter.check("assets/a/b.js"), Err("matched by EXCLUDE"));
        assert_eq!(c.planner.filter.check("x/a.js.map"), Err("matched by EXCLUDE"));
    }

    /// Rule: every variable goes through one reader that trims it, so a value with
    /// stray spaces (a template parameter, a copied line) means what it says.
    #[test]
    fn every_variable_is_trimmed() {
        let c = cfg(&[
            ("DISTRIBUTION_ID", " E1 "),
            ("CLOUDFRONT_ENDPOINT_URL", " http://127.0.0.1:5000 "),
            ("INDEX_DOCUMENT", " default.htm "),
            ("METRICS_NAMESPACE", " Site/Invalidations "),
            ("MAX_PATHS", " 8 "),
            ("ORIGIN_PATH", " /site "),
            ("AWS_LAMBDA_FUNCTION_NAME", " fn "),
        ])
        .unwrap();
        assert_eq!(c.distribution_id.as_deref(), Some("E1"));
        assert_eq!(c.cloudfront_endpoint.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(c.planner.index_document.as_deref(), Some("default.htm"));
        assert_eq!(c.metrics_namespace.as_deref(), Some("Site/Invalidations"));
        assert_eq!(c.planner.max_paths, n(8));
        assert_eq!(c.planner.routes.origin_path, "site/");
        assert_eq!(c.function_name.as_deref(), Some("fn"));
        assert_eq!(cfg(&[("INDEX_DOCUMENT", "   ")]).unwrap().planner.index_document, None, "blank disables");
        assert_eq!(cfg(&[("METRICS_NAMESPACE", " ")]).unwrap().metrics_namespace, None, "blank disables");
    }

    /// Rule: a configuration error carries the variable and the rule as fields, for logs and for
    /// `cfinv`'s message alike.
    #[test]
    fn config_errors_carry_variable_and_rule() {
        match cfg(&[("MAX_WILDCARDS", "0")]).unwrap_err() {
            Error::Config { variable, rule } => {
                assert_eq!(variable, "MAX_WILDCARDS");
                assert!(rule.contains("from 1 to 15"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
    }
}
