//! What the storm replays: deploys as S3 notifications, the completion rule, other tools on the
//! same distribution, and the site listing that over-invalidation is counted on.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cf_invalidator::model::{API_MAX_PATHS, API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};
use cf_invalidator::{planner, Config};
use serde_json::json;

pub const DIST: &str = "EDFDVBD632BHDS5";
pub const BUCKET: &str = "www-example";

/// Seconds an invalidation stays in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub min: u64,
    pub max: u64,
}

impl FromStr for Span {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |v: &str| v.trim().parse::<u64>().map_err(|_| format!("{s:?}: expected SECONDS or MIN..MAX"));
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(s)?, num(s)?),
        };
        if min > max {
            return Err(format!("{s:?}: MIN is above MAX"));
        }
        Ok(Span { min, max })
    }
}

/// splitmix64: a tiny seeded generator (no dependency), good enough for draws of seconds.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Who created an invalidation: the completion rule draws per creator, so that the function and
/// the reference, which create at different moments, never share a draw by accident, while
/// another tool's n-th invalidation at second t stays the same in both worlds.
pub type Creator = u64;
/// The function under test, or the reference schedule in its place.
pub const SELF: Creator = 0;

/// The seconds an invalidation stays in progress: a function of (seed, creator, the creator's
/// ordinal) only. The function's n-th invalidation and the reference's n-th last the same, so the
/// reference cannot choose its luck by choosing when to create; the draw is known to neither.
pub fn completion(span: Span, seed: u64, creator: Creator, ordinal: u64) -> u64 {
    let mut s = seed ^ creator.wrapping_mul(0x9FB2_1C65_1E98_DF25) ^ ordinal.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    splitmix64(&mut s);
    span.min + splitmix64(&mut s) % (span.max - span.min + 1)
}

/// `--synthetic KEYS:CHANGES[:DEPLOYS]`: a seeded site of KEYS keys and DEPLOYS (default 20)
/// deploys of CHANGES changes each (`cf_invalidator_bench::synthetic::synthetic_site`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthetic {
    pub keys: usize,
    pub changes: usize,
    pub deploys: usize,
}

impl FromStr for Synthetic {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected KEYS:CHANGES_PER_DEPLOY[:DEPLOYS], e.g. 50000:5000:20");
        let n: Vec<usize> = s.split(':').map(|v| v.trim().parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
        match n[..] {
            [keys, changes] if keys > 0 && changes > 0 => Ok(Synthetic { keys, changes, deploys: 20 }),
            [keys, changes, deploys] if keys > 0 && changes > 0 && deploys > 0 => {
                Ok(Synthetic { keys, changes, deploys })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Synthetic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.keys, self.changes, self.deploys)
    }
}

/// Where a storm's deploys and listing come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Deploy files in the corpus format and the bucket's listing.
    Files { deploys: Vec<PathBuf>, site: PathBuf },
    /// The seeded synthetic site (a function of the storm's seed).
    Synthetic(Synthetic),
}

impl Source {
    /// The storm of `shape` and `seed` on this source, and the listing over-invalidation counts on.
    pub fn storm(&self, shape: &Shape, seed: u64) -> (Storm, Site) {
        match self {
            Source::Files { deploys, site } => (Storm::new(deploys, shape, seed), Site::new(read_lines(site))),
            Source::Synthetic(s) => {
                let gen = cf_invalidator_bench::synthetic::synthetic_site(seed, s.keys, s.changes, s.deploys);
                let deploys = gen
                    .deploys
                    .into_iter()
                    .enumerate()
                    .map(|(d, changes)| (PathBuf::from(format!("synthetic-{d}")), changes))
                    .collect();
                (Storm::of(deploys, shape, seed), Site::new(gen.keys))
            }
        }
    }
}

/// `--other EVERY:ITEMS`: another tool that creates one invalidation of `items` every `every`
/// seconds (at 0, EVERY, 2 × EVERY, …). A refused create is not carried over: the tool tries
/// again at its next tick, as a cron job would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub every: u64,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A path as given (`/*`, `/other/*`, `/robots.txt`).
    Path(String),
    /// `exactN`: N distinct exact paths, outside the site.
    Exact(usize),
}

