//! `cfinv invalidate` end to end: the built binary against the moto stand-in (CloudFront's
//! statuses, CallerReference rules and faults, see `support/moto_aws.py`). Keys from arguments, a
//! file and `aws s3 sync` output become the planned paths, read back from the stand-in; `--wait`
//! ends with exit 0 on `Completed` and 3 on `--timeout`, one plain line per poll when standard
//! error is not a terminal; a re-run creates nothing new; a full in-progress quota is waited for.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_cloudfront::types::{InvalidationBatch, Paths};
use cf_invalidator::model::{Change, ChangeKind};
use cf_invalidator::planner::{self, Routing};
use cf_invalidator::Config;
use serde_json::{json, Value};

use crate::venv::Moto;

fn command(moto: &Moto, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.arg("invalidate").args(args).env("DISTRIBUTION_ID", &moto.distributions[0]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn cfinv(moto: &Moto, env: &[(&str, &str)], args: &[&str], stdin: &str) -> crate::cli::CliOut {
    crate::cli::run_cfinv(command(moto, env, args), stdin)
}

/// The paths CloudFront holds for an invalidation (GetInvalidation).
async fn paths_of(moto: &Moto, distribution_id: &str, id: &str) -> Vec<String> {
    let out = moto.sdk().get_invalidation().distribution_id(distribution_id).id(id).send().await.unwrap();
    let mut paths = out.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default();
    paths.sort();
    paths
}

/// What the Lambda's planner makes of the same keys with the same configuration.
fn planned(vars: &[(&str, &str)], keys: &[(Option<&str>, &str)]) -> Vec<Vec<String>> {
    let cfg = Config::from_pairs(vars).unwrap();
    let changes: Vec<Change> = keys
        .iter()
        .map(|(b, k)| Change {
            message: 0,
            bucket: b.map(Into::into),
            key: k.to_string(),
            kind: ChangeKind::Created,
            version: None,
            time: None,
        })
        .collect();
    let plans = planner::plan(&changes, &cfg.planner, Routing::Keys { distribution_id: None }).unwrap().plans;
    plans.into_iter().map(|p| p.paths).collect()
}

fn calls(moto: &Moto, op: &str) -> usize {
    moto.calls().iter().filter(|c| *c == op).count()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn keys_as_arguments_become_the_planned_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let out = cfinv(&moto, &[], &["--json", "docs/index.html", "css/main.css", "s3://www/img/a b.png"], "");
    assert_eq!(out.code, 0);
    let doc = out.json();
    assert_eq!(doc["outcome"], "submitted");
    let inv = &doc["invalidations"][0];
    let id = inv["invalidation_id"].as_str().unwrap();
    let held = paths_of(&moto, &d, id).await;
    let want = planned(
        &[("DISTRIBUTION_ID", &d)],
        &[(None, "docs/index.html"), (None, "css/main.css"), (Some("www"), "img/a b.png")],
    );
    assert_eq!(vec![held.clone()], want, "the Lambda's planner's paths");
    assert_eq!(held, strs(&["/css/main.css", "/docs", "/docs/", "/docs/index.html", "/img/a*"]));
    assert_eq!(inv["path_count"], 5);
    assert_eq!(inv["wildcards"], 1);
    assert_eq!(inv["estimated_cost_usd"], json!(0.025));
    assert!(inv["caller_reference"].as_str().unwrap().starts_with("cfinv-"));
    assert_eq!(moto.invalidation_ids(&d).await, [id]);
}

/// Rule (CloudFront: an item `#tag` invalidates every object with that cache
/// tag): `TAGS` adds its tags to the request of a matching key, and they reach CloudFront
/// through the real SDK beside the paths, one spelling each (tags are case-insensitive).
#[tokio::test]
async fn tags_reach_cloudfront_beside_the_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let tags = r##"{"*.css":"#Styles","docs/**":["#docs","#styles"]}"##;
    let out = cfinv(&moto, &[("TAGS", tags)], &["--json", "x.css", "docs/a.html"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let inv = &out.json()["invalidations"][0];
    let held = paths_of(&moto, &d, inv["invalidation_id"].as_str().unwrap()).await;
    assert_eq!(held, strs(&["#docs", "#styles", "/docs/a.html", "/x.css"]));
    assert_eq!(inv["path_count"], 4, "each tag is billed like a path");
    let mut want = planned(&[("DISTRIBUTION_ID", &d), ("TAGS", tags)], &[(None, "x.css"), (None, "docs/a.html")]);
    want.iter_mut().for_each(|p| p.sort());
    assert_eq!(vec![held], want, "the Lambda's planner's items");
}

#[tokio::test]
async fn keys_from_a_file_become_the_planned_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let file = std::env::temp_dir().join(format!("cfinv-keys-{}.txt", std::process::id()));
    std::fs::write(&file, "blog/index.html\nblog/post.html\r\n\nfeed.xml\n").unwrap();
    let out = cfinv(&moto, &[("ORIGIN_PATH", "/site")], &["--from", file.to_str().unwrap()], "");
    // Keys outside the origin path are refused by name (exit 1) rather than skipped.
    assert_eq!(out.code, 1, "keys not under ORIGIN_PATH");
    assert!(out.stderr.contains("InvalidInput") && out.stderr.contains("origin path /site"), "{}", out.stderr);
    assert!(moto.invalidation_ids(&d).await.is_empty());

    let out = cfinv(&moto, &[], &["--from", file.to_str().unwrap()], "");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.code, 0);
    let line = out.stdout.lines().next().unwrap();
    assert!(line.starts_with("created "), "{line}");
    assert!(line.contains(" 5 path(s), 0 wildcard(s), InProgress, est. $0.025"), "{line}");
    let id = line.split_whitespace().nth(1).unwrap();
    assert_eq!(
        paths_of(&moto, &d, id).await,
        strs(&["/blog", "/blog/", "/blog/index.html", "/blog/post.html", "/feed.xml"])
    );
}

/// `aws s3 sync` output on standard input: the destinations of uploads, copies and moves, and
/// deletions; each bucket routed by ROUTES to its own distribution; other lines ignored.
#[tokio::test]
async fn aws_s3_sync_output_on_stdin_is_routed_by_bucket() {
    let moto = Moto::start(&["--distributions", "2", "--complete-after", "-1"]);
    let (d1, d2) = (moto.distributions[0].clone(), moto.distributions[1].clone());
    let routes = json!([
        {"bucket": "site-a", "prefix": "", "distributions": [d1]},
        {"bucket": "site-b", "prefix": "", "distributions": [d2]},
    ])
    .to_string();
    let sync = "Completed 1.1 KiB/4.2 KiB (2.0 KiB/s) with 4 file(s) remaining\r\
upload: public/index.html to s3://site-a/index.html\n\
Completed 2.2 KiB/4.2 KiB (2.0 KiB/s) with 3 file(s) remaining\rupload: public/docs/index.html to s3://site-a/docs/index.html\n\
download: s3://site-a/robots.txt to public/robots.txt\n\
copy: s3://staging/app.3f2a.js to s3://site-b/app.3f2a.js\n\
delete: s3://site-b/old.css\n\
warning: Skipping file /src/public/broken-link. File does not exist.\n";
    let out = cfinv(&moto, &[("ROUTES", &routes), ("DISTRIBUTION_ID", "")], &["--from", "-", "--json"], sync);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("read 4 change(s) from aws s3 sync output; ignored 4 other line(s)"), "{}", out.stderr);
    let doc = out.json();
    let invs = doc["invalidations"].as_array().unwrap();
    assert_eq!(invs.len(), 2, "one invalidation per distribution");
    let mut by_dist = std::collections::BTreeMap::new();
    for inv in invs {
        let d = inv["distribution_id"].as_str().unwrap().to_string();
        let paths = paths_of(&moto, &d, inv["invalidation_id"].as_str().unwrap()).await;
        by_dist.insert(d, paths);
    }
    assert_eq!(by_dist[&d1], strs(&["/", "/docs", "/docs/", "/docs/index.html", "/index.html"]));
    assert_eq!(by_dist[&d2], strs(&["/app.3f2a.js", "/old.css"]));
    assert_eq!(doc["estimated_cost_usd"], json!(0.035));
}

