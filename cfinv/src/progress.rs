//! What a person or a log sees on standard error while `cfinv invalidate` waits: a live line per
//! invalidation (and per distribution waiting for room) on a terminal, one plain line per poll
//! otherwise.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{human, Tracked};

/// What the person or the log sees on standard error while waiting.
pub enum Progress {
    /// A terminal: one live line per invalidation (and per distribution waiting for room), whose
    /// "timeout in" counts down to `deadline` at every redraw, between polls too.
    Live { multi: MultiProgress, bars: BTreeMap<String, ProgressBar>, deadline: Instant },
    /// A log: one plain line per poll.
    Plain,
}

impl Progress {
    /// `deadline`: when `--timeout` passes.
    pub fn new(terminal: bool, deadline: Instant) -> Self {
        if terminal {
            Progress::Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
                deadline,
            }
        } else {
            Progress::Plain
        }
    }

    pub fn suspend(&self, f: impl FnOnce()) {
        match self {
            Progress::Live { multi, .. } => multi.suspend(f),
            Progress::Plain => f(),
        }
    }

    pub fn note(&self, msg: &str) {
        self.suspend(|| eprintln!("cfinv: {msg}"));
    }

    fn bar(
        multi: &MultiProgress,
        bars: &mut BTreeMap<String, ProgressBar>,
        key: &str,
        elapsed: Duration,
        deadline: Instant,
    ) -> ProgressBar {
        bars.entry(key.to_string())
            .or_insert_with(|| {
                // `{left}` is worked out at each redraw (the steady tick), not at each poll.
                let left = move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", timeout_in(deadline, Instant::now()));
                };
                let style = ProgressStyle::with_template("{spinner} {prefix} {msg}{left} [{elapsed}]")
                    .map(|s| s.with_key("left", left))
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let bar = multi.add(
                    ProgressBar::new_spinner().with_style(style).with_prefix(key.to_string()).with_elapsed(elapsed),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            })
            .clone()
    }

    pub fn waiting_for_room(&mut self, d: &str, why: &str, elapsed: Duration, next: Duration, left: Duration) {
        match self {
            Progress::Live { multi, bars, deadline } => {
                let key = format!("{d} waiting for room");
                if !bars.contains_key(&key) {
                    // The reason once, above the live line (too long for one terminal line).
                    let _ = multi.println(format!("cfinv: waiting for room: {why}"));
                }
                let bar = Self::bar(multi, bars, &key, elapsed, *deadline);
                bar.set_message(format!("— looking again every {}", human(next)));
            }
            Progress::Plain => eprintln!(
                "cfinv: [{}] waiting for room: {why}; next look in {}, timeout in {}",
                human(elapsed),
                human(next),
                human(left)
            ),
        }
    }

    pub fn room_found(&mut self, d: &str) {
        if let Progress::Live { bars, .. } = self {
            if let Some(bar) = bars.remove(&format!("{d} waiting for room")) {
                bar.finish_and_clear();
            }
        }
    }

    pub fn poll(&mut self, tracked: &[Tracked], elapsed: Duration, left: Duration) {
        match self {
            Progress::Live { multi, bars, deadline } => {
                for t in tracked {
                    let bar = Self::bar(multi, bars, &format!("{} {}", t.distribution_id, t.id), elapsed, *deadline);
                    let msg = format!(
                        "{} — {} path(s), {} wildcard(s){}",
                        t.status,
                        t.paths.len(),
                        t.wildcards,
                        t.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    );
                    if t.completed() {
                        if !bar.is_finished() {
                            // Done: no countdown left on its line.
                            if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]") {
                                bar.set_style(style);
                            }
                            bar.finish_with_message(msg);
                        }
                    } else {
                        bar.set_message(msg);
                    }
                }
            }
            Progress::Plain => {
                let all: Vec<String> = tracked
                    .iter()
                    .map(|t| {
                        format!(
                            "{} {} {} ({} path(s){})",
                            t.distribution_id,
                            t.id,
                            t.status,
                            t.paths.len(),
                            t.note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
                        )
                    })
                    .collect();
                let timeout = if tracked.iter().all(Tracked::completed) {
                    String::new()
                } else {
                    format!("; timeout in {}", human(left))
                };
                eprintln!("cfinv: [{}] {}{timeout}", human(elapsed), all.join("; "));
            }
        }
    }

    /// Leaves the finished lines on the terminal, abandons the rest (timed out), and ends the
    /// display's last line: indicatif leaves the cursor at its end, where the summary that follows
    /// would otherwise be printed.
    pub fn done(&mut self) {
        if let Progress::Live { bars, .. } = self {
            for bar in bars.values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
            if !bars.is_empty() {
                eprintln!();
            }
        }
    }
}

/// `; timeout in 14m58s`: what is left before `deadline` at `now`.
fn timeout_in(deadline: Instant, now: Instant) -> String {
    format!("; timeout in {}", human(deadline.saturating_duration_since(now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: the live line's "timeout in" is what is left at the moment it is drawn, so it counts
    /// down between two polls.
    #[test]
    fn the_timeout_counts_down() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(900);
        assert_eq!(timeout_in(deadline, now), "; timeout in 15m00s");
        assert_eq!(timeout_in(deadline, now + Duration::from_secs(1)), "; timeout in 14m59s");
        assert_eq!(timeout_in(deadline, now + Duration::from_secs(62)), "; timeout in 13m58s");
        assert_eq!(timeout_in(deadline, deadline + Duration::from_secs(5)), "; timeout in 0s");
    }
}
