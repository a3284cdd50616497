//! `cfinv invalidate`'s loop: each distribution's submission goes through the Lambda's submit
//! step as soon as its room allows (one without room does not hold back the others; a held one is
//! tried again every `--interval` within `--timeout`), then with `--wait` every invalidation is
//! polled until it is `Completed` or the deadline passes.

use std::process::ExitCode;
use std::time::Duration;

use cf_invalidator::cloudfront::CloudFront;
use cf_invalidator::prepare::Submission;
use cf_invalidator::submit::{Outcome, Submitter};
use cf_invalidator::Error;
use tokio::time::Instant;

use crate::progress::Progress;
use crate::report::{Report, Tracked};

/// One run's submissions, created as room allows and waited for.
pub struct Run {
    started: Instant,
    deadline: Instant,
    interval: Duration,
    pub progress: Progress,
    pub report: Report,
}

impl Run {
    pub fn new(started: Instant, timeout: Duration, interval: Duration, progress: Progress, report: Report) -> Self {
        Run { started, deadline: started + timeout, interval, progress, report }
    }

    /// Leaves the display finished and reports: the exit status.
    pub fn finish(mut self) -> ExitCode {
        self.progress.done();
        self.report.finish(self.started)
    }

    /// Each distribution's submission as soon as its room allows (one without room does not hold
    /// back the others), then with `wait`, every invalidation until it completes.
    pub async fn go<C: CloudFront>(
        &mut self,
        submitter: &Submitter<'_, C>,
        submissions: &[Submission<'_>],
        wait: bool,
    ) {
        let mut pending: Vec<&Submission> = submissions.iter().collect();
        while !pending.is_empty() {
            let mut waiting = Vec::new();
            for s in pending {
                let d = s.distribution_id.as_str();
                let submitted = submitter.submit(s).await.map(|sub| {
                    for inv in sub.covering {
                        self.track(Tracked::covering(d, inv));
                    }
                    sub.outcome
                });
                match submitted {
                    Ok(Outcome::Created(inv)) => self.track(Tracked::from(d, inv, false)),
                    Ok(Outcome::Covered(invs)) => {
                        for inv in invs {
                            self.track(Tracked::covering(d, inv));
                        }
                    }
                    Ok(Outcome::Earlier(Some(inv))) => self.track(Tracked::from(d, inv, true)),
                    Ok(Outcome::Earlier(None)) => {
                        self.progress.note(&format!(
                            "an earlier run with this --caller-reference invalidated these keys on {d} \
                             (CloudFront says so; that invalidation is no longer listed)"
                        ));
                        self.report.earlier_unlisted += 1;
                    }
                    Ok(Outcome::Held { room, refused }) => {
                        let why = if refused {
                            format!("CloudFront answered TooManyInvalidationsInProgress on {d}")
                        } else {
                            format!(
                                "no room on {d}: {} exact and {} wildcard path(s) free, {} invalidation(s) in progress; \
                                 these keys plan to {} path(s) ({} wildcard(s)) when nothing is in progress",
                                room.exact,
                                room.wildcards,
                                room.in_progress,
                                s.plan.paths.len(),
                                s.plan.stats.wildcards
                            )
                        };
                        waiting.push((s, why));
                        continue;
                    }
                    Err(e @ Error::Throttled(_)) => {
                        waiting.push((s, format!("CloudFront answered {} on {d} ({e})", e.error_type())));
                        continue;
                    }
                    Err(e) => self.report.errors.push(e),
                }
                self.progress.room_found(d);
            }
            if waiting.is_empty() {
                break;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            for (s, why) in &waiting {
                self.progress.waiting_for_room(
                    &s.distribution_id,
                    why,
                    self.started.elapsed(),
                    self.interval.min(left),
                    left,
                );
            }
            if !self.sleep().await {
                let whys: Vec<&str> = waiting.iter().map(|(_, why)| why.as_str()).collect();
                self.report.timed_out = Some(format!(
                    "waiting for room ({}); nothing was created there. Run the same command again later, or raise --timeout.",
                    whys.join("; ")
                ));
                for (s, _) in &waiting {
                    self.progress.room_found(&s.distribution_id);
                }
                return;
            }
            pending = waiting.into_iter().map(|(s, _)| s).collect();
        }
        if wait && !self.report.tracked.is_empty() {
            self.wait_all(submitter.cf).await;
        }
    }

    fn track(&mut self, t: Tracked) {
        if !self.report.json {
            let line = t.line();
            self.progress.suspend(|| println!("{line}"));
        }
        self.report.tracked.push(t);
    }

    /// Sleeps one interval, or what is left of it before the deadline; `false` when the deadline
    /// has passed (nothing left to wait).
    async fn sleep(&self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.interval.min(left)).await;
        true
    }

    /// Polls every invalidation not yet `Completed` until all are, or the deadline passes.
    async fn wait_all<C: CloudFront>(&mut self, cf: &C) {
        loop {
            for t in self.report.tracked.iter_mut().filter(|t| !t.completed()) {
                match cf.get_invalidation(&t.distribution_id, &t.id).await {
                    Ok(inv) => {
                        t.status = inv.status;
                        t.note = None;
                    }
                    Err(e) if e.is_retryable() => t.note = Some(format!("{}, polling on", e.error_type())),
                    Err(e) => {
                        self.report.errors.push(e);
                        return;
                    }
                }
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            self.progress.poll(&self.report.tracked, self.started.elapsed(), left);
            if self.report.tracked.iter().all(Tracked::completed) {
                return;
            }
            if !self.sleep().await {
                let pending: Vec<String> = self
                    .report
                    .tracked
                    .iter()
                    .filter(|t| !t.completed())
                    .map(|t| format!("{} on {} is {}", t.id, t.distribution_id, t.status))
                    .collect();
                self.report.timed_out = Some(format!(
                    "{}. CloudFront goes on with it; run the same command again to wait for it without creating another.",
                    pending.join(", ")
                ));
                return;
            }
        }
    }
}