/// What a real `aws s3 sync site/ s3://my-site/ > sync.log` wrote (captured with awscli v1 by
/// scripts/capture-s3-sync.sh; CI runners have v2, whose transfer lines are assumed the same):
/// progress lines ending in `\r`, transfer lines padded with spaces. `--from sync.log` plans the
/// keys without the padding, so the home page `/` and the folder `/dir/` are invalidated (kept,
/// the padding would make `index.html␠␠␠` `/index.html*`, and no `/`).
#[tokio::test]
async fn real_aws_s3_sync_output_from_a_file_invalidates_the_home_page() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let log = crate::support::repo().join("cfinv/tests/fixtures/aws-s3/sync-upload.txt");
    let out = cfinv(&moto, &[], &["--from", log.to_str().unwrap(), "--json"], "");
    assert_eq!(out.code, 0);
    assert!(
        out.stderr.contains("read 7 change(s) from aws s3 sync output; ignored 13 other line(s)"),
        "{}",
        out.stderr
    );
    let doc = out.json();
    let invs = doc["invalidations"].as_array().unwrap();
    assert_eq!(invs.len(), 1);
    let paths = paths_of(&moto, &d, invs[0]["invalidation_id"].as_str().unwrap()).await;
    for want in ["/", "/index.html", "/dir", "/dir/", "/dir/index.html"] {
        assert!(paths.iter().any(|p| p == want), "{want} not in {paths:?}");
    }
    let keys = [
        "app.js",
        "docs/a b.html",
        "old.html",
        "docs/x to y.html",
        "docs/ends in space ",
        "dir/index.html",
        "index.html",
    ];
    let keys: Vec<_> = keys.iter().map(|k| (Some("my-site"), *k)).collect();
    let mut want = planned(&[("DISTRIBUTION_ID", &d)], &keys).concat();
    want.sort();
    assert_eq!(paths, want, "the keys of the log, planned as the Lambda plans them");
}

