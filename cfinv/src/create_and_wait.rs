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
                match self.submit(submitter, s).await {
                    Some(why) => waiting.push((s, why)),
                    None => self.progress.room_found(&s.distribution_id),
                }
            }
            if waiting.is_empty() {
                break;
            }
            if !self.wait_for_room(&waiting).await {
                return;
            }
            pending = waiting.into_iter().map(|(s, _)| s).collect();
        }
        if wait && !self.report.tracked.is_empty() {
            self.wait_all(submitter.cf).await;
        }
    }

    /// Submits one distribution's submission and tracks the invalidations that answer it; why
    /// it waits for room, when it does.
    async fn submit<C: CloudFront>(&mut self, submitter: &Submitter<'_, C>, s: &Submission<'_>) -> Option<String> {
        let d = &s.distribution_id;
        let submitted = match submitter.submit(s).await {
            Ok(submitted) => submitted,
            Err(e @ Error::Throttled(_)) => {
                return Some(format!("CloudFront answered {} on {d} ({e})", e.error_type()))
            }
            Err(e) => {
                self.report.errors.push(e);
                return None;
            }
        };
        for (answer, inv) in submitted.invalidations() {
            self.track(Tracked::from(d, inv.clone(), answer));
        }
        match submitted.outcome {
            Outcome::Earlier(None) => {
                self.progress.note(&format!(
                    "an earlier run with this --caller-reference invalidated these keys on {d} \
                     (CloudFront says so; that invalidation is no longer listed)"
                ));
                self.report.earlier_unlisted += 1;
                None
            }
            Outcome::Held { refused: true, .. } => {
                Some(format!("CloudFront answered TooManyInvalidationsInProgress on {d}"))
            }
            Outcome::Held { room, refused: false } => Some(format!(
                "no room on {d}: {} exact and {} wildcard path(s) free, {} invalidation(s) in progress; \
                 these keys plan to {} path(s) ({} wildcard(s)) when nothing is in progress",
                room.exact,
                room.wildcards,
                room.in_progress,
                s.plan.paths.len(),
                s.plan.stats.wildcards
            )),
            Outcome::Created(_) | Outcome::Earlier(Some(_)) | Outcome::Covered(_) => None,
        }
    }

    /// Shows why each waits and sleeps one interval; `false` when the deadline has passed, the
    /// run's report then saying what waited.
    async fn wait_for_room(&mut self, waiting: &[(&Submission<'_>, String)]) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        for (s, why) in waiting {
            self.progress.waiting_for_room(
                &s.distribution_id,
                why,
                self.started.elapsed(),
                self.interval.min(left),
                left,
            );
        }
        if self.sleep().await {
            return true;
        }
        let whys: Vec<&str> = waiting.iter().map(|(_, why)| why.as_str()).collect();
        self.report.timed_out = Some(format!(
            "waiting for room ({}); nothing was created there. Run the same command again later, or raise --timeout.",
            whys.join("; ")
        ));
        for (s, _) in waiting {
            self.progress.room_found(&s.distribution_id);
        }
        false
    }

    /// Adds an invalidation to what the run reports and waits for, once: a submission that waits
    /// for room is submitted again every interval and finds the same covering invalidations.
    fn track(&mut self, t: Tracked) {
        if self.report.tracked.iter().any(|k| k.id == t.id && k.distribution_id == t.distribution_id) {
            return;
        }
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

/// The loop on the in-memory CloudFront, its clock kept on tokio's paused one, so that minutes of
/// waiting take none.
#[cfg(test)]
mod tests {
    use super::*;
    use cf_invalidator::cloudfront::memory::MemoryCloudFront;
    use cf_invalidator::cloudfront::{CreateRequest, Invalidation, InvalidationPage};
    use cf_invalidator::deadline;
    use cf_invalidator::known::Known;
    use cf_invalidator::model::{Change, ChangeKind, TargetId};
    use cf_invalidator::planner::Routing;
    use cf_invalidator::prepare::{self, Asked};
    use cf_invalidator::reference::Token;
    use cf_invalidator::submit::Answer;
    use cf_invalidator::Config;

    const D: &str = "EDFDVBD632BHDS5";

    /// MemoryCloudFront whose clock follows tokio's (whole seconds since the test began).
    struct Clocked<'a> {
        cf: &'a MemoryCloudFront,
        start: Instant,
    }

    impl Clocked<'_> {
        fn sync(&self) {
            self.cf.set_now(self.start.elapsed().as_secs());
        }
    }

    impl CloudFront for Clocked<'_> {
        async fn create_invalidation(
            &self,
            req: CreateRequest<'_>,
            by: Option<deadline::Instant>,
        ) -> Result<Invalidation, Error> {
            self.sync();
            self.cf.create_invalidation(req, by).await
        }
        async fn get_invalidation(&self, d: &TargetId, id: &str) -> Result<Invalidation, Error> {
            self.sync();
            self.cf.get_invalidation(d, id).await
        }
        async fn list_invalidations(&self, d: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
            self.sync();
            self.cf.list_invalidations(d, marker).await
        }
    }

    fn changes(keys: &[&str]) -> Vec<Change> {
        keys.iter()
            .map(|k| Change {
                message: 0,
                bucket: None,
                key: k.to_string(),
                kind: ChangeKind::Created,
                version: None,
                time: None,
            })
            .collect()
    }

    /// One `cfinv invalidate` run of `keys` with `token`: the report it ends with.
    async fn run(cf: &Clocked<'_>, keys: &[&str], token: Token<'_>, wait: bool, timeout: u64) -> Report {
        let cfg = Config::from_pairs(&[("DISTRIBUTION_ID", D)]).unwrap();
        let changes = changes(keys);
        let d = TargetId::parse(D).unwrap();
        let asked = Asked::Changes { changes: &changes, routing: Routing::Keys { distribution_id: Some(&d) } };
        let prepared = prepare::prepare(&cfg.planner, asked, None, token, false).unwrap();
        let known = Known::new();
        let submitter =
            Submitter { cf, known: &known, settings: &cfg.planner, deadline: None, now: None, pace: cfg.pace };
        let report = Report { json: true, wait, keys_in: keys.len(), ..Report::default() };
        let secs = Duration::from_secs;
        let mut run =
            Run::new(Instant::now(), secs(timeout), secs(30), Progress::new(false, std::time::Instant::now()), report);
        run.go(&submitter, &prepared.submissions, wait).await;
        run.report
    }

    /// Rule: created, then polled every interval until `Completed`.
    #[tokio::test(start_paused = true)]
    async fn creates_then_waits_until_completed() {
        let cf = MemoryCloudFront::new(&[D]);
        cf.set_completion(|_| 100);
        let clocked = Clocked { cf: &cf, start: Instant::now() };
        let r = run(&clocked, &["index.html"], Token::Fixed("deploy-1"), true, 900).await;
        assert!(r.errors.is_empty() && r.timed_out.is_none(), "{:?} {:?}", r.errors, r.timed_out);
        assert_eq!(r.tracked.len(), 1);
        assert!(r.tracked[0].completed() && !r.tracked[0].earlier);
        assert!(clocked.start.elapsed() >= Duration::from_secs(100), "waited for it");
    }

    /// Rule: with no room, nothing is sent; the run looks again every interval and creates once
    /// the room is free; past `--timeout` it stops, saying it waited for room, having created
    /// nothing.
    #[tokio::test(start_paused = true)]
    async fn waits_for_room_then_creates_or_times_out() {
        for (holds_for, timeout, created) in [(120, 900, true), (1200, 300, false)] {
            let cf = MemoryCloudFront::new(&[D]);
            cf.set_completion(move |seq| if seq == 1 { holds_for } else { 60 });
            let busy: Vec<String> = (0..3000).map(|i| format!("/busy/{i}")).collect();
            let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
            let clocked = Clocked { cf: &cf, start: Instant::now() };
            let d = TargetId::parse(D).unwrap();
            let req = |r, p| CreateRequest { target: &d, caller_reference: r, paths: p };
            clocked.create_invalidation(req("busy", &busy), None).await.unwrap();
            cf.set_completion(move |seq| if seq == 2 { holds_for } else { 60 });
            clocked.create_invalidation(req("busy-w", &wild), None).await.unwrap();
            let r = run(&clocked, &["a.html"], Token::Fixed("deploy-2"), false, timeout).await;
            assert_eq!(r.tracked.len(), usize::from(created), "held {holds_for} s, timeout {timeout} s");
            assert_eq!(r.timed_out.is_some(), !created, "{:?}", r.timed_out);
            if created {
                assert!(clocked.start.elapsed() >= Duration::from_secs(holds_for));
            } else {
                assert!(r.timed_out.unwrap().contains("waiting for room"));
                assert_eq!(cf.invalidation_count(), 2, "nothing created");
            }
        }
    }

    /// Rule: an invalidation is tracked (reported, waited for) once, however often a submission
    /// waiting for room finds it again.
    #[tokio::test(start_paused = true)]
    async fn an_invalidation_found_again_is_tracked_once() {
        let cf = MemoryCloudFront::new(&[D]);
        let d = TargetId::parse(D).unwrap();
        let inv = cf
            .create_invalidation(
                CreateRequest { target: &d, caller_reference: "other", paths: &["/a.html".into()] },
                None,
            )
            .await
            .unwrap();
        let report = Report { json: true, ..Report::default() };
        let mut run = Run::new(
            Instant::now(),
            Duration::from_secs(900),
            Duration::from_secs(30),
            Progress::new(false, std::time::Instant::now()),
            report,
        );
        for _ in 0..3 {
            run.track(Tracked::from(&d, inv.clone(), Answer::Covering));
        }
        assert_eq!(run.report.tracked.len(), 1);
    }

    /// Rule: a re-run of the same keys finds the invalidation in progress (unversioned: any start
    /// time) or made under the same deploy id, and creates nothing.
    #[tokio::test(start_paused = true)]
    async fn a_rerun_finds_the_earlier_invalidation() {
        for (first, again) in
            [(Token::Unversioned { at: 1 }, Token::Unversioned { at: 2 }), (Token::Fixed("sha"), Token::Fixed("sha"))]
        {
            let cf = MemoryCloudFront::new(&[D]);
            let clocked = Clocked { cf: &cf, start: Instant::now() };
            let a = run(&clocked, &["a.html", "b.html"], first, false, 900).await;
            let b = run(&clocked, &["a.html", "b.html"], again, false, 900).await;
            assert_eq!((a.tracked.len(), b.tracked.len()), (1, 1));
            assert_eq!(a.tracked[0].id, b.tracked[0].id, "{first:?}");
            assert!(b.tracked[0].earlier);
            assert_eq!(cf.invalidation_count(), 1);
        }
    }
}
