//! `--family N --family-seed S`: N storms drawn from one space, each run by the function and by
//! both references, and the family's figures over them.
//!
//! Storm `i` is a function of (S, i) alone, and each row carries the `storm` command line that
//! runs it on its own. The space ([`Space::standard`]):
//!
//! - **Arrivals**, one draw in three each: steady, a deploy every 15–600 s; a burst, every deploy
//!   at a uniform time within 10–900 s; Poisson, exponential gaps of mean 15–600 s (log-uniform).
//! - **Deploys**, half each: the Hugo corpus (40 deploys of about 100 changes, a 911-key site);
//!   the seeded synthetic site (`--synthetic KEYS:CHANGES:DEPLOYS`): KEYS log-uniform in
//!   2,000–50,000, CHANGES log-uniform in 20–min(5,000, KEYS / 10), DEPLOYS 10–40 but at most
//!   60,000 changes in all.
//! - **Completions**, half fast (under 2 minutes: 20–119 s), half slow (120–3,600 s,
//!   log-uniform); in each, half fixed and half a range MIN..MAX with MAX up to 4 × MIN within
//!   its class.
//! - **Other tools**, one draw in four: `--other 120:/other/*`, `--other 30:exact100`,
//!   `--other 600:/*`, or `--hold` 600–7,200 s.
//! - **Horizon**: the last upload, six times the longest completion and half an hour, rounded up
//!   to half hours.

use serde_json::{json, Value};

use crate::workload::{splitmix64, Other, Shape, Source, Span, Synthetic};
use crate::world::{self, Function, Queueing, Rules};
use crate::{measure, reference};

/// How deploys arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    Every(u64),
    Within(u64),
    Poisson(u64),
}

/// One storm of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub arrivals: Arrivals,
    /// `None`: the Hugo corpus.
    pub synthetic: Option<Synthetic>,
    pub complete: Span,
    pub other: Vec<Other>,
    pub hold: u64,
    pub hours: f64,
    pub seed: u64,
}

/// The bounds storms are drawn within.
#[derive(Debug, Clone, Copy)]
pub struct Space {
    pub keys: (usize, usize),
    pub max_changes: usize,
    pub deploys: (usize, usize),
    pub max_total_changes: usize,
    /// Draw the Hugo corpus for half the storms.
    pub corpus: bool,
}

impl Space {
    /// The space the README documents (see the module's comment).
    pub fn standard() -> Space {
        Space { keys: (2_000, 50_000), max_changes: 5_000, deploys: (10, 40), max_total_changes: 60_000, corpus: true }
    }
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        splitmix64(&mut self.0) % n.max(1)
    }
    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// Log-uniform in lo..=hi.
    fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let u = (splitmix64(&mut self.0) >> 11) as f64 / (1u64 << 53) as f64;
        let v = ((lo as f64).ln() + u * ((hi as f64).ln() - (lo as f64).ln())).exp().round() as u64;
        v.clamp(lo, hi)
    }
}