/// An `aws s3 sync` that changed nothing: nothing to invalidate, exit 0, no CloudFront call.
#[tokio::test]
async fn a_sync_that_changed_nothing_needs_no_invalidation() {
    let moto = Moto::start(&[]);
    let out = cfinv(&moto, &[], &["--from", "-", "--s3-sync"], "");
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("nothing to invalidate"), "{}", out.stderr);
    let out = cfinv(&moto, &[("EXCLUDE", "*.map")], &["app.js.map"], "");
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("skipped 1 key(s): matched by EXCLUDE"), "{}", out.stderr);
    assert!(moto.calls().is_empty(), "{:?}", moto.calls());
}

/// `--wait` polls GetInvalidation every `--interval` seconds and exits 0 once it is
/// `Completed` (the stand-in completes it on the third read); standard error, not a terminal
/// here, gets exactly one line per poll.
#[tokio::test]
async fn wait_exits_0_once_completed_with_one_line_per_poll() {
    let moto = Moto::start(&["--complete-after", "2"]);
    let out = cfinv(&moto, &[], &["--wait", "--interval", "1", "index.html"], "");
    assert_eq!(out.code, 0);
    let polls = out.poll_lines();
    assert_eq!(polls.len(), calls(&moto, "GetInvalidation"), "one line per poll:\n{}", out.stderr);
    assert_eq!(polls.len(), 3);
    assert!(polls[..2].iter().all(|l| l.contains(" InProgress (2 path(s))")), "{polls:?}");
    assert!(polls[2].contains(" Completed (2 path(s))"), "{polls:?}");
    assert!(out.took >= Duration::from_secs(2) && out.took < Duration::from_secs(20), "{:?}", out.took);
    assert!(out.stdout.lines().last().unwrap().starts_with("Completed "), "{}", out.stdout);
}

