//! `cfinv room`: the room CloudFront's in-progress quota leaves on a distribution (3,000 exact and,
//! apart, 15 wildcard paths), who holds the rest, and the oldest invalidation in progress. The
//! first command to run when changes are waiting (the `Waiting` and `ChangesWaiting` metrics, the
//! `request waits for room` line, the Staleness alarm): it tells whether this function fills the
//! quota itself, or another tool does, and since when.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use cf_invalidator::cloudfront::{CloudFront, Invalidation, NewestFirst};
use cf_invalidator::model::{PathCounts, TargetId, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};
use cf_invalidator::{reference, Error};
use serde_json::{json, Value};

use crate::exit::fail;
use crate::setup::{block_on, cloudfront};

pub const AFTER_HELP: &str =
    "The first command to run when changes are waiting for room (the Waiting or ChangesWaiting \
metric, a `request waits for room` log line, the StalenessAlarm): it reads every invalidation of the distribution \
(ListInvalidations to the end, GetInvalidation for each one in progress) and shows the exact and wildcard paths in \
progress and left, split between this function's (references starting with cfinv- or sfn-) and other tools', and \
the oldest in progress.\n\nExample:\n  cfinv room EDFDVBD632BHDS5\n  cfinv room --json EDFDVBD632BHDS5 | jq .left";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The distribution id, e.g. EDFDVBD632BHDS5, or a distribution tenant's, dt_… (its own
    /// invalidations: whether they share the parent's quota is unsettled).
    #[arg(value_name = "DISTRIBUTION", value_parser = TargetId::parse)]
    distribution_id: TargetId,
    /// Print JSON (for scripts) instead of the table; an error is then the JSON error object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    block_on(args.json, async move {
        let cf = cloudfront(&crate::setup::config()?).await;
        let room = match read(&cf, &args.distribution_id).await {
            Ok(room) => room,
            Err(e) => return Ok(fail(args.json, &e)),
        };
        let now = SystemTime::now();
        if args.json {
            println!("{}", serde_json::to_string_pretty(&room.to_json(now)).map_err(|e| e.to_string())?);
        } else {
            print!("{}", room.to_text(now));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Who made an invalidation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    ThisFunction,
    Others,
}

impl By {
    pub fn of(caller_reference: &str) -> By {
        if reference::is_ours(caller_reference) {
            By::ThisFunction
        } else {
            By::Others
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            By::ThisFunction => "this_function",
            By::Others => "others",
        }
    }
}

/// What one party holds in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub invalidations: usize,
    pub paths: PathCounts,
}

impl Held {
    fn add(&mut self, counts: PathCounts) {
        self.invalidations += 1;
        self.paths += counts;
    }

    fn to_json(self) -> Value {
        json!({"invalidations": self.invalidations, "exact": self.paths.exact, "wildcards": self.paths.wildcards})
    }
}

/// The oldest invalidation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oldest {
    pub id: String,
    pub create_time: SystemTime,
    pub caller_reference: String,
    pub by: By,
}

/// The room on one distribution, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub distribution_id: TargetId,
    pub ours: Held,
    pub others: Held,
    pub oldest: Option<Oldest>,
}

impl Room {
    pub fn in_progress(&self) -> Held {
        let mut all = self.ours;
        all.invalidations += self.others.invalidations;
        all.paths += self.others.paths;
        all
    }

    /// The quota less what is in progress, exact and wildcard apart (never below zero: CloudFront
    /// may count an invalidation a little longer than it lists it as in progress).
    pub fn left(&self) -> PathCounts {
        let busy = self.in_progress().paths;
        PathCounts {
            exact: API_MAX_PATHS_IN_PROGRESS.saturating_sub(busy.exact),
            wildcards: API_MAX_WILDCARDS_IN_PROGRESS.saturating_sub(busy.wildcards),
        }
    }

