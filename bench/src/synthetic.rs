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
