//! Realistic workloads shared by the benchmark, `gen_events` and the comparison test: a site tree
//! of pretty-URL pages, fingerprinted assets and images, and the largest SQS batch Lambda delivers.
//! Deterministic (a fixed linear congruential generator), so runs compare.

pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

const SECTIONS: &[&str] =
    &["docs", "blog", "news", "guides", "reference", "products", "about", "fr/docs", "de/docs", "ja/docs"];
const WORDS: &[&str] = &[
    "getting-started",
    "install",
    "configuration",
    "templates",
    "functions",
    "content",
    "hosting",
    "deploy",
    "images",
    "release",
    "notes",
    "api",
    "cli",
    "faq",
    "security",
    "performance",
    "modules",
    "themes",
];

/// `n` keys of a realistic site: mostly `section/a/b/page/index.html`, some fingerprinted assets,
/// images, feeds and downloads, and one in 250 awkward (space, `~`, `@`, non-ASCII).
pub fn site_keys(n: usize) -> Vec<String> {
    let mut r = Lcg::new(42);
    let mut keys = Vec::with_capacity(n);
    let mut i = 0u64;
    while keys.len() < n {
        i += 1;
        let sec = SECTIONS[r.below(SECTIONS.len() as u64) as usize];
        let w1 = WORDS[r.below(WORDS.len() as u64) as usize];
        let w2 = WORDS[r.below(WORDS.len() as u64) as usize];
        let k = match r.below(1000) {
            0..=49 => format!("assets/js/app.{:012x}.js", r.next_u64()),
            50..=99 => format!("assets/css/site.{:012x}.css", r.next_u64()),
            100..=199 => format!("images/{sec}/{w1}-{i}.png"),
            200..=249 => format!("{sec}/{w1}/{w2}-{i}/index.xml"),
            250..=299 => format!("downloads/{w1}/{w2}-{i}.pdf"),
            // A few awkward names: a space, a tilde, reserved characters, non-ASCII.
            300 => format!("downloads/{w1}/{w2} {i}.pdf"),
            301 => format!("assets/js/runtime~main.{:08x}.js", r.next_u64()),
            302 => format!("images/{sec}/{w1}@2x-{i}.png"),
            303 => format!("{sec}/{w1}/café-{i}/index.html"),
            _ => format!("{sec}/{w1}/{w2}-{i}/index.html"),
        };
        keys.push(k);
    }
    keys
}

/// An SQS batch of `messages` S3 notifications, each a realistic record of the keys from
/// [`site_keys`]. At 10,000 messages it is close to Lambda's 6 MB payload limit.
pub fn sqs_batch(messages: usize) -> String {
    let keys = site_keys(messages);
    let mut out = String::with_capacity(messages * 620);
    out.push_str("{\"Records\":[");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let body = format!(
            "{{\"Records\":[{{\"eventSource\":\"aws:s3\",\"eventTime\":\"2024-05-14T09:21:03.512Z\",\
             \"eventName\":\"ObjectCreated:Put\",\"s3\":{{\"bucket\":{{\"name\":\"www-example\"}},\
             \"object\":{{\"key\":\"{}\",\"size\":4521,\"eTag\":\"d41d8cd98f00b204e9800998ecf8427e\",\"sequencer\":\"0062E99A88DC{:06X}\"}}}}}}]}}",
            cf_invalidator::intake::s3::encode_key(key),
            i
        );
        let body = serde_json::to_string(&body).unwrap();
        out.push_str(&format!(
            "{{\"messageId\":\"4f0c5e7a-1b2c-4d3e-9f10-{i:012}\",\"receiptHandle\":\"AQEBwJnKy{i:08}\",\
             \"body\":{body},\"attributes\":{{}},\"messageAttributes\":{{}},\
             \"eventSource\":\"aws:sqs\",\"eventSourceARN\":\"arn:aws:sqs:us-east-1:123456789012:q\"}}"
        ));
    }
    out.push_str("]}");
    out
}

/// A seeded site and its deploys, for the storm simulator's `--synthetic KEYS:CHANGES[:DEPLOYS]`:
/// the shapes of the Hugo corpus (pretty-URL pages `section/…/slug/index.html` nested up to four
/// levels, each section's `index.html`, `index.xml` and `page/N/` listings, the root's
/// `index.html`, `index.xml`, `sitemap.xml`, tag pages, fingerprinted assets, images, downloads,
/// one key in 250 awkward), at any size.
pub struct SyntheticSite {
    /// Every key the bucket holds at the end (the first listing and the assets deploys add).
    pub keys: Vec<String>,
    /// Each deploy's changes in upload order: (deleted, key).
    pub deploys: Vec<Vec<(bool, String)>>,
}

