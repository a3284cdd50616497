//! Which distribution(s) a changed key goes to, and the bucket prefix each distribution's origin
//! serves (`ROUTES`, or `DISTRIBUTION_ID` with `ORIGIN_PATH`). A route may name a distribution
//! tenant (`dt_…`) instead: then it names that tenant only.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{DistributionId, TargetId};

/// A bucket and key prefix whose changes go to one or more distributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `None` matches every bucket.
    pub bucket: Option<String>,
    pub prefix: String,
    pub targets: Vec<Target>,
}

/// One distribution (or distribution tenant) a route feeds, with the bucket prefix its origin
/// serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub distribution_id: TargetId,
    /// Normalised as a key prefix: `""` or `"site/"` (from `/site`, `site`, `/site/`).
    pub origin_path: String,
    /// A role to assume for this distribution (one in another account), if any.
    pub role_arn: Option<String>,
}

/// Every route, and the origin path that applies to a distribution no route names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    pub routes: Vec<Route>,
    /// `ORIGIN_PATH`, normalised as a key prefix.
    pub origin_path: String,
}

impl Routes {
    /// One catch-all route to `distribution_id` (no `ROUTES`), or none without one.
    pub fn single(distribution_id: Option<&DistributionId>, origin_path: &str) -> Self {
        let origin_path = normalise_origin_path(origin_path);
        let routes = distribution_id
            .map(|id| Route {
                bucket: None,
                prefix: String::new(),
                targets: vec![Target {
                    distribution_id: TargetId::Distribution(id.clone()),
                    origin_path: origin_path.clone(),
                    role_arn: None,
                }],
            })
            .into_iter()
            .collect();
        Routes { routes, origin_path }
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The role to assume for each distribution that names one. A distribution's role is the
    /// distribution's, not a route's: every route naming it must agree.
    pub fn roles(&self) -> Result<BTreeMap<TargetId, String>, String> {
        let mut roles = BTreeMap::new();
        for t in self.routes.iter().flat_map(|r| &r.targets) {
            let Some(role) = &t.role_arn else { continue };
            if let Some(other) = roles.insert(t.distribution_id.clone(), role.clone()) {
                if &other != role {
                    return Err(format!(
                        "distribution {} has two role_arn values: {other} and {role}",
                        t.distribution_id
                    ));
                }
            }
        }
        if let Some(t) = self
            .routes
            .iter()
            .flat_map(|r| &r.targets)
            .find(|t| t.role_arn.is_none() && roles.contains_key(&t.distribution_id))
        {
            return Err(format!("distribution {} has a role_arn in one route and none in another", t.distribution_id));
        }
        Ok(roles)
    }

    /// Whether some route names `distribution_id`.
    pub fn names(&self, distribution_id: &str) -> bool {
        self.routes.iter().flat_map(|r| &r.targets).any(|t| *t.distribution_id == *distribution_id)
    }

    /// Whether the route of `key` depends on its bucket: some route naming a bucket matches it.
    pub fn depends_on_bucket(&self, key: &str) -> bool {
        self.routes.iter().any(|r| r.bucket.is_some() && strip_prefix(key, &r.prefix).is_some())
    }

    /// The target of a keys request naming a distribution that no route names.
    pub fn foreign(&self, distribution_id: &TargetId) -> Target {
        Target { distribution_id: distribution_id.clone(), origin_path: self.origin_path.clone(), role_arn: None }
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

/// `/site/` → `site/`; `` or `/` → ``.
pub fn normalise_origin_path(p: &str) -> String {
    let t = p.trim_matches('/');
    if t.is_empty() {
        String::new()
    } else {
        format!("{t}/")
    }
}

/// Why a role ARN cannot be assumed, or `None`: `arn:<partition>:iam::<12-digit account>:role/<name>`.
fn role_arn_problem(arn: &str) -> Option<&'static str> {
    let mut parts = arn.splitn(6, ':');
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some("iam")
        && parts.next() == Some("")
        && parts.next().is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_some_and(|r| r.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
        && arn.len() <= 2048;
    (!ok).then_some("is not an IAM role ARN (arn:aws:iam::123456789012:role/name)")
}

/// `key.strip_prefix(prefix)` for a configured prefix (a route's, an origin path), without calling
/// libc's `memcmp` for the usual empty one: that call costs tens of nanoseconds even at length
/// zero, a tenth of planning a key (README, "Performance").
pub fn strip_prefix<'k>(key: &'k str, prefix: &str) -> Option<&'k str> {
    if prefix.is_empty() {
        Some(key)
    } else {
        key.strip_prefix(prefix)
    }
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
        role_arn: Option<String>,
    },
}