impl Draw {
    /// Storm `i` of the family of seed `family_seed`, within `space`.
    pub fn new(space: &Space, family_seed: u64, i: u64) -> Draw {
        let mut r = Rng(family_seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
        splitmix64(&mut r.0);
        let arrivals = match r.below(3) {
            0 => Arrivals::Every(r.log_range(15, 600)),
            1 => Arrivals::Within(r.log_range(10, 900)),
            _ => Arrivals::Poisson(r.log_range(15, 600)),
        };
        let synthetic = (!space.corpus || r.below(2) == 1).then(|| {
            let keys = r.log_range(space.keys.0 as u64, space.keys.1 as u64) as usize;
            let top = space.max_changes.min(keys / 10).max(20);
            let changes = r.log_range(20.min(top as u64), top as u64) as usize;
            let deploys = (r.range(space.deploys.0 as u64, space.deploys.1 as u64) as usize)
                .min(space.max_total_changes / changes)
                .max(1);
            Synthetic { keys, changes, deploys }
        });
        let fixed = r.below(2) == 0;
        let complete = if r.below(2) == 0 {
            let min = r.range(20, if fixed { 119 } else { 100 });
            Span { min, max: if fixed { min } else { r.range(min + 1, 119) } }
        } else {
            let min = r.log_range(120, if fixed { 3_600 } else { 3_000 });
            Span { min, max: if fixed { min } else { r.range(min + 1, (4 * min).min(3_600)) } }
        };
        let (mut other, mut hold) = (Vec::new(), 0);
        if r.below(4) == 0 {
            match r.below(4) {
                0 => other.push("120:/other/*".parse().expect("a valid --other")),
                1 => other.push("30:exact100".parse().expect("a valid --other")),
                2 => other.push("600:/*".parse().expect("a valid --other")),
                _ => hold = r.range(600, 7_200),
            }
        }
        let seed = r.range(1, 1_000_000);
        let mut d = Draw { arrivals, synthetic, complete, other, hold, hours: 0.0, seed };
        // The last upload: the last deploy's start and the longest deploy's upload time (50 a
        // second, the default rate; a synthetic deploy adds at most six asset changes).
        let longest = match synthetic {
            Some(s) => s.changes + 6,
            None => crate::workload::deploy_files(&[])
                .iter()
                .map(|f| crate::workload::read_lines(f).len())
                .max()
                .unwrap_or(0),
        };
        let deploys = synthetic.map_or(crate::workload::deploy_files(&[]).len(), |s| s.deploys);
        let starts = crate::workload::starts(deploys, &d.shape(50), seed);
        let last = starts.last().copied().unwrap_or(0) + longest as u64 / 50;
        let horizon = (last + 6 * complete.max + 1_800).div_ceil(1_800) * 1_800;
        d.hours = horizon as f64 / 3_600.0;
        d
    }

    pub fn fast(&self) -> bool {
        self.complete.max < 120
    }

    pub fn source(&self) -> Source {
        match self.synthetic {
            Some(s) => Source::Synthetic(s),
            None => Source::Files {
                deploys: crate::workload::deploy_files(&[]),
                site: crate::workload::corpus().join("site-hugo.txt"),
            },
        }
    }

    pub fn shape(&self, upload_rate: u64) -> Shape {
        let (every, within, poisson) = match self.arrivals {
            Arrivals::Every(e) => (e, None, None),
            Arrivals::Within(w) => (0, Some(w), None),
            Arrivals::Poisson(m) => (0, None, Some(m)),
        };
        Shape {
            every,
            within,
            poisson,
            upload_rate,
            hours: self.hours,
            span: self.complete,
            others: self.other.clone(),
            hold: self.hold,
        }
    }

    pub fn arrivals_text(&self) -> String {
        match self.arrivals {
            Arrivals::Every(e) => format!("every {e} s"),
            Arrivals::Within(w) => format!("within {w} s"),
            Arrivals::Poisson(m) => format!("poisson {m} s"),
        }
    }

    /// The `storm` arguments that run this storm alone (with the queueing given).
    pub fn command(&self, window: u64) -> String {
        let mut c = match self.arrivals {
            Arrivals::Every(e) => format!("--every {e}"),
            Arrivals::Within(w) => format!("--within {w}"),
            Arrivals::Poisson(m) => format!("--poisson {m}"),
        };
        if let Some(s) = self.synthetic {
            c += &format!(" --synthetic {s}");
        }
        let span = if self.complete.min == self.complete.max {
            self.complete.min.to_string()
        } else {
            format!("{}..{}", self.complete.min, self.complete.max)
        };
        c += &format!(" --complete {span} --hours {} --window {window} --seed {}", self.hours, self.seed);
        for o in &self.other {
            c += &format!(" --other {o}");
        }
        if self.hold > 0 {
            c += &format!(" --hold {}", self.hold);
        }
        c + " --reference"
    }
}

/// One storm of the family: the function's figures and both references.
fn run_one(d: &Draw, i: u64, q: Queueing, rules: Rules, upload_rate: u64) -> Value {
    let started = std::time::Instant::now();
    let (storm, site) = d.source().storm(&d.shape(upload_rate), d.seed);
    let f = measure::report(&storm, &site, Function::Ours, q, &world::simulate(&storm, Function::Ours, q, rules));
    let (r, _) = reference::row(&storm, q.window);
    let max = f["staleness_s"]["max"].clone();
    json!({
        "storm": i,
        "command": format!("storm {}", d.command(q.window)),
        "arrivals": d.arrivals_text(),
        "deploys": d.synthetic.map_or("hugo corpus".to_string(), |s| format!("synthetic {s}")),
        "complete_s": [d.complete.min, d.complete.max],
        "fast": d.fast(),
        "other": d.other.iter().map(Other::to_string).collect::<Vec<_>>(),
        "hold_s": d.hold,
        "changes": storm.uploads.len(),
        "max_staleness_s": max,
        "reference_max_staleness_s": r["reference_max_staleness_s"],
        "reference_unwindowed_max_staleness_s": r["reference_unwindowed_max_staleness_s"],
        "ratio": measure::ratio(&max, &r["reference_max_staleness_s"]),
        "ratio_unwindowed": measure::ratio(&max, &r["reference_unwindowed_max_staleness_s"]),
        "paths_billed": f["paths_billed"],
        "reference_paths_billed": r["reference_paths_billed"],
        "over_invalidated": f["over_invalidated"],
        "changes_dead_lettered": f["changes_dead_lettered"],
        "duplicate_paths_beyond_margin": f["duplicate_paths_beyond_margin"],
        "never_fresh": f["staleness_s"]["never_covered"],
        "wall_ms": started.elapsed().as_millis() as u64,
    })
}

/// The nearest-rank quantile `q` of `v` (sorted here); `None` when empty.
fn quantile(v: &[f64], q: f64) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len().max(1));
    v.get(rank - 1).copied()
}