/// `keys` keys and `deploys` deploys of `changes` changes each (at most the site's size), a
/// function of `seed` only. A deploy rebuilds one to three sections (most of its changes fall
/// under them, with their listing pages), touches pages anywhere, rewrites the root's index,
/// feed and sitemap, and replaces fingerprinted assets (the old key deleted, a new one created).
pub fn synthetic_site(seed: u64, keys: usize, changes: usize, deploys: usize) -> SyntheticSite {
    let mut r = Lcg::new(seed ^ 0x005E_ED0F_517E);
    r.next_u64();
    let mut site: Vec<String> =
        ["index.html", "index.xml", "sitemap.xml", "404.html", "robots.txt"].iter().map(|k| k.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = site.iter().cloned().collect();
    // Section listings first (each section's index, feed and a few pagination pages).
    for sec in SECTIONS {
        for k in [format!("{sec}/index.html"), format!("{sec}/index.xml")] {
            if seen.insert(k.clone()) {
                site.push(k);
            }
        }
    }
    let mut assets: Vec<usize> = Vec::new();
    let mut i = 0_u64;
    while site.len() < keys.max(site.len()) {
        i += 1;
        let sec = SECTIONS[r.below(SECTIONS.len() as u64) as usize];
        let w = |r: &mut Lcg| WORDS[r.below(WORDS.len() as u64) as usize];
        let (w1, w2, w3) = (w(&mut r), w(&mut r), w(&mut r));
        let k = match r.below(1000) {
            0..=29 => format!("assets/js/app.{:012x}.js", r.next_u64()),
            30..=59 => format!("assets/css/site.{:012x}.css", r.next_u64()),
            60..=159 => format!("images/{sec}/{w1}-{i}.png"),
            160..=189 => format!("{sec}/{w1}/index.html"),
            190..=209 => format!("{sec}/page/{}/index.html", 2 + i % 40),
            210..=229 => format!("tags/{w1}-{}/index.html", i % 500),
            230..=259 => format!("{sec}/{w1}/{w2}-{i}/index.xml"),
            260..=279 => format!("downloads/{w1}/{w2}-{i}.pdf"),
            280 => format!("downloads/{w1}/{w2} {i}.pdf"),
            281 => format!("assets/js/runtime~main.{:08x}.js", r.next_u64()),
            282 => format!("images/{sec}/{w1}@2x-{i}.png"),
            283 => format!("{sec}/{w1}/café-{i}/index.html"),
            284..=599 => format!("{sec}/{w1}/{w2}/{w3}-{i}/index.html"),
            _ => format!("{sec}/{w1}/{w2}-{i}/index.html"),
        };
        if seen.insert(k.clone()) {
            if k.starts_with("assets/") {
                assets.push(site.len());
            }
            site.push(k);
        }
    }
    // Keys by section (the top folder, or `fr/docs`-like for the translated ones).
    let section_of = |k: &str| SECTIONS.iter().position(|s| k.starts_with(&format!("{s}/")));
    let mut by_section: Vec<Vec<usize>> = vec![Vec::new(); SECTIONS.len()];
    for (n, k) in site.iter().enumerate() {
        if let Some(s) = section_of(k) {
            by_section[s].push(n);
        }
    }
    let listing = site.len();
    let mut out = Vec::with_capacity(deploys);
    for _ in 0..deploys {
        let want = changes.min(listing).max(1);
        let mut taken: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut deploy: Vec<(bool, String)> = Vec::with_capacity(want + 8);
        for (root, key) in site.iter().enumerate().take(3) {
            if deploy.len() < want && taken.insert(root) {
                deploy.push((false, key.clone()));
            }
        }
        // Fingerprinted assets replaced: the new bundle created, the old one deleted.
        for _ in 0..(1 + r.below(3)).min(want as u64 / 4) {
            if assets.is_empty() {
                break;
            }
            let old = assets[r.below(assets.len() as u64) as usize];
            let ext = if site[old].ends_with(".css") { "css/site" } else { "js/app" };
            let new = format!("assets/{ext}.{:012x}.{}", r.next_u64(), &ext[..ext.find('/').unwrap()]);
            deploy.push((false, new.clone()));
            deploy.push((true, site[old].clone()));
            site.push(new);
        }
        let hot: Vec<usize> = (0..1 + r.below(3)).map(|_| r.below(SECTIONS.len() as u64) as usize).collect();
        let mut tries = 0;
        while deploy.len() < want && tries < want * 20 {
            tries += 1;
            let pick = if r.below(4) < 3 {
                let s = &by_section[hot[r.below(hot.len() as u64) as usize]];
                if s.is_empty() {
                    continue;
                }
                s[r.below(s.len() as u64) as usize]
            } else {
                r.below(listing as u64) as usize
            };
            if taken.insert(pick) {
                // One page in a hundred is removed rather than rewritten.
                deploy.push((r.below(100) == 0 && !site[pick].ends_with("index.xml"), site[pick].clone()));
            }
        }
        out.push(deploy);
    }
    SyntheticSite { keys: site, deploys: out }
}