/// An invalidation that never completes: `--timeout 60` ends the wait with exit status 3 after
/// about a minute, one line per poll (every 5 s), and says that a re-run waits for it.
#[tokio::test]
async fn a_wait_past_the_timeout_exits_3() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let out = cfinv(&moto, &[], &["--wait", "--timeout", "60", "--interval", "5", "--json", "slow.html"], "");
    assert_eq!(out.code, 3, "the timeout's own exit status");
    assert!(out.took >= Duration::from_secs(60) && out.took < Duration::from_secs(90), "{:?}", out.took);
    let polls = out.poll_lines();
    assert_eq!(polls.len(), calls(&moto, "GetInvalidation"));
    assert!((12..=14).contains(&polls.len()), "a poll every 5 s for 60 s: {}", polls.len());
    assert!(out.stderr.contains("timed out after 1m0"), "{}", out.stderr);
    assert!(out.stderr.contains("run the same command again to wait for it"), "{}", out.stderr);
    assert_eq!(out.json()["outcome"], "timed_out");
    assert_eq!(out.json()["invalidations"][0]["status"], "InProgress");
}

/// A deploy script run twice: the second run finds the first run's invalidation (in progress)
/// instead of creating another. With --caller-reference, the same deploy id is the same
/// invalidation, a new id a new one.
#[tokio::test]
async fn the_same_command_twice_creates_one_invalidation() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let keys = ["index.html", "docs/a.html"];
    let first = cfinv(&moto, &[], &keys, "");
    let again = cfinv(&moto, &[], &keys, "");
    assert_eq!((first.code, again.code), (0, 0));
    assert!(again.stdout.starts_with("found "), "{}", again.stdout);
    assert!(again.stdout.contains("nothing new created"), "{}", again.stdout);
    let id = first.stdout.split_whitespace().nth(1).unwrap();
    assert_eq!(again.stdout.split_whitespace().nth(1).unwrap(), id);
    assert_eq!(moto.invalidation_ids(&d).await.len(), 1);
    // Other keys are another invalidation.
    assert_eq!(cfinv(&moto, &[], &["other.html"], "").code, 0);
    assert_eq!(moto.invalidation_ids(&d).await.len(), 2);

    for _ in 0..2 {
        assert_eq!(cfinv(&moto, &[], &["--caller-reference", "deploy-41", "index.html"], "").code, 0);
    }
    assert_eq!(moto.invalidation_ids(&d).await.len(), 3, "deploy-41 twice: one invalidation");
    assert_eq!(cfinv(&moto, &[], &["--caller-reference", "deploy-42", "index.html"], "").code, 0);
    assert_eq!(moto.invalidation_ids(&d).await.len(), 4, "a new deploy id: a new invalidation");
}

/// The same keys deployed again once the first invalidation has completed must be invalidated
/// again: a key list alone is no version.
#[tokio::test]
async fn the_same_keys_after_completion_are_invalidated_again() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let first = cfinv(&moto, &[], &["index.html"], "");
    assert_eq!(first.code, 0);
    moto.control("POST", "/_cfstub/config", &json!({"complete_after_reads": 0}));
    let id = first.stdout.split_whitespace().nth(1).unwrap().to_string();
    paths_of(&moto, &d, &id).await; // read: now Completed
    moto.control("POST", "/_cfstub/config", &json!({"complete_after_reads": -1}));
    let next = cfinv(&moto, &[], &["index.html"], "");
    assert_eq!(next.code, 0);
    assert!(next.stdout.starts_with("created "), "{}", next.stdout);
    assert_eq!(moto.invalidation_ids(&d).await.len(), 2);
}