/// max, p90, median (and the sum) of one figure over the storms where it is a number, and how
/// many storms have none (the function or the reference never made every change fresh).
fn stats(rows: &[Value], key: &str) -> Value {
    let v: Vec<f64> = rows.iter().filter_map(|r| r[key].as_f64()).collect();
    json!({
        "max": quantile(&v, 1.0), "p90": quantile(&v, 0.9), "median": quantile(&v, 0.5),
        // `+ 0.0`: an empty sum of floats is -0.0.
        "total": (v.iter().sum::<f64>() * 1000.0).round() / 1000.0 + 0.0,
        "undefined": rows.len() - v.len(),
    })
}

fn summary(rows: &[Value]) -> Value {
    let total = |key: &str| rows.iter().filter_map(|r| r[key].as_u64()).sum::<u64>();
    json!({
        "storms": rows.len(),
        "ratio": stats(rows, "ratio"),
        "ratio_unwindowed": stats(rows, "ratio_unwindowed"),
        "paths_billed": stats(rows, "paths_billed"),
        "over_invalidated": stats(rows, "over_invalidated"),
        "changes_dead_lettered": total("changes_dead_lettered"),
        "duplicate_paths_beyond_margin": total("duplicate_paths_beyond_margin"),
        "storms_never_fresh": rows.iter().filter(|r| r["never_fresh"].as_u64().unwrap_or(0) > 0).count(),
    })
}

/// The family: every storm's row, the summary over all of them and over the fast-completion ones.
pub fn run(space: &Space, n: u64, family_seed: u64, q: Queueing, rules: Rules, upload_rate: u64) -> Value {
    let mut rows = Vec::new();
    for i in 0..n {
        let d = Draw::new(space, family_seed, i);
        let row = run_one(&d, i, q, rules, upload_rate);
        eprintln!(
            "storm {i}: {} ratio {} (unwindowed {}), {} ms",
            row["command"], row["ratio"], row["ratio_unwindowed"], row["wall_ms"]
        );
        rows.push(row);
    }
    let fast: Vec<Value> = rows.iter().filter(|r| r["fast"] == json!(true)).cloned().collect();
    json!({
        "family": { "storms": n, "family_seed": family_seed, "window_s": q.window },
        "summary": summary(&rows),
        "summary_fast_completions": summary(&fast),
        "per_storm": rows,
    })
}