    /// Adds one invalidation in progress. The list comes newest first, so among equal
    /// `CreateTime`s (CloudFront's are to the second) the one listed later is the older.
    fn add(&mut self, i: &Invalidation) {
        let by = By::of(&i.caller_reference);
        let counts = PathCounts::of(&i.paths);
        match by {
            By::ThisFunction => self.ours.add(counts),
            By::Others => self.others.add(counts),
        }
        if self.oldest.as_ref().is_none_or(|o| i.create_time <= o.create_time) {
            self.oldest = Some(Oldest {
                id: i.id.clone(),
                create_time: i.create_time,
                caller_reference: i.caller_reference.clone(),
                by,
            });
        }
    }

    pub fn to_json(&self, now: SystemTime) -> Value {
        let busy = self.in_progress();
        let left = self.left();
        json!({
            self.distribution_id.field(): self.distribution_id,
            "quota": {"exact": API_MAX_PATHS_IN_PROGRESS, "wildcards": API_MAX_WILDCARDS_IN_PROGRESS},
            "in_progress": busy.to_json(),
            "left": {"exact": left.exact, "wildcards": left.wildcards},
            "by": {"this_function": self.ours.to_json(), "others": self.others.to_json()},
            "oldest": self.oldest.as_ref().map(|o| json!({
                "invalidation_id": o.id,
                "create_time": humantime::format_rfc3339_seconds(o.create_time).to_string(),
                "age_seconds": age(o.create_time, now).as_secs(),
                "caller_reference": o.caller_reference,
                "by": o.by.as_str(),
            })),
        })
    }

    pub fn to_text(&self, now: SystemTime) -> String {
        let busy = self.in_progress();
        let left = self.left();
        let row = |name: &str, invalidations: String, exact: usize, wildcards: usize| {
            format!("  {name:<16} {invalidations:>13} {exact:>7} {wildcards:>10}\n")
        };
        let mut out = format!(
            "Room on {} (CloudFront allows {API_MAX_PATHS_IN_PROGRESS} exact and {API_MAX_WILDCARDS_IN_PROGRESS} wildcard paths in progress):\n",
            self.distribution_id
        );
        out += &format!("  {:<16} {:>13} {:>7} {:>10}\n", "", "invalidations", "exact", "wildcards");
        out += &row("in progress", busy.invalidations.to_string(), busy.paths.exact, busy.paths.wildcards);
        out += &row(
            "  this function",
            self.ours.invalidations.to_string(),
            self.ours.paths.exact,
            self.ours.paths.wildcards,
        );
        out += &row(
            "  others",
            self.others.invalidations.to_string(),
            self.others.paths.exact,
            self.others.paths.wildcards,
        );
        out += &row("left", String::new(), left.exact, left.wildcards);
        match &self.oldest {
            Some(o) => {
                let who = match o.by {
                    By::ThisFunction => "this function",
                    By::Others => "another tool",
                };
                out += &format!(
                    "Oldest in progress: {} created {} ({} ago) by {who}, reference {}\n",
                    o.id,
                    humantime::format_rfc3339_seconds(o.create_time),
                    humantime::format_duration(Duration::from_secs(age(o.create_time, now).as_secs())),
                    o.caller_reference
                );
            }
            None => out += "Nothing in progress: the whole quota is free.\n",
        }
        out
    }
}

/// How long ago an invalidation was created (zero if the local clock is behind CloudFront's).
fn age(create_time: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(create_time).unwrap_or(Duration::ZERO)
}