/// `ROUTES`: a JSON array of routes, each a bucket (or any), a key prefix and the distributions
/// (or one tenant) its keys go to; `Err` says what is wrong, for `ConfigError`.
pub fn parse_routes(json: &str) -> Result<Vec<Route>, String> {
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
            parse_route(i, r)
        })
        .collect()
}

/// Route `i`'s targets: each named once, and a tenant alone.
fn parse_route(i: usize, r: RouteJson) -> Result<Route, String> {
    let targets = r.distributions.into_iter().map(|t| parse_target(i, t)).collect::<Result<Vec<_>, _>>()?;
    // A tenant is one customer's site within a multi-tenant distribution: its route sends
    // that customer's keys to it and nowhere else.
    if let Some(t) = targets.iter().find(|t| t.distribution_id.is_tenant()).filter(|_| targets.len() > 1) {
        return Err(format!(
            "route {i} names distribution tenant {} beside other targets; a route that names a tenant names nothing else",
            t.distribution_id
        ));
    }
    if let Some(t) =
        targets.iter().enumerate().find(|(n, t)| targets[..*n].iter().any(|u| u.distribution_id == t.distribution_id))
    {
        return Err(format!("route {i} names distribution {} twice", t.1.distribution_id));
    }
    Ok(Route { bucket: r.bucket.filter(|b| !b.is_empty()), prefix: r.prefix, targets })
}