impl FromStr for Other {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("--other {s:?}: {why} (expected EVERY:ITEMS, e.g. 120:/other/* or 30:exact100)");
        let (every, items) = s.split_once(':').ok_or_else(|| bad("no `:`"))?;
        let every: u64 = every.trim().parse().map_err(|_| bad("EVERY is not a number of seconds"))?;
        if every == 0 {
            return Err(bad("EVERY must be at least 1"));
        }
        let items = items
            .split(',')
            .map(str::trim)
            .map(|i| match i.strip_prefix("exact") {
                Some(n) => match n.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(Item::Exact(n)),
                    _ => Err(bad(&format!("{i:?}: exactN needs N ≥ 1"))),
                },
                None if i.starts_with('/') => {
                    if cf_invalidator::model::item_problem(i).is_some() {
                        Err(bad(&format!("{i:?} is not a path CloudFront accepts")))
                    } else {
                        Ok(Item::Path(i.to_string()))
                    }
                }
                None => Err(bad(&format!("{i:?} is neither a path nor exactN"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let paths = items.iter().map(|i| if let Item::Exact(n) = i { *n } else { 1 }).sum::<usize>();
        if items.is_empty() || paths > API_MAX_PATHS {
            return Err(bad(&format!("{paths} paths; one invalidation holds 1 to {API_MAX_PATHS}")));
        }
        Ok(Other { every, items })
    }
}

/// As given on the command line, for the JSON.
impl std::fmt::Display for Other {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|i| match i {
                Item::Path(p) => p.clone(),
                Item::Exact(n) => format!("exact{n}"),
            })
            .collect();
        write!(f, "{}:{}", self.every, items.join(","))
    }
}

impl Other {
    /// The paths tool `k` sends (the same at every tick: exact paths under `/other-tool-k/`,
    /// which no site key uses, so they hold quota without covering anything of the site).
    pub fn paths(&self, k: usize) -> Vec<String> {
        let mut out = Vec::new();
        for item in &self.items {
            match item {
                Item::Path(p) => out.push(p.clone()),
                Item::Exact(n) => out.extend((0..*n).map(|i| format!("/other-tool-{k}/{i}.html"))),
            }
        }
        out
    }

    pub fn due(&self, t: u64) -> bool {
        t % self.every == 0
    }
}

/// `--hold`: the whole quota held from second 0, as two invalidations (one request holds at most
/// 3,000 paths): 3,000 exact paths and 15 wildcards, outside the site, completing at `hold` s.
pub fn hold_batches() -> [Vec<String>; 2] {
    [
        (0..API_MAX_PATHS_IN_PROGRESS).map(|i| format!("/held/{i}.html")).collect(),
        (0..API_MAX_WILDCARDS_IN_PROGRESS).map(|i| format!("/held/w{i}/*")).collect(),
    ]
}

/// One changed key: one S3 notification in one SQS message.
pub struct Upload {
    pub key: String,
    pub deleted: bool,
    /// The second it is uploaded (and its message sent).
    pub arrival: u64,
    /// The SQS body: an S3 event notification with one record.
    pub body: String,
    /// The covers every request form of the key needs (`planner::covers_of_key`): text, wildcard.
    pub covers: Vec<(String, bool)>,
}

pub struct Storm {
    pub deploys: Vec<(PathBuf, Vec<(bool, String)>)>,
    pub uploads: Vec<Upload>,
    pub horizon: u64,
    pub span: Span,
    pub seed: u64,
    pub others: Vec<Other>,
    /// Seconds another tool holds the whole quota from the start.
    pub hold: u64,
}

pub struct Shape {
    pub every: u64,
    pub within: Option<u64>,
    /// Deploys arrive as a Poisson process of this mean gap (s), the first at 0.
    pub poisson: Option<u64>,
    pub upload_rate: u64,
    pub hours: f64,
    pub span: Span,
    pub others: Vec<Other>,
    pub hold: u64,
}

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/hugo")
}

pub fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
}

fn read_deploy(path: &Path) -> Vec<(bool, String)> {
    read_lines(path)
        .into_iter()
        .map(|l| match (l.get(..2), l.get(2..)) {
            (Some("C "), Some(k)) => (false, k.to_string()),
            (Some("D "), Some(k)) => (true, k.to_string()),
            _ => fail(&format!("{}: not `C key` or `D key`: {l:?}", path.display())),
        })
        .collect()
}