/// CloudFront answers TooManyInvalidationsInProgress to the create and to each of the submit
/// step's new looks at the room: cfinv says why it waits, looks again after --interval, and
/// succeeds.
#[tokio::test]
async fn too_many_invalidations_in_progress_is_waited_out() {
    let moto = Moto::start(&["--complete-after", "1"]);
    let d = moto.distributions[0].clone();
    let refusals = cf_invalidator::submit::LOOKS_IN_AN_UNCHANGED_ROOM;
    let fault = json!({"op": "CreateInvalidation", "status": 400, "code": "TooManyInvalidationsInProgress",
        "message": "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations."});
    moto.inject(Value::Array(vec![fault; refusals]));
    let out = cfinv(&moto, &[], &["--wait", "--interval", "1", "index.html"], "");
    assert_eq!(out.code, 0);
    let waits: Vec<&str> = out.stderr.lines().filter(|l| l.contains("waiting for room")).collect();
    assert_eq!(waits.len(), 1, "{}", out.stderr);
    assert!(waits[0].contains("CloudFront answered TooManyInvalidationsInProgress"), "{}", waits[0]);
    assert!(waits[0].contains("next look in 1s"), "{}", waits[0]);
    assert_eq!(calls(&moto, "CreateInvalidation"), refusals + 1, "refused at every look, then created");
    assert_eq!(moto.invalidation_ids(&d).await.len(), 1);
}

fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("cfinv: {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

async fn create(moto: &Moto, d: &str, reference: &str, paths: Vec<String>) -> String {
    let batch = InvalidationBatch::builder()
        .caller_reference(reference)
        .paths(Paths::builder().quantity(paths.len() as i32).set_items(Some(paths)).build().unwrap())
        .build()
        .unwrap();
    let out = moto.sdk().create_invalidation().distribution_id(d).invalidation_batch(batch).send().await.unwrap();
    out.invalidation.unwrap().id
}

/// Both in-progress quotas of one distribution full (3,000 exact paths and 15 wildcards in
/// progress): its plan fits no room, so cfinv sends nothing CloudFront could only refuse, says
/// why it waits, and creates the invalidation once the others complete; the other distribution
/// the keys route to does not wait for it.
#[tokio::test]
async fn a_full_quota_is_waited_for_without_sending() {
    let moto = Moto::start(&["--distributions", "2", "--complete-after", "-1"]);
    let (full, free) = (moto.distributions[0].clone(), moto.distributions[1].clone());
    let exact = create(&moto, &full, "full-exact", (0..3000).map(|i| format!("/b/{i}.html")).collect()).await;
    let wild = create(&moto, &full, "full-wild", (0..15).map(|i| format!("/w{i}/*")).collect()).await;
    let routes = json!([
        {"prefix": "news/", "distributions": [full]},
        {"prefix": "", "distributions": [free]},
    ])
    .to_string();
    let env = [("ROUTES", routes.as_str()), ("DISTRIBUTION_ID", "")];
    let args = ["--interval", "1", "--timeout", "120", "--json", "news/index.html", "about.html"];
    let mut child =
        command(&moto, &env, &args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let lines = stderr_lines(&mut child);
    let mut waits = 0;
    while waits < 2 {
        let line = lines.recv_timeout(Duration::from_secs(60)).expect("cfinv says it waits for room");
        if line.contains("waiting for room") {
            assert!(
                line.contains(&format!(
                    "no room on {full}: 0 exact and 0 wildcard path(s) free, 2 invalidation(s) in progress"
                )),
                "{line}"
            );
            waits += 1;
        }
    }
    assert_eq!(calls(&moto, "CreateInvalidation"), 3, "the blockers and the free distribution's; none refused");
    assert_eq!(moto.invalidation_ids(&free).await.len(), 1, "created while the other waits");
    // The two complete (the stand-in completes an invalidation on its next read).
    moto.control("POST", "/_cfstub/config", &json!({"complete_after_reads": 0}));
    paths_of(&moto, &full, &exact).await;
    paths_of(&moto, &full, &wild).await;
    moto.control("POST", "/_cfstub/config", &json!({"complete_after_reads": -1}));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let invs = doc["invalidations"].as_array().unwrap();
    assert_eq!(invs.len(), 2);
    let on_full = invs.iter().find(|i| i["distribution_id"] == full.as_str()).unwrap();
    let id = on_full["invalidation_id"].as_str().unwrap();
    assert_eq!(paths_of(&moto, &full, id).await, strs(&["/news", "/news/", "/news/index.html"]));
    assert_eq!(calls(&moto, "CreateInvalidation"), 4);
}

/// Usage errors exit 2; the help documents the exit codes and gives an example.
#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let bin = crate::support::cfinv();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(bin);
        for v in crate::cli::CONFIG_VARS {
            cmd.env_remove(v);
        }
        let out = cmd.args(args).env("DISTRIBUTION_ID", "E1").stdin(Stdio::null()).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    for args in [
        &["invalidate", "--timeout", "59", "a"][..],
        &["invalidate", "--timeout", "3601", "a"],
        &["invalidate", "--interval", "0", "a"],
        &["invalidate"],
        &["invalidate", "--distribution-id", "e-1", "a"],
        &["invalidate", "--from", "/nonexistent/keys.txt"],
        &["invalidate", "--s3-sync", "a"],
    ] {
        let (code, text) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
    }
    let (code, help) = run(&["invalidate", "--help"]);
    assert_eq!(code, Some(0));
    for want in [
        "Exit status:",
        "0  every invalidation created (with --wait: Completed)",
        "1  error",
        "2  usage",
        "3  timed out",
        "130 interrupted (Ctrl-C)",
        "INCLUDE, EXCLUDE, TAGS)",
        "cfinv invalidate --distribution-id EDFDVBD632BHDS5 --from sync.log",
        "--timeout <SECONDS>",
        "[default: 900]",
        "[default: 30]",
    ] {
        assert!(help.contains(want), "`cfinv invalidate --help` lacks {want:?}:\n{help}");
    }
    let (_, top) = run(&["--help"]);
    assert!(top.contains("invalidate") && top.contains("3 timed out"), "{top}");
}

/// Rule: Ctrl-C, and SIGTERM (what CI runners send on cancel), while waiting end the run with
/// exit 130 and 143 and say which invalidations were created so far (CloudFront goes on with
/// them); `--json` still prints its document, whose estimated cost is never `-0.0`.
#[tokio::test]
async fn ctrl_c_and_sigterm_report_what_was_created() {
    for (signal, code, said, outcome) in
        [("-INT", 130, "interrupted after", "interrupted"), ("-TERM", 143, "terminated (SIGTERM) after", "terminated")]
    {
        let moto = Moto::start(&["--complete-after", "-1"]);
        let mut child = command(&moto, &[], &["--wait", "--interval", "1", "--json", "index.html"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cfinv");
        let lines = stderr_lines(&mut child);
        // The first poll line: the invalidation exists and is being waited for.
        let first = lines.recv_timeout(Duration::from_secs(60)).expect("cfinv polls");
        assert!(first.starts_with("cfinv: ["), "{first}");
        let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{signal}");
        let lines: Vec<String> = lines.iter().collect();
        let id = &moto.invalidation_ids(&moto.distributions[0]).await[0];
        assert!(lines.iter().any(|l| l.contains(said) && l.contains(id.as_str())), "{signal}: {lines:?}");
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["outcome"], outcome);
        assert_eq!(doc["invalidations"][0]["invalidation_id"], id.as_str());
    }
    let moto = Moto::start(&["--complete-after", "-1"]);

    // Nothing created: zero, not -0.0.
    let none = cfinv(&moto, &[("EXCLUDE", "*.html")], &["--json", "index.html"], "");
    assert_eq!(none.code, 0);
    assert!(none.stdout.contains("\"estimated_cost_usd\": 0.0"), "{}", none.stdout);
}