/// One target of route `i`: an id alone, or with its origin path and the role to assume.
fn parse_target(i: usize, t: TargetJson) -> Result<Target, String> {
    let (id, op, role) = match t {
        TargetJson::Id(id) => (id, String::new(), None),
        TargetJson::Full { id, origin_path, role_arn } => (id, origin_path, role_arn),
    };
    // A `dt_…` id is a tenant's, checked by the tenant rule; any other a distribution's.
    let distribution_id = TargetId::parse(&id).map_err(|rule| format!("route {i}: {rule}"))?;
    if let Some(problem) = role.as_deref().and_then(role_arn_problem) {
        return Err(format!("route {i}: role_arn {role:?} {problem}"));
    }
    Ok(Target { distribution_id, origin_path: normalise_origin_path(&op), role_arn: role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_path_is_a_key_prefix() {
        for (raw, want) in [("", ""), ("/", ""), ("/site", "site/"), ("site/", "site/"), ("/a/b/", "a/b/")] {
            assert_eq!(normalise_origin_path(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn routes_pick_the_most_specific_match() {
        let routes = parse_routes(
            r#"[{"prefix":"","distributions":["EALL"]},
                {"bucket":"b","prefix":"blog/","distributions":[{"id":"EBLOG","origin_path":"/blog"},"EMIRROR"]},
                {"prefix":"blog/","distributions":["EOTHER"]}]"#,
        )
        .unwrap();
        let c = Routes { routes, origin_path: String::new() };
        let id = |b: Option<&str>, k: &str| c.route_for(b, k).map(|r| r.targets[0].distribution_id.clone());
        assert_eq!(id(Some("b"), "blog/x").as_deref(), Some("EBLOG"));
        assert_eq!(id(Some("c"), "blog/x").as_deref(), Some("EOTHER"));
        assert_eq!(id(Some("b"), "x").as_deref(), Some("EALL"));
        assert_eq!(c.route_for(Some("b"), "blog/x").map(|r| r.targets[0].origin_path.as_str()), Some("blog/"));
        assert_eq!(c.route_for(Some("b"), "blog/x").map(|r| r.targets[1].distribution_id.as_str()), Some("EMIRROR"));
        assert!(c.depends_on_bucket("blog/x") && !c.depends_on_bucket("x"));
    }

    #[test]
    fn invalid_routes_say_why() {
        let cases = [
            ("{}", "expected a JSON array"),
            ("[]", "empty list"),
            (r#"[{"prefix":"a/","distributions":["bad id"]}]"#, "not a distribution id"),
            (r#"[{"prefix":"a/","distributions":[]}]"#, "no distributions"),
            (r#"[{"prefix":"a/","distributions":["E1","E1"]}]"#, "names distribution E1 twice"),
            (
                r#"[{"prefix":"a/","distributions":["E1"]},{"prefix":"a/","distributions":["E2"]}]"#,
                "same bucket and prefix",
            ),
        ];
        for (json, want) in cases {
            let e = parse_routes(json).unwrap_err();
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    /// Rule: a distribution in another account names the role to assume; one role per
    /// distribution, a valid IAM role ARN.
    #[test]
    fn roles_per_distribution() {
        let r = |json: &str| parse_routes(json).map(|routes| Routes { routes, origin_path: String::new() });
        let ok = r(
            r#"[{"prefix":"a/","distributions":[{"id":"EX","role_arn":"arn:aws:iam::111122223333:role/cf"},"EHOME"]},
                       {"prefix":"b/","distributions":[{"id":"EX","role_arn":"arn:aws:iam::111122223333:role/cf"}]}]"#,
        )
        .unwrap();
        let roles = ok.roles().unwrap();
        assert_eq!(roles.len(), 1);
        assert_eq!(roles[&TargetId::parse("EX").unwrap()], "arn:aws:iam::111122223333:role/cf");
        let two = r(r#"[{"prefix":"a/","distributions":[{"id":"EX","role_arn":"arn:aws:iam::111122223333:role/a"}]},
                        {"prefix":"b/","distributions":[{"id":"EX","role_arn":"arn:aws:iam::111122223333:role/b"}]}]"#)
        .unwrap();
        assert!(two.roles().unwrap_err().contains("two role_arn values"));
        let half = r(r#"[{"prefix":"a/","distributions":[{"id":"EX","role_arn":"arn:aws:iam::111122223333:role/a"}]},
                         {"prefix":"b/","distributions":["EX"]}]"#)
        .unwrap();
        assert!(half.roles().unwrap_err().contains("none in another"));
        for bad in ["arn:aws:iam::1111:role/a", "arn:aws:s3:::bucket", "role/a", "arn:aws:iam::111122223333:user/a"] {
            let e = parse_routes(&format!(r#"[{{"prefix":"","distributions":[{{"id":"EX","role_arn":"{bad}"}}]}}]"#))
                .unwrap_err();
            assert!(e.contains("is not an IAM role ARN"), "{bad}: {e}");
        }
    }

    /// Rule: a target may be a distribution tenant (`dt_…`, its own id rule, never the
    /// distribution rule), with its origin path stripped as for a distribution; a route that names
    /// a tenant names nothing else. Two tenants of one bucket, routed by prefix.
    #[test]
    fn routes_to_tenants() {
        let routes = parse_routes(
            r#"[{"bucket":"sites","prefix":"customers/acme/","distributions":[{"id":"dt_acme","origin_path":"/customers/acme"}]},
                {"bucket":"sites","prefix":"customers/globex/","distributions":[{"id":"dt_globex","origin_path":"/customers/globex/"}]},
                {"bucket":"sites","prefix":"","distributions":["EPLATFORM"]}]"#,
        )
        .unwrap();
        let c = Routes { routes, origin_path: String::new() };
        // (key, the target, its origin path)
        let cases = [
            ("customers/acme/index.html", "dt_acme", "customers/acme/"),
            ("customers/globex/a/b.css", "dt_globex", "customers/globex/"),
            ("customers/initech/x.html", "EPLATFORM", ""),
        ];
        for (key, target, origin) in cases {
            let t = &c.route_for(Some("sites"), key).unwrap().targets[0];
            assert_eq!((t.distribution_id.as_str(), t.origin_path.as_str()), (target, origin), "{key}");
            assert_eq!(t.distribution_id.is_tenant(), target.starts_with("dt_"), "{key}");
        }
        let refused = [
            (r#"[{"prefix":"a/","distributions":["dt_acme","E1"]}]"#, "names nothing else"),
            (r#"[{"prefix":"a/","distributions":["E1",{"id":"dt_acme"}]}]"#, "names nothing else"),
            (r#"[{"prefix":"a/","distributions":["dt_acme","dt_globex"]}]"#, "names nothing else"),
            (r#"[{"prefix":"a/","distributions":["dt_"]}]"#, "is not a distribution tenant id"),
            (r#"[{"prefix":"a/","distributions":["dt_a b"]}]"#, "is not a distribution tenant id"),
        ];
        for (json, want) in refused {
            let e = parse_routes(json).unwrap_err();
            assert!(e.contains(want), "{json}: {e}");
        }
        assert_eq!(parse_routes(r#"[{"prefix":"a/","distributions":["E1","E2"]}]"#).unwrap()[0].targets.len(), 2);
    }
}