/// Reads the room: every page of the distribution's invalidations to the end (unlike the Lambda's
/// quick read, which stops at the first page with nothing in progress: here the answer must be
/// complete, an invalidation stuck for hours deep in the list is what to find), and each
/// invalidation not `Completed` (the safe reading of an unknown status: it holds quota).
pub async fn read<C: CloudFront>(cf: &C, distribution_id: &TargetId) -> Result<Room, Error> {
    let mut room =
        Room { distribution_id: distribution_id.clone(), ours: Held::default(), others: Held::default(), oldest: None };
    let mut pages = NewestFirst::new(cf, distribution_id);
    while let Some(page) = pages.next_page().await? {
        for s in page.iter().filter(|s| !s.status.is_completed()) {
            room.add(&cf.get_invalidation(distribution_id, &s.id).await?);
        }
    }
    Ok(room)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cf_invalidator::cloudfront::memory::{time_of, MemoryCloudFront};
    use cf_invalidator::cloudfront::CreateRequest;

    /// Rule: this project's references are `cfinv-…` (derived, src/reference.rs) and `sfn-…` (the
    /// workflow's); anything else, a console's or another tool's, is someone else's.
    #[test]
    fn references_tell_whose_an_invalidation_is() {
        let cases = [
            ("cfinv-0123456789abcdef0123456789abcdef01234567", By::ThisFunction),
            ("sfn-deploy-42", By::ThisFunction),
            ("console-2026-01-01", By::Others),
            ("cfinv", By::Others),
            ("my-cfinv-deploy", By::Others),
            ("", By::Others),
        ];
        for (reference, want) in cases {
            assert_eq!(By::of(reference), want, "{reference:?}");
        }
    }

    async fn create(cf: &MemoryCloudFront, reference: &str, paths: &[&str]) -> String {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        let req = CreateRequest {
            target: &cf_invalidator::model::TargetId::parse("E1").unwrap(),
            caller_reference: reference,
            paths: &paths,
        };
        cf.create_invalidation(req, None).await.unwrap().id
    }

    /// Rule: the room is the quota (3,000 exact, 15 wildcard) less every invalidation in progress,
    /// read to the end of the list — 150 invalidations fill two pages, and the oldest one still in
    /// progress is on the second — with completed ones holding nothing.
    #[tokio::test]
    async fn every_page_is_read_and_completed_invalidations_hold_nothing() {
        let cf = MemoryCloudFront::new(&["E1"]);
        // The first two complete after 5 s; every other one stays an hour.
        cf.set_completion(|seq| if seq <= 2 { 5 } else { 3_600 });
        create(&cf, "console-1", &["/done-a"]).await;
        cf.advance(1);
        create(&cf, "cfinv-done", &["/done-b"]).await;
        cf.advance(1);
        let oldest = create(&cf, "sfn-deploy-1", &["/a", "/b", "/c*"]).await;
        cf.advance(10);
        create(&cf, "tool-1", &["/x*", "/y"]).await;
        for n in 0..146 {
            cf.advance(1);
            create(&cf, &format!("cfinv-{n}"), &[&format!("/page/{n}")]).await;
        }
        let room = read(&cf, &TargetId::parse("E1").unwrap()).await.unwrap();
        assert_eq!(room.ours, Held { invalidations: 147, paths: PathCounts { exact: 148, wildcards: 1 } });
        assert_eq!(room.others, Held { invalidations: 1, paths: PathCounts { exact: 1, wildcards: 1 } });
        assert_eq!(room.left(), PathCounts { exact: 3_000 - 149, wildcards: 13 });
        let o = room.oldest.clone().unwrap();
        assert_eq!((o.id.as_str(), o.by, o.create_time), (oldest.as_str(), By::ThisFunction, time_of(2)));

        let now = time_of(2 + 754);
        let doc = room.to_json(now);
        assert_eq!(doc["in_progress"], json!({"invalidations": 148, "exact": 149, "wildcards": 2}));
        assert_eq!(doc["oldest"]["age_seconds"], 754);
        assert_eq!(doc["oldest"]["create_time"], "1970-01-01T00:00:02Z");
        let text = room.to_text(now);
        assert!(
            text.contains(&format!(
                "Oldest in progress: {oldest} created 1970-01-01T00:00:02Z (12m 34s ago) by this function"
            )),
            "{text}"
        );
    }

    /// Rule: nothing in progress leaves the whole quota, and no oldest.
    #[tokio::test]
    async fn an_idle_distribution_has_the_whole_quota() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 1);
        create(&cf, "cfinv-a", &["/a*"]).await;
        cf.advance(5);
        let room = read(&cf, &TargetId::parse("E1").unwrap()).await.unwrap();
        assert_eq!((room.left(), room.oldest.as_ref()), (PathCounts { exact: 3_000, wildcards: 15 }, None));
        assert_eq!(room.to_json(time_of(5))["oldest"], Value::Null);
        assert!(room.to_text(time_of(5)).contains("Nothing in progress"));
    }
}
