//! The release artifacts as a user gets them, from `make dist` (scripts/dist.sh): dist's Linux
//! archives and shell installer in `target/distrib/`, the maturin wheel in `target/wheels/`, the
//! Lambda's `bootstrap-*.zip`. Each test installs into a clean temporary directory and runs the
//! installed `cfinv` against the moto stand-in, as a pipeline would; the GitHub Action's script
//! (`scripts/action.sh`) runs exactly as `action.yml` runs it, pointed at the local release.
//!
//! Without the artifacts (plain `make test`) each test prints why and passes; `make dist` sets
//! `CFINV_DIST_REQUIRED=1`, and then a missing artifact fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::repo;
use crate::venv::Moto;

/// dist's Linux targets (dist-workspace.toml), each archive at most 8 MiB.
const LINUX_TARGETS: &[(&str, u16)] = &[("x86_64-unknown-linux-musl", 0x3e), ("aarch64-unknown-linux-musl", 0xb7)];
const MAX_ARTIFACT: u64 = 8 << 20;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}

fn distrib() -> PathBuf {
    target_dir().join("distrib")
}

fn host_target() -> String {
    format!("{}-unknown-linux-musl", std::env::consts::ARCH)
}

/// `Some(paths)` when every path exists; otherwise `None` after saying what is missing, or a
/// failure when `make dist` requires them.
fn artifacts(test: &str, paths: Vec<PathBuf>) -> Option<Vec<PathBuf>> {
    let missing: Vec<_> = paths.iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if missing.is_empty() {
        return Some(paths);
    }
    let required = std::env::var_os("CFINV_DIST_REQUIRED").is_some_and(|v| v == "1");
    assert!(!required, "{test}: missing {missing:?} (CFINV_DIST_REQUIRED=1)");
    // Straight to standard error, past the test harness's capture, so `make test` shows it.
    let note = format!("note: {test} skipped: no {} (`make dist` builds them)\n", missing.join(", "));
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    None
}

fn wheel() -> PathBuf {
    let dir = target_dir().join("wheels");
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "whl")).collect())
        .unwrap_or_default();
    wheels.sort();
    wheels.pop().unwrap_or_else(|| dir.join("cf_invalidator-*.whl"))
}

fn version() -> String {
    let manifest = std::fs::read_to_string(repo().join("cfinv/Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("version = ")).unwrap();
    line.trim_start_matches("version = ").trim_matches('"').to_string()
}

/// A directory of its own for one test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("cfinv-dist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A clean environment: no AWS profile or Lambda variables of the developer's shell, HOME in the
/// scratch directory (installers write there), PATH without cargo's or the project's tools.
fn clean<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .env("TMPDIR", home)
}

fn aws<'a>(cmd: &'a mut Command, moto: &Moto) -> &'a mut Command {
    cmd.env("AWS_ENDPOINT_URL_CLOUDFRONT", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
}

/// The invalidation `cfinv invalidate --json` reports, checked against the stand-in: its paths.
async fn check_invalidation(moto: &Moto, stdout: &str, outcome: &str) -> String {
    let doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(doc["outcome"], outcome, "{doc}");
    let id = doc["invalidations"][0]["invalidation_id"].as_str().unwrap().to_string();
    assert_eq!(moto.invalidation_ids(&moto.distributions[0]).await, vec![id.clone()]);
    let inv = moto.sdk().get_invalidation().distribution_id(&moto.distributions[0]).id(&id).send().await.unwrap();
    let mut paths = inv.invalidation.unwrap().invalidation_batch.unwrap().paths.unwrap().items.unwrap_or_default();
    paths.sort();
    assert_eq!(paths, ["/", "/docs", "/docs/", "/docs/index.html", "/index.html"], "{doc}");
    id
}

/// An installed cfinv invalidates two keys: the five paths planned for two index documents.
async fn invalidates(cfinv: &Path, home: &Path, moto: &Moto) {
    let keys = ["index.html", "docs/index.html"];
    let mut cmd = Command::new(cfinv);
    aws(clean(&mut cmd, home), moto)
        .args(["invalidate", "--json", "--distribution-id", &moto.distributions[0]])
        .args(keys);
    check_invalidation(moto, &ok(&mut cmd), "submitted").await;
}