pub fn fail(msg: &str) -> ! {
    eprintln!("storm: {msg}");
    std::process::exit(2)
}

pub fn s3_notification(key: &str, deleted: bool, sequencer: u64, at: u64) -> String {
    // On the in-memory CloudFront's clock (its `CreateTime` is that many seconds after the epoch),
    // so that S3's and CloudFront's times compare as they do on AWS.
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(at);
    let mut object =
        json!({"key": cf_invalidator::intake::s3::encode_key(key), "sequencer": format!("{sequencer:018X}")});
    if !deleted {
        object["size"] = json!(4521);
        object["eTag"] = json!(format!("{:032x}", sequencer));
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": humantime::format_rfc3339_millis(time).to_string(),
        "eventName": if deleted { "ObjectRemoved:Delete" } else { "ObjectCreated:Put" },
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "cf-invalidator",
               "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")}, "object": object}
    }]})
    .to_string()
}

pub fn config() -> Config {
    deployed_config(None)
}

/// The function's configuration as the template deploys it with this batching window (s) and
/// function timeout: pacing counts with both. `None`: the template's defaults.
pub fn deployed_config(pace: Option<(u64, Duration)>) -> Config {
    Config::from_lookup(|n| match (n, pace) {
        ("DISTRIBUTION_ID", _) => Some(DIST.to_string()),
        ("METRICS_NAMESPACE", _) => Some(String::new()),
        ("BATCHING_WINDOW_SECONDS", Some((window, _))) => Some(window.to_string()),
        ("FUNCTION_TIMEOUT_SECONDS", Some((_, timeout))) => Some(timeout.as_secs().to_string()),
        _ => None,
    })
    .expect("a valid configuration")
}

