//! What people type and paste into `cfinv`, through the built binary on the moto stand-in:
//! CloudFront paths as the AWS CLI and Terraform take them, the real AWS CLI's padded output of a
//! `sync --delete`, a refused ListInvalidations, missing and process-given credentials, the one
//! error contract of every subcommand, and previews that create nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::cli::CliOut;
use crate::venv::Moto;

/// `cfinv ARGS` on the stand-in, DISTRIBUTION_ID its first distribution, `env` added.
fn cfinv(moto: &Moto, env: &[(&str, &str)], args: &[&str], stdin: &str) -> CliOut {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.args(args).env("DISTRIBUTION_ID", &moto.distributions[0]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    crate::cli::run_cfinv(cmd, stdin)
}

/// What the real AWS CLI printed (scripts/capture-s3-sync.sh).
fn fixture(name: &str) -> PathBuf {
    crate::support::repo().join("cfinv/tests/fixtures/aws-s3").join(name)
}

/// Every path CloudFront holds for the distribution, over all its invalidations, sorted.
async fn all_paths(moto: &Moto, d: &str) -> Vec<String> {
    let mut all = Vec::new();
    for id in moto.invalidation_ids(d).await {
        let out = moto.sdk().get_invalidation().distribution_id(d).id(&id).send().await.unwrap();
        all.extend(out.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default());
    }
    all.sort();
    all
}

/// A temporary directory of one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("cfinv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Rule: an argument or `--from` line starting with `/` is a CloudFront path as the AWS CLI and
/// Terraform take them: refused with both ways named (never `//index.html`), nothing created;
/// `--paths` sends them as they are, under the explicit request's rules; `--keys-only` reaches a key
/// that really starts with `/`.
#[tokio::test]
async fn cloudfront_paths_are_refused_as_keys_and_taken_by_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let tmp = TempDir::new("paths");
    let from = tmp.write("keys.txt", "about.html\n/about.html\n");
    for args in [&["invalidate", "/index.html", "/docs/*"][..], &["invalidate", "--from", from.to_str().unwrap()]] {
        let out = cfinv(&moto, &[], args, "");
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains("starts with '/'"), "{}", out.stderr);
        assert!(out.stderr.contains("--paths /") && out.stderr.contains("--keys-only"), "{}", out.stderr);
    }
    assert!(moto.invalidation_ids(&d).await.is_empty(), "nothing created");

    let out = cfinv(&moto, &[], &["invalidate", "--json", "--paths", "/index.html", "/docs/*"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(all_paths(&moto, &d).await, ["/docs/*", "/index.html"]);
    // The explicit request's rules: a path must be encoded, and start with '/'.
    for bad in ["/a b.html", "docs/*"] {
        let out = cfinv(&moto, &[], &["invalidate", "--paths", bad], "");
        assert_eq!(out.code, 2, "{bad}");
        assert!(out.stderr.contains("--paths: paths[0]"), "{}", out.stderr);
    }

    let out = cfinv(&moto, &[], &["invalidate", "--keys-only", "/odd.html"], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(all_paths(&moto, &d).await.contains(&"//odd.html".to_string()));
}

/// Rule: the padded `delete:` lines of a real `aws s3 sync --delete` (page.html deleted from 20
/// sections, each section's index.html changed) give the exact paths: 20 `/secN/page.html`, no
/// wildcard, with the room as it is on an idle distribution.
#[tokio::test]
async fn a_real_sync_delete_of_many_sections_invalidates_exact_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let log = fixture("sync-delete-many.txt");
    let out = cfinv(&moto, &[], &["invalidate", "--json", "--from", log.to_str().unwrap()], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["keys_in"], 40);
    let paths = all_paths(&moto, &d).await;
    assert!(paths.iter().all(|p| !p.ends_with('*')), "no wildcard: {paths:?}");
    for i in 1..=20 {
        for want in [format!("/sec{i}/page.html"), format!("/sec{i}/"), format!("/sec{i}/index.html")] {
            assert!(paths.contains(&want), "{want} not in {paths:?}");
        }
    }
    assert_eq!(paths.len(), 80);
}

/// Rule: the padded `delete:` lines of a real `aws s3 sync --delete` of pages with accented names
/// (padded by the CLI in characters, not bytes) give exact paths, never a wildcard for the padding.
#[tokio::test]
async fn a_real_sync_delete_of_accented_names_invalidates_exact_paths() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let log = fixture("sync-delete-i18n.txt");
    let out = cfinv(&moto, &[], &["invalidate", "--json", "--from", log.to_str().unwrap()], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["keys_in"], 30);
    let paths = all_paths(&moto, &d).await;
    assert!(paths.iter().all(|p| !p.ends_with('*')), "no wildcard: {paths:?}");
    // Each section: its folder's three forms and its five removed pages.
    assert_eq!(paths.len(), 40, "{paths:?}");
}