/// The ELF header's machine, and whether a program interpreter (a dynamic loader) is asked for.
fn elf(bin: &[u8]) -> (u16, bool) {
    assert_eq!(&bin[..5], b"\x7fELF\x02", "not a 64-bit ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([bin[o], bin[o + 1]]);
    let phoff = u64::from_le_bytes(bin[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36) as usize, u16_at(0x38) as usize);
    let interp = (0..phnum).any(|i| u32::from_le_bytes(bin[phoff + i * phentsize..][..4].try_into().unwrap()) == 3);
    (u16_at(0x12), interp)
}

/// Each Linux archive (x86_64 and aarch64): its sha256 file matches, and it holds a static
/// `cfinv` for its machine of at most 8 MiB, beside the README and licence.
#[test]
fn linux_archives_are_static_and_at_most_8_mib() {
    let paths = LINUX_TARGETS.iter().map(|(t, _)| distrib().join(format!("cfinv-{t}.tar.xz"))).collect();
    let Some(archives) = artifacts("linux_archives_are_static_and_at_most_8_mib", paths) else { return };
    let scratch = Scratch::new("archives");
    for (archive, (target, machine)) in archives.iter().zip(LINUX_TARGETS) {
        ok(Command::new("sha256sum").arg("-c").arg(format!("cfinv-{target}.tar.xz.sha256")).current_dir(distrib()));
        ok(Command::new("tar").arg("-xJf").arg(archive).arg("-C").arg(&scratch.0));
        let dir = scratch.0.join(format!("cfinv-{target}"));
        let bin = std::fs::read(dir.join("cfinv")).unwrap();
        assert_eq!(elf(&bin), (*machine, false), "{target}: machine, dynamic loader");
        for f in ["README.md", "LICENSE"] {
            assert!(dir.join(f).exists(), "{target}: no {f} in the archive");
        }
        let size = std::fs::metadata(archive).unwrap().len();
        println!("{target}: cfinv {:.2} MiB, archive {:.2} MiB", bin.len() as f64 / 1048576.0, size as f64 / 1048576.0);
        assert!(bin.len() as u64 <= MAX_ARTIFACT && size <= MAX_ARTIFACT, "{target}: over 8 MiB");
    }
}

/// dist's shell installer, reading the local release (file://), installs cfinv into an empty
/// directory; the installed binary answers `--version` and makes an invalidation.
#[tokio::test]
async fn shell_installer_installs_a_cfinv_that_invalidates() {
    let paths = vec![distrib().join("cfinv-installer.sh"), distrib().join(format!("cfinv-{}.tar.xz", host_target()))];
    let Some(found) = artifacts("shell_installer_installs_a_cfinv_that_invalidates", paths) else { return };
    let moto = Moto::start(&[]);
    let scratch = Scratch::new("installer");
    let bin = scratch.0.join("bin");
    let started = Instant::now();
    ok(clean(&mut Command::new("sh"), &scratch.0)
        .arg(&found[0])
        .arg("--quiet")
        .env("CFINV_DOWNLOAD_URL", format!("file://{}", distrib().display()))
        .env("CFINV_UNMANAGED_INSTALL", &bin));
    let said = ok(clean(&mut Command::new(bin.join("cfinv")), &scratch.0).arg("--version"));
    let took = started.elapsed();
    assert_eq!(said.trim(), format!("cfinv {}", version()));
    println!("nothing installed to a first `cfinv --version`, dist's installer (local archive): {took:.2?}");
    invalidates(&bin.join("cfinv"), &scratch.0, &moto).await;
}

/// The wheel, installed by pip from the file into a fresh venv (no index): `cfinv --help`, then
/// an invalidation.
#[tokio::test]
async fn wheel_installs_a_cfinv_that_invalidates() {
    let Some(found) = artifacts("wheel_installs_a_cfinv_that_invalidates", vec![wheel()]) else { return };
    let name = found[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("cf_invalidator-{}-", version())), "{name}");
    let moto = Moto::start(&[]);
    let scratch = Scratch::new("wheel");
    let venv = scratch.0.join("venv");
    let started = Instant::now();
    ok(clean(&mut Command::new("python3"), &scratch.0).args(["-m", "venv"]).arg(&venv));
    ok(clean(&mut Command::new(venv.join("bin/pip")), &scratch.0)
        .args(["install", "--quiet", "--no-index", "--disable-pip-version-check"])
        .arg(&found[0]));
    let said = ok(clean(&mut Command::new(venv.join("bin/cfinv")), &scratch.0).arg("--version"));
    let took = started.elapsed();
    assert_eq!(said.trim(), format!("cfinv {}", version()));
    println!("nothing installed to a first `cfinv --version`, wheel into a new venv: {took:.2?}");
    let help = ok(clean(&mut Command::new(venv.join("bin/cfinv")), &scratch.0).arg("--help"));
    assert!(help.contains("invalidate"), "{help}");
    invalidates(&venv.join("bin/cfinv"), &scratch.0, &moto).await;
}

