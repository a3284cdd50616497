//! What an invocation reports, once, whatever happened: the summary line and its metrics
//! (`observe.rs`), and the per-distribution metrics, each by the distribution it counts towards.

use crate::config::Config;
use crate::deadline::Instant;
use crate::intake::Intake;
use crate::model::{TargetId, TenantId};
use crate::observe::{self, Summary};

use super::tally::Tally;

/// The invocation's counts, reported once (observe.rs) whatever happened: never keys or payloads.
pub(super) fn report(cfg: &Config, intake: Option<&Intake>, t: &Tally, started: Instant) {
    let s = summarize(intake, t, started);
    let (ns, function) = (cfg.metrics_namespace.as_deref(), cfg.function_name.as_deref());
    observe::report(&s, ns, function);
    let (metrics, unparented) = by_parent(cfg, t);
    if ns.is_some() && !unparented.is_empty() {
        tracing::warn!(
            tenants = ?unparented.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "Staleness and ChangesWaiting of these distribution tenants are by the tenant's id, not its \
             parent distribution's, which the StalenessAlarm watches: set DISTRIBUTION_TENANTS to their \
             PARENT/dt_… pairs (template parameter DistributionTenants)"
        );
    }
    for m in metrics {
        observe::report_distribution(ns, function, m.distribution_id, m.tenant_id, m.counts);
    }
}

/// What one distribution or tenant gets in the per-distribution metrics (`observe::distribution_emf`).
#[derive(Debug, PartialEq)]
pub(super) struct DistributionMetrics<'t> {
    /// The `DistributionId` dimension: a distribution's own id, a tenant's parent.
    pub(super) distribution_id: &'t str,
    /// The tenant whose changes these are (a member of the document, not a dimension).
    pub(super) tenant_id: Option<&'t str>,
    pub(super) counts: &'t observe::DistributionCounts,
}

/// The invocation's per-distribution metrics, each by the distribution it counts towards: a
/// tenant's by its parent in `DISTRIBUTION_TENANTS` (staleness is the site's, and the
/// template's alarm watches the distribution). The second list: the tenants without a parent
/// there, whose metrics are by their own id.
///
/// A tenant without a parent is a fallback with a WARN (once per invocation, in `report`), not a
/// configuration error at start, because:
/// - its invalidations work without the parent: refusing to start would stop a function that
///   invalidates correctly today (a stack or other IaC that sets `ROUTES` and not the new
///   variable, the CLI, which emits no metrics at all) for want of a metric's dimension;
/// - explicit requests name tenants at run time, which no check at start can see;
/// - nothing is lost: the staleness is still emitted, by the tenant's id, and the WARN says what
///   to set. Through the template the fallback does not arise: IAM permits exactly the tenants of
///   the same `DistributionTenants` pairs, so a tenant it invalidates has its parent.
pub(super) fn by_parent<'t>(cfg: &'t Config, t: &'t Tally) -> (Vec<DistributionMetrics<'t>>, Vec<&'t TenantId>) {
    let mut unparented = Vec::new();
    let metrics = t
        .by_distribution
        .iter()
        .map(|(target, counts)| {
            let (distribution_id, tenant_id) = match target {
                TargetId::Distribution(d) => (d.as_str(), None),
                TargetId::Tenant(tenant) => match cfg.tenant_parents.get(tenant) {
                    Some(parent) => (parent.as_str(), Some(tenant.as_str())),
                    None => {
                        unparented.push(tenant);
                        (tenant.as_str(), Some(tenant.as_str()))
                    }
                },
            };
            DistributionMetrics { distribution_id, tenant_id, counts }
        })
        .collect();
    (metrics, unparented)
}

pub(super) fn summarize<'t>(intake: Option<&Intake>, t: &'t Tally, started: Instant) -> Summary<'t> {
    Summary {
        source: intake.map_or("unknown", |i| i.source.name()),
        messages: intake.map_or(0, |i| i.messages.len()),
        malformed: intake.map_or(0, |i| i.malformed.len()),
        keys_in: intake.map_or(0, |i| i.changes.len()),
        keys_skipped: t.skipped.values().sum(),
        ignored_events: intake.map_or(0, |i| i.ignored),
        requests: t.requests,
        paths: t.paths,
        wildcards: t.wildcards,
        invalidations: t.created.iter().map(|c| c.invalidation_id.as_str()).collect(),
        already_invalidated: t.already,
        covered_already: t.covered,
        refusals: t.refusals,
        waiting: t.waiting,
        budget_in_force: t.budget_in_force,
        failed_messages: t.failed.len(),
        throttled: t.throttled,
        tracked: t.tracking.started + t.tracking.already,
        tracking_failed: t.tracking.failed,
        error: t.error.as_ref(),
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