/// Rule: a refused ListInvalidations is said on standard error, one line, with what was skipped
/// and the permission that restores it; the invalidation is created all the same; `-q` silences it.
#[tokio::test]
async fn a_refused_list_invalidations_is_said() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let denied = json!({"op": "ListInvalidations", "status": 403, "code": "AccessDenied", "message": "not allowed"});
    for (quiet, key) in [(false, "a.html"), (true, "b.html")] {
        moto.inject(Value::Array(vec![denied.clone(); 10]));
        let args: &[&str] = if quiet { &["-q", "invalidate", key] } else { &["invalidate", key] };
        let out = cfinv(&moto, &[], args, "");
        assert_eq!(out.code, 0, "{}", out.stderr);
        let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("cfinv: warning: ")).collect();
        if quiet {
            assert!(warnings.is_empty(), "-q: {warnings:?}");
        } else {
            assert!(!warnings.is_empty(), "{}", out.stderr);
            for w in &warnings {
                assert!(w.contains("AccessDenied") && w.contains("cloudfront:ListInvalidations"), "{w}");
            }
        }
        moto.control("DELETE", "/_cfstub/faults", &Value::Null);
    }
    assert_eq!(moto.invalidation_ids(&d).await.len(), 2, "created anyway");
}

/// `cfinv` with nothing of the developer's credentials: no variables, a HOME with no `.aws`,
/// instance metadata off.
fn bare_cfinv(moto: &Moto, home: &Path) -> Command {
    let mut cmd = Command::new(crate::support::cfinv());
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_CLOUDFRONT", &moto.endpoint)
        .env("DISTRIBUTION_ID", &moto.distributions[0]);
    cmd
}