/// The deploy files: `--deploys`, or the Hugo corpus's 40 in order.
pub fn deploy_files(given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap_or_else(|e| fail(&format!("{}: {e} (give --deploys)", corpus().display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("changes-hugo-") && name.ends_with(".txt")
        })
        .collect();
    v.sort();
    v
}

/// When each of `n` deploys starts (s), in order: every `every` s, at seeded uniform times
/// `within` s, or as a seeded Poisson process.
pub fn starts(n: usize, shape: &Shape, seed: u64) -> Vec<u64> {
    let mut rng = seed;
    let mut starts: Vec<u64> = match (shape.within, shape.poisson) {
        (Some(w), _) => (0..n).map(|_| splitmix64(&mut rng) % w.max(1)).collect(),
        (None, Some(mean)) => {
            let mut t = 0.0_f64;
            (0..n)
                .map(|d| {
                    if d > 0 {
                        // Exponential gaps: -mean × ln(U), U uniform in (0, 1].
                        let u = ((splitmix64(&mut rng) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
                        t += -(mean as f64) * u.ln();
                    }
                    t.round() as u64
                })
                .collect()
        }
        (None, None) => (0..n as u64).map(|d| d * shape.every).collect(),
    };
    starts.sort_unstable();
    starts
}

impl Storm {
    pub fn new(files: &[PathBuf], shape: &Shape, seed: u64) -> Storm {
        let deploys: Vec<_> = files.iter().map(|f| (f.clone(), read_deploy(f))).collect();
        Storm::of(deploys, shape, seed)
    }

    pub fn of(deploys: Vec<(PathBuf, Vec<(bool, String)>)>, shape: &Shape, seed: u64) -> Storm {
        let starts = starts(deploys.len(), shape, seed);
        let index_document = config().planner.index_document;
        let mut uploads = Vec::new();
        let mut sequencer = 0x0062_E99A_88DC_0000_u64;
        for (d, (_, changes)) in deploys.iter().enumerate() {
            for (i, (deleted, key)) in changes.iter().enumerate() {
                sequencer += 1;
                let arrival = starts[d] + i as u64 / shape.upload_rate.max(1);
                let c = planner::covers_of_key(key, index_document.as_deref());
                uploads.push(Upload {
                    key: key.clone(),
                    deleted: *deleted,
                    arrival,
                    body: s3_notification(key, *deleted, sequencer, arrival),
                    covers: (0..c.len()).map(|i| (c.text(i).to_string(), c.is_wildcard(i))).collect(),
                });
            }
        }
        Storm {
            deploys,
            uploads,
            // A hold delays everything by its length: the horizon grows by as much.
            horizon: (shape.hours * 3600.0) as u64 + shape.hold,
            span: shape.span,
            seed,
            others: shape.others.clone(),
            hold: shape.hold,
        }
    }
}

/// The site's keys by the viewer paths the corpus scorer uses (`/` + RFC 3986 encoding, plus
/// `/dir/` for `dir/index.html`), to count what an invalidation's paths match.
pub struct Site {
    pub keys: Vec<String>,
    by_path: HashMap<String, Vec<usize>>,
    sorted: Vec<(String, usize)>,
}

impl Site {
    pub fn new(keys: Vec<String>) -> Site {
        let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
        let mut sorted = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let p = py_quote(&format!("/{k}"));
            by_path.entry(p.clone()).or_default().push(i);
            if k == "index.html" || k.ends_with("/index.html") {
                by_path.entry(py_quote(&format!("/{}", &k[..k.len() - "index.html".len()]))).or_default().push(i);
            }
            sorted.push((p, i));
        }
        sorted.sort();
        Site { keys, by_path, sorted }
    }

    /// The listed keys some path matches.
    pub fn matching(&self, paths: &[String]) -> HashSet<usize> {
        let mut hit = HashSet::new();
        for p in paths {
            match p.strip_suffix('*') {
                Some(prefix) => {
                    let from = self.sorted.partition_point(|(s, _)| s.as_str() < prefix);
                    hit.extend(self.sorted[from..].iter().take_while(|(s, _)| s.starts_with(prefix)).map(|(_, i)| *i));
                }
                None => hit.extend(self.by_path.get(p).into_iter().flatten().copied()),
            }
        }
        hit
    }
}

/// Python's `urllib.parse.quote(s, safe='/')`: everything but `A-Z a-z 0-9 _ . - ~ /` as `%XX`.
pub fn py_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule: ITEMS is a comma-separated list of paths or `exactN`; EVERY is whole seconds ≥ 1; one
    /// invalidation holds at most 3,000 paths.
    #[test]
    fn other_tools_are_parsed_as_the_readme_writes_them() {
        let o: Other = "120:/other/*".parse().unwrap();
        assert_eq!(o, Other { every: 120, items: vec![Item::Path("/other/*".into())] });
        let o: Other = "30:exact100, /*".parse().unwrap();
        assert_eq!(o.items, vec![Item::Exact(100), Item::Path("/*".into())]);
        let paths = o.paths(2);
        assert_eq!(paths.len(), 101);
        assert_eq!(paths.iter().collect::<HashSet<_>>().len(), 101, "exactN paths are distinct");
        assert!(paths[..100].iter().all(|p| p.starts_with("/other-tool-2/") && !p.ends_with('*')));
        assert!(o.due(0) && o.due(60) && !o.due(45));
        assert_eq!(o.to_string(), "30:exact100,/*");
        for bad in ["120", "0:/*", "x:/*", "120:other/*", "120:exact0", "120:exact3001", "120:/a*b", "120:"] {
            assert!(bad.parse::<Other>().is_err(), "{bad:?} is refused");
        }
    }

    /// Rule: the completion time depends on the seed, the creator and the creator's ordinal, and
    /// on nothing else (not when the invalidation is created); it stays within the span.
    #[test]
    fn completion_is_a_function_of_seed_creator_and_ordinal() {
        let span = Span { min: 300, max: 900 };
        let a = completion(span, 1, SELF, 3);
        assert_eq!(a, completion(span, 1, SELF, 3));
        let draws: HashSet<u64> = (0..50).map(|o| completion(span, 1, SELF, o)).collect();
        assert!(draws.len() > 10 && draws.iter().all(|d| (300..=900).contains(d)));
        assert_ne!(
            (0..20).map(|o| completion(span, 1, SELF, o)).collect::<Vec<_>>(),
            (0..20).map(|o| completion(span, 1, 1, o)).collect::<Vec<_>>(),
            "creators draw apart"
        );
        assert_eq!(completion(Span { min: 2400, max: 2400 }, 7, 3, 1), 2400);
    }
}