/// One Markdown table: a row per storm, then the family's max, p90 and median.
pub fn markdown(family: &Value) -> String {
    let num = |v: &Value| v.as_f64().map_or("never".to_string(), |x| format!("{x}"));
    let min = |v: &Value| v.as_f64().map_or("never".to_string(), |x| format!("{:.1}", x / 60.0));
    let mut out = String::from(
        "| storm | arrivals | deploys | completions (s) | other tools | function (min) | reference (min) | ratio | ratio unwindowed | paths billed | over-invalidated |\n|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in family["per_storm"].as_array().into_iter().flatten() {
        let c = &r["complete_s"];
        let span = if c[0] == c[1] { format!("{}", c[0]) } else { format!("{}..{}", c[0], c[1]) };
        let mut other: Vec<String> =
            r["other"].as_array().into_iter().flatten().filter_map(|o| o.as_str()).map(|o| format!("`{o}`")).collect();
        if r["hold_s"].as_u64().unwrap_or(0) > 0 {
            other.push(format!("hold {} s", r["hold_s"]));
        }
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["storm"],
            r["arrivals"].as_str().unwrap_or(""),
            r["deploys"].as_str().unwrap_or(""),
            span,
            other.join(", "),
            min(&r["max_staleness_s"]),
            min(&r["reference_max_staleness_s"]),
            num(&r["ratio"]),
            num(&r["ratio_unwindowed"]),
            r["paths_billed"],
            r["over_invalidated"],
        );
    }
    let s = &family["summary"];
    for q in ["max", "p90", "median"] {
        out += &format!(
            "| **{q}** | | | | | | | **{}** | **{}** | {} | {} |\n",
            num(&s["ratio"][q]),
            num(&s["ratio_unwindowed"][q]),
            num(&s["paths_billed"][q]),
            num(&s["over_invalidated"][q]),
        );
    }
    out += &format!(
        "| **total** | | | | | | | | | {} | {} |\n",
        num(&s["paths_billed"]["total"]),
        num(&s["over_invalidated"]["total"])
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Small enough for an unoptimised test build: synthetic sites of a few hundred keys.
    fn tiny() -> Space {
        Space { keys: (200, 400), max_changes: 30, deploys: (2, 4), max_total_changes: 100, corpus: false }
    }

    fn queueing() -> Queueing {
        Queueing { batch_size: 1000, window: 60, max_concurrency: Some(2), visibility: 240, max_receives: 31 }
    }

    fn rules() -> Rules {
        Rules {
            api_latency: Duration::from_millis(100),
            function_timeout: Duration::from_secs(30),
            cold_every: Duration::from_secs(900),
            serial: false,
            trace: false,
        }
    }

    /// Rule: a family is a function of its seed: the same (seed, i) draws the same storm, with
    /// the same uploads at the same seconds; another seed draws other storms.
    #[test]
    fn the_same_seed_draws_the_same_storm() {
        for space in [Space::standard(), tiny()] {
            for i in 0..6 {
                let (a, b) = (Draw::new(&space, 7, i), Draw::new(&space, 7, i));
                assert_eq!(a, b);
                let (sa, _) = a.source().storm(&a.shape(50), a.seed);
                let (sb, _) = b.source().storm(&b.shape(50), b.seed);
                let uploads = |s: &crate::workload::Storm| {
                    s.uploads.iter().map(|u| (u.key.clone(), u.deleted, u.arrival)).collect::<Vec<_>>()
                };
                assert_eq!(uploads(&sa), uploads(&sb));
                assert_eq!(sa.horizon, sb.horizon);
            }
        }
        let draws = |seed| (0..6).map(|i| Draw::new(&Space::standard(), seed, i)).collect::<Vec<_>>();
        assert_ne!(draws(7), draws(8));
    }

    /// Rule: every draw lies in the documented space, and fast completions (under 2 minutes) are
    /// drawn at least as often as slow ones.
    #[test]
    fn draws_stay_in_the_space() {
        let space = Space::standard();
        let draws: Vec<Draw> = (0..400).map(|i| Draw::new(&space, 1, i)).collect();
        for d in &draws {
            match d.arrivals {
                Arrivals::Every(e) | Arrivals::Poisson(e) => assert!((15..=600).contains(&e), "{d:?}"),
                Arrivals::Within(w) => assert!((10..=900).contains(&w), "{d:?}"),
            }
            assert!(20 <= d.complete.min && d.complete.min <= d.complete.max && d.complete.max <= 3_600, "{d:?}");
            if let Some(s) = d.synthetic {
                assert!((2_000..=50_000).contains(&s.keys) && s.changes <= 5_000 && s.changes <= s.keys / 10, "{d:?}");
                assert!(s.changes * s.deploys <= 60_000, "{d:?}");
            }
        }
        let fast = draws.iter().filter(|d| d.fast()).count();
        assert!(fast * 2 >= draws.len() - 40, "{fast} fast of {}", draws.len());
        for kind in [Arrivals::Every(0), Arrivals::Within(0), Arrivals::Poisson(0)] {
            assert!(draws.iter().any(|d| std::mem::discriminant(&d.arrivals) == std::mem::discriminant(&kind)));
        }
        assert!(draws.iter().any(|d| d.synthetic.is_none()) && draws.iter().any(|d| d.synthetic.is_some()));
        assert!(draws.iter().any(|d| !d.other.is_empty()) && draws.iter().any(|d| d.hold > 0));
        assert!(draws.iter().any(|d| d.synthetic.is_some_and(|s| s.changes > 2_000)));
    }

    /// Rule: the same seed gives the same figures, storm by storm and over the family.
    #[test]
    fn a_tiny_family_gives_the_same_figures_twice() {
        let strip = |mut v: Value| {
            for r in v["per_storm"].as_array_mut().unwrap() {
                r.as_object_mut().unwrap().remove("wall_ms");
            }
            v
        };
        let a = strip(run(&tiny(), 2, 11, queueing(), rules(), 50));
        let b = strip(run(&tiny(), 2, 11, queueing(), rules(), 50));
        assert_eq!(a, b);
        assert_eq!(a["summary"]["storms"], 2);
        assert!(a["summary"]["ratio"]["max"].as_f64().is_some_and(|r| r > 0.0), "{}", a["summary"]);
        assert!(markdown(&a).lines().count() >= 2 + 2 + 4);
    }
}
