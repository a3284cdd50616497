//! What a person or a log sees on standard error while `cfinv invalidate` waits: a live line per
//! invalidation (and per distribution waiting for room) on a terminal, one plain line per poll
//! otherwise.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{human, Tracked};

/// What the person or the log sees on standard error while waiting.
pub enum Progress {
    /// A terminal: one live line per invalidation (and per distribution waiting for room).
    Live { multi: MultiProgress, bars: BTreeMap<String, ProgressBar> },
    /// A log: one plain line per poll.
    Plain,
}

impl Progress {
    pub fn new(terminal: bool) -> Self {
        if terminal {
            Progress::Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: BTreeMap::new(),
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
    ) -> ProgressBar {
        bars.entry(key.to_string())
            .or_insert_with(|| {
                let style = ProgressStyle::with_template("{spinner} {prefix} {msg} [{elapsed}]")
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
            Progress::Live { multi, bars } => {
                let key = format!("{d} waiting for room");
                if !bars.contains_key(&key) {
                    // The reason once, above the live line (too long for one terminal line).
                    let _ = multi.println(format!("cfinv: waiting for room: {why}"));
                }
                let bar = Self::bar(multi, bars, &key, elapsed);
                bar.set_message(format!("— next look in {}, timeout in {}", human(next), human(left)));
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
            Progress::Live { multi, bars } => {
                for t in tracked {
                    let bar = Self::bar(multi, bars, &format!("{} {}", t.distribution_id, t.id), elapsed);
                    let msg = format!(
                        "{} — {} path(s), {} wildcard(s){}",
                        t.status,
                        t.paths.len(),
                        t.wildcards,
                        t.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
                    );
                    if t.completed() {
                        if !bar.is_finished() {
                            bar.finish_with_message(msg);
                        }
                    } else {
                        bar.set_message(format!("{msg}; timeout in {}", human(left)));
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