/// Rule: no credentials anywhere is its own error (`NoCredentials`, exit 4), one clear line that
/// says how to provide them, never a retryable `CloudFrontError`; nothing reaches CloudFront. A
/// `credential_process` profile and an assume-role profile give the credentials that sign the
/// calls; a profile whose process fails is that provider's error, named, not "none found".
#[tokio::test]
async fn credentials_missing_and_from_a_process() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let home = TempDir::new("home");
    for args in [&["invalidate", "index.html"][..], &["status", &d, "I1"], &["list", &d], &["room", &d]] {
        let out = crate::cli::run_cfinv(
            {
                let mut c = bare_cfinv(&moto, &home.0);
                c.args(args);
                c
            },
            "",
        );
        assert_eq!(out.code, 4, "{args:?}");
        let first = out.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("cfinv: NoCredentials: no AWS credentials found"), "{}", out.stderr);
        assert!(out.stderr.contains("aws sso login") && !out.stderr.contains("CloudFrontError"), "{}", out.stderr);
    }
    let mut json = bare_cfinv(&moto, &home.0);
    json.args(["status", "--json", &d, "I1"]);
    let out = crate::cli::run_cfinv(json, "");
    assert_eq!((out.code, out.json()["errorType"].clone()), (4, json!("NoCredentials")));
    assert!(moto.calls().is_empty(), "nothing sent: {:?}", moto.calls());

    let ok = home.write(
        "bin/creds-ok",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"s\"}'\n",
    );
    let bad = home.write("bin/creds-bad", "#!/bin/sh\necho 'sign-in expired' >&2\nexit 3\n");
    for script in [&ok, &bad] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    home.write(
        ".aws/config",
        &format!(
            "[profile deploy]\ncredential_process = {}\n\n[profile broken]\ncredential_process = {}\n",
            ok.display(),
            bad.display()
        ),
    );
    let mut cmd = bare_cfinv(&moto, &home.0);
    cmd.env("AWS_PROFILE", "deploy").args(["invalidate", "index.html"]);
    let out = crate::cli::run_cfinv(cmd, "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(moto.signers().iter().any(|k| k == "AKIDPROCESS"), "{:?}", moto.signers());

    // An assume-role profile: the source profile's keys ask STS (the stand-in's) for the role's.
    home.write(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = s\n");
    let config = std::fs::read_to_string(home.0.join(".aws/config")).unwrap();
    home.write(
        ".aws/config",
        &format!(
            "{config}\n[profile assumer]\nrole_arn = arn:aws:iam::123456789012:role/deployer\nsource_profile = base\n"
        ),
    );
    let before = moto.signers().len();
    let mut cmd = bare_cfinv(&moto, &home.0);
    cmd.env("AWS_PROFILE", "assumer").env("AWS_ENDPOINT_URL_STS", &moto.endpoint).args(["invalidate", "a.html"]);
    let out = crate::cli::run_cfinv(cmd, "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let signers = moto.signers();
    let assumed = &signers[before..];
    assert!(!assumed.is_empty() && assumed.iter().all(|k| k.starts_with("ASIA")), "the role's keys: {signers:?}");

    let mut cmd = bare_cfinv(&moto, &home.0);
    cmd.env("AWS_PROFILE", "broken").args(["status", &d, "I1"]);
    let out = crate::cli::run_cfinv(cmd, "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stderr.contains("NoCredentials"), "{}", out.stderr);
    for said in ["loading credentials", "external process exited", "sign-in expired"] {
        assert!(out.stderr.contains(said), "{said:?} in {}", out.stderr);
    }
}

/// Rule: one error contract for every subcommand: a human line on standard error and nothing on
/// standard output by default; with `--json` the JSON error object on standard output. A missing
/// invalidation is `NoSuchInvalidation`; `invoke` prints the Lambda's own error response.
#[tokio::test]
async fn one_error_contract_for_every_subcommand() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let d = moto.distributions[0].clone();
    let cases: &[(&[&str], &str)] = &[
        (&["status", &d, "NOSUCH"], "NoSuchInvalidation"),
        (&["list", "E0000000000000"], "NoSuchDistribution"),
        (&["room", "E0000000000000"], "NoSuchDistribution"),
        (&["invalidate", "--distribution-id", "E0000000000000", "a.html"], "NoSuchDistribution"),
    ];
    for (args, error_type) in cases {
        let out = cfinv(&moto, &[], args, "");
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on standard output: {}", out.stdout);
        let line = format!("cfinv: {error_type}: ");
        assert!(out.stderr.lines().any(|l| l.starts_with(&line)), "{args:?}: {}", out.stderr);

        let mut with_json = args.to_vec();
        with_json.insert(1, "--json");
        let out = cfinv(&moto, &[], &with_json, "");
        assert_eq!(out.code, 1, "{with_json:?}");
        let doc = out.json();
        let error = if with_json[0] == "invalidate" { &doc["errors"][0] } else { &doc };
        assert_eq!(error["errorType"], *error_type, "{with_json:?}: {doc}");
        assert!(error["errorMessage"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Usage errors too: exit 2, with --json the object.
    let out = cfinv(&moto, &[], &["invalidate", "--json", "/index.html"], "");
    assert_eq!((out.code, out.json()["errorType"].clone()), (2, json!("UsageError")));

    // Without errors, list and status print lines by default and JSON with --json.
    let made = cfinv(&moto, &[], &["invalidate", "--json", "index.html"], "");
    let id = made.json()["invalidations"][0]["invalidation_id"].as_str().unwrap().to_string();
    let status = cfinv(&moto, &[], &["status", &d, &id], "");
    assert!(status.stdout.starts_with(&format!("{id} on {d}: InProgress")), "{}", status.stdout);
    let list = cfinv(&moto, &[], &["list", &d], "");
    assert!(list.stdout.starts_with(&id) && list.stdout.contains("    /index.html"), "{}", list.stdout);
    assert_eq!(cfinv(&moto, &[], &["status", "--json", &d, &id], "").json()["invalidation_id"], id.as_str());

    // invoke: the Lambda's own response.
    let tmp = TempDir::new("invoke");
    let event = tmp.write(
        "e.json",
        &json!({"distribution_id": d, "paths": ["/a"], "caller_reference": "x", "keys": ["a"]}).to_string(),
    );
    let out = cfinv(&moto, &[], &["invoke", event.to_str().unwrap()], "");
    // Its metrics line (EMF) first, as the Lambda writes it; then its response.
    let response: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!((out.code, response["errorType"].clone()), (1, json!("InvalidInput")));
}

/// Rule: whatever `invalidate` reads can be previewed, and nothing is created: `cfinv plan -` and
/// `plan --from` take a sync log, `invalidate --dry-run` shows the plan; CloudFront sees no call.
#[tokio::test]
async fn a_sync_log_is_previewed_without_a_call() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let log = std::fs::read_to_string(fixture("sync-delete-many.txt")).unwrap();
    let from = fixture("sync-delete-many.txt");
    for args in [
        &["plan", "-"][..],
        &["plan", "--from", "-"],
        &["plan", "--json", "--from", from.to_str().unwrap()],
        &["invalidate", "--dry-run", "--json", "--from", "-"],
    ] {
        let stdin = if args.contains(&"-") { log.as_str() } else { "" };
        let out = cfinv(&moto, &[], args, stdin);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let doc = out.json();
        assert_eq!(doc["source"], "aws-s3-output", "{args:?}");
        assert_eq!(doc["keys_in"], 40, "{args:?}");
        let inv = &doc["invalidations"][0];
        assert_eq!((inv["path_count"].clone(), inv["wildcards"].clone()), (json!(80), json!(0)), "{args:?}");
    }
    // Keys one a line, and event JSON, through the same door.
    let out = cfinv(&moto, &[], &["plan", "-"], "docs/index.html\n");
    assert_eq!(out.json()["invalidations"][0]["paths"], json!(["/docs", "/docs/", "/docs/index.html"]));
    let event = crate::events::s3_notification("a b.html", "01", false);
    let out = cfinv(&moto, &[], &["plan", "--from", "-"], &event);
    assert_eq!(out.json()["source"], "s3");
    assert!(moto.calls().is_empty(), "no AWS call: {:?}", moto.calls());
}

/// Runs `cfinv` on a terminal (a pseudo-terminal, Python's `pty`), reading what it draws until
/// `--timeout`'s countdown has shown two values or a minute has passed, then sends SIGTERM: the
/// values seen, and the exit status.
const ON_A_TERMINAL: &str = r#"
import os, pty, re, select, signal, sys, time, json
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, seen, end = b"", set(), time.time() + 60
while len(seen) < 2 and time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            out += os.read(fd, 65536)
        except OSError:
            break
    seen = set(re.findall(r"timeout in (\d+m\d+s)", out.decode(errors="replace")))
os.kill(pid, signal.SIGTERM)
try:
    while select.select([fd], [], [], 1)[0]:
        out += os.read(fd, 65536)
except OSError:
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"seen": sorted(seen), "code": os.waitstatus_to_exitcode(status),
                  "terminated": "terminated (SIGTERM)" in out.decode(errors="replace")}))
"#;

/// Rule: on a terminal, the live line's "timeout in" counts down between two polls (here the next
/// poll is 15 minutes away), and SIGTERM ends the run with 143, the invalidation named.
#[test]
fn the_live_line_counts_down_and_sigterm_exits_143() {
    let moto = Moto::start(&["--complete-after", "-1"]);
    let mut cmd = Command::new(crate::venv::venv_bin("python"));
    cmd.arg("-c").arg(ON_A_TERMINAL).arg(crate::support::cfinv());
    cmd.args(["invalidate", "--wait", "--interval", "3600", "index.html"]);
    for v in crate::cli::CONFIG_VARS {
        cmd.env_remove(v);
    }
    cmd.env("AWS_ENDPOINT_URL_CLOUDFRONT", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("DISTRIBUTION_ID", &moto.distributions[0]);
    let out = cmd.output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(doc["seen"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!(doc["code"], 143, "{doc}");
    assert_eq!(doc["terminated"], true, "{doc}");
}
