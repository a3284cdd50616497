//! Why each path of a plan is there (`cfinv plan --explain`): which keys it covers, and why it is
//! a wildcard. Computed from the planner's own routing and covers, never a copy of them.

use serde::Serialize;

use super::Settings;
use super::{coverage, covers_of_key, Plan, Request};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathWhy {
    pub path: String,
    pub reason: &'static str,
    /// The changed keys this path covers a request form of.
    pub keys: Vec<String>,
}

pub const GIVEN: &str = "given in the request";
pub const EXACT: &str = "exact path";
pub const BUDGET: &str = "wildcard chosen by the budget (MAX_PATHS / MAX_WILDCARDS, or the room CloudFront's in-progress quota left): the tightest common prefix of the paths it replaces";
pub const TAG: &str = "cache tag from TAGS: purges every object the origin tagged with it (billed like a path)";
pub const UNSETTLED: &str = "wildcard ending before a character whose request form is unsettled (~, space, *, ?) or past 4,000 characters: it covers every form a viewer may have used";

/// The paths of an explicit `paths` request.
pub fn given(plan: &Plan) -> Vec<PathWhy> {
    plan.paths.iter().map(|p| PathWhy { path: p.clone(), reason: GIVEN, keys: Vec::new() }).collect()
}

/// The paths of `plan`, made from `request`, with the keys each covers.
pub fn explain(request: &Request<'_>, plan: &Plan, cfg: &Settings) -> Vec<PathWhy> {
    let mut whys: Vec<PathWhy> = plan
        .paths
        .iter()
        .map(|path| PathWhy {
            path: path.clone(),
            reason: if path.starts_with('#') {
                TAG
            } else if crate::model::is_wildcard(path) {
                BUDGET
            } else {
                EXACT
            },
            keys: Vec::new(),
        })
        .collect();
    for (change, viewer_key) in &request.routed {
        let own = covers_of_key(viewer_key, cfg.index_document.as_deref());
        for i in 0..own.len() {
            let (text, wild) = (own.text(i), own.is_wildcard(i));
            let Some(w) = whys.iter_mut().find(|w| coverage::item_covers(&w.path, text, wild)) else {
                continue;
            };
            if wild && w.path.strip_suffix('*') == Some(text) {
                w.reason = UNSETTLED;
            }
            if !w.keys.contains(&change.key) {
                w.keys.push(change.key.clone());
            }
        }
    }
    for change in request.changes() {
        for tag in cfg.tags.tags_for(&change.key) {
            if let Some(w) = whys.iter_mut().find(|w| w.path == tag) {
                if !w.keys.contains(&change.key) {
                    w.keys.push(change.key.clone());
                }
            }
        }
    }
    whys
}