type Outputs = std::collections::HashMap<String, String>;

/// The outputs scripts/action.sh wrote to $GITHUB_OUTPUT (`name=value`, and `name<<END` blocks).
fn outputs(file: &Path) -> Outputs {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut out = std::collections::HashMap::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some((k, end)) = l.split_once("<<") {
            let block: Vec<&str> = lines.by_ref().take_while(|b| *b != end).collect();
            out.insert(k.to_string(), block.join("\n"));
        } else if let Some((k, v)) = l.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// One run of the action's script as action.yml runs it: the inputs as INPUT_* variables, a fresh
/// GITHUB_OUTPUT and GITHUB_PATH, RUNNER_TEMP in the scratch directory. Exit status and outputs.
fn action(scratch: &Path, moto: &Moto, name: &str, inputs: &[(&str, &str)]) -> (i32, Outputs) {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("bash");
    aws(clean(&mut cmd, scratch), moto)
        .arg(repo().join("scripts/action.sh"))
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_PATH", dir.join("path"))
        .env("RUNNER_TEMP", scratch)
        .env("CFINV_RELEASE_URL", format!("file://{}", distrib().display()))
        .env("CFINV_PIP_ARGS", format!("--no-index --find-links {}", wheel().parent().unwrap().display()));
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let out = run(&mut cmd);
    let code = out.status.code().unwrap_or(-1);
    let outs = outputs(&dir.join("output"));
    if code != 0 && code != 2 {
        eprintln!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    (code, outs)
}

/// The GitHub Action's script: installs cfinv from the (local) release with dist's installer,
/// invalidates the keys input with --wait, and outputs the ids, outcome and exit status meaning;
/// the same run again finds the same invalidation (same caller-reference); a bad input is exit 2,
/// "usage"; `install: pip` installs the wheel and invalidates the same way.
#[tokio::test]
async fn action_installs_cfinv_and_outputs_the_invalidation() {
    let paths =
        vec![distrib().join("cfinv-installer.sh"), distrib().join(format!("cfinv-{}.tar.xz", host_target())), wheel()];
    if artifacts("action_installs_cfinv_and_outputs_the_invalidation", paths).is_none() {
        return;
    }
    let moto = Moto::start(&["--complete-after", "1"]);
    let scratch = Scratch::new("action");
    let d = moto.distributions[0].clone();
    let inputs = [
        ("distribution-id", d.as_str()),
        ("keys", "index.html\n  docs/index.html\n"),
        ("caller-reference", "3f2c1e9"),
        ("wait", "true"),
        ("timeout", "120"),
        ("interval", "1"),
    ];
    let (code, out) = action(&scratch.0, &moto, "first", &inputs);
    assert_eq!(code, 0, "{out:?}");
    assert_eq!((out["result"].as_str(), out["outcome"].as_str(), out["exit-code"].as_str()), ("ok", "completed", "0"));
    let id = check_invalidation(&moto, &out["json"], "completed").await;
    assert_eq!(out["invalidation-ids"], id);
    let path = std::fs::read_to_string(scratch.0.join("first/path")).unwrap();
    assert_eq!(path.trim(), scratch.0.join("cfinv-bin").display().to_string(), "GITHUB_PATH gets the install dir");

    // A re-run of the job: the same invalidation, nothing new.
    let (code, again) = action(&scratch.0, &moto, "again", &inputs);
    assert_eq!((code, again["invalidation-ids"].as_str()), (0, id.as_str()), "{again:?}");
    assert_eq!(moto.invalidation_ids(&d).await.len(), 1);

    // A timeout outside 60-3600: cfinv's usage error, exit 2.
    let (code, bad) =
        action(&scratch.0, &moto, "bad", &[("distribution-id", &d), ("keys", "index.html"), ("timeout", "5")]);
    assert_eq!((code, bad["result"].as_str(), bad["outcome"].as_str()), (2, "usage", "failed"), "{bad:?}");

    // install: pip, from the local wheel; one key on one line, separated by spaces.
    let started = Instant::now();
    let (code, pip) = action(
        &scratch.0,
        &moto,
        "pip",
        &[("install", "pip"), ("distribution-id", &d), ("keys", "about.html img/a.png"), ("caller-reference", "pip")],
    );
    assert_eq!((code, pip["outcome"].as_str()), (0, "submitted"), "{pip:?}");
    let doc: Value = serde_json::from_str(&pip["json"]).unwrap();
    assert_eq!(doc["invalidations"][0]["paths"], serde_json::json!(["/about.html", "/img/a.png"]), "{doc}");
    assert_eq!(pip["invalidation-ids"], doc["invalidations"][0]["invalidation_id"].as_str().unwrap());
    assert!(started.elapsed() < Duration::from_secs(120));
}

/// The Lambda's release zips: `bootstrap` alone at the root, for arm64 and x86_64.
#[test]
fn bootstrap_zips_hold_the_lambda_binary() {
    let paths = ["arm64", "x86_64"].iter().map(|a| distrib().join(format!("bootstrap-{a}.zip"))).collect();
    let Some(zips) = artifacts("bootstrap_zips_hold_the_lambda_binary", paths) else { return };
    let scratch = Scratch::new("zips");
    for (zip, machine) in zips.iter().zip([0xb7u16, 0x3e]) {
        let listing = ok(Command::new("python3").args(["-m", "zipfile", "-l"]).arg(zip));
        let names: Vec<&str> = listing.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
        assert_eq!(names, ["bootstrap"], "{}: {listing}", zip.display());
        ok(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(zip).arg(&scratch.0));
        let bin = std::fs::read(scratch.0.join("bootstrap")).unwrap();
        assert_eq!(elf(&bin).0, machine, "{}", zip.display());
        println!(
            "{}: {:.2} MiB zipped, bootstrap {:.2} MiB",
            zip.file_name().unwrap().to_string_lossy(),
            std::fs::metadata(zip).unwrap().len() as f64 / 1048576.0,
            bin.len() as f64 / 1048576.0
        );
        std::fs::remove_file(scratch.0.join("bootstrap")).unwrap();
    }
}

/// One version everywhere a release names it: cfinv's crate (the archives, the wheel), the Lambda's
/// crate, and the Serverless Application Repository's SemanticVersion in template.yaml.
#[test]
fn release_versions_agree() {
    let root = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let lambda =
        root.lines().find(|l| l.starts_with("version = ")).unwrap().trim_start_matches("version = ").trim_matches('"');
    let template = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let sar = template
        .lines()
        .find_map(|l| l.trim().strip_prefix("SemanticVersion: "))
        .expect("SemanticVersion in template.yaml");
    assert_eq!((lambda, sar.trim()), (version().as_str(), version().as_str()));
}

/// The README's deploy from `bootstrap-arm64.zip`: its `sed` line, run as written, points the
/// function's CodeUri (and nothing else) at the zip, and the result is cfn-lint clean (which does
/// not open the zip).
#[test]
fn readme_zip_deploy_template_is_valid() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let sed =
        readme.lines().find(|l| l.starts_with("sed ") && l.contains("bootstrap-arm64.zip")).expect("the sed line");
    let scratch = Scratch::new("zip-template");
    std::fs::copy(repo().join("template.yaml"), scratch.0.join("template.yaml")).unwrap();
    ok(Command::new("bash").args(["-c", sed]).current_dir(&scratch.0));
    let before = std::fs::read_to_string(scratch.0.join("template.yaml")).unwrap();
    let after = std::fs::read_to_string(scratch.0.join("template-zip.yaml")).unwrap();
    let changed: Vec<_> = before.lines().zip(after.lines()).filter(|(b, a)| b != a).collect();
    assert_eq!(changed, [("      CodeUri: .", "      CodeUri: bootstrap-arm64.zip")]);
    assert_eq!(before.lines().count(), after.lines().count());
    ok(Command::new(crate::venv::venv_bin("cfn-lint")).arg("template-zip.yaml").current_dir(&scratch.0));
}
