//! `cfinv` on distribution tenants end to end: the built binary and the real
//! `aws-sdk-cloudfront` against the moto stand-in's tenant API (`tests/support/moto_aws.py`:
//! CreateInvalidationForDistributionTenant and its Get and List, AWS's `EntityNotFound` for a
//! tenant it does not know). What cfinv makes is checked in the stand-in itself: on the tenant's
//! own list, never on the parent distribution's.

use serde_json::{json, Value};

use crate::venv::Moto;

const PARENT: &str = "EPLATFORM123";

/// A platform's multi-tenant distribution with a tenant per customer; invalidations complete only
/// when a test says so.
fn start() -> Moto {
    Moto::start(&[
        "--distribution-ids",
        PARENT,
        "--tenants",
        &format!("dt_acme={PARENT},dt_globex={PARENT}"),
        "--quota",
        "--complete-after",
        "-1",
    ])
}

/// Runs `cfinv ARGS` against the stand-in with only `env` of the Lambda's variables.
fn cfinv(moto: &Moto, env: &[(&str, &str)], args: &[&str]) -> crate::cli::CliOut {
    let mut cmd = crate::cli::cfinv_on(moto);
    cmd.args(args).envs(env.iter().copied());
    crate::cli::run_cfinv(cmd, "")
}

/// A JSON array of strings, sorted.
fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|p| p.as_str().unwrap().into())
        .collect();
    out.sort();
    out
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Rule (every command that takes a distribution takes a tenant: `invalidate`, `list`, `status`,
/// `room`): `cfinv invalidate --distribution-tenant-id dt_acme`
/// creates the planned paths on the tenant (CreateInvalidationForDistributionTenant) — on its own
/// list, not on the parent's nor a sibling's — and names it `distribution_tenant_id` in `--json`;
/// running it again finds it instead of creating another; `cfinv list`, `cfinv status` and
/// `cfinv room --json` on the tenant id read it back through the tenant operations.
#[tokio::test]
async fn invalidate_list_status_and_room_on_a_tenant() {
    let moto = start();
    let keys = ["--json", "--distribution-tenant-id", "dt_acme", "index.html", "css/site.css"];
    let out = cfinv(&moto, &[], &[&["invalidate"], &keys[..]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["outcome"], "submitted", "{doc}");
    let inv = &doc["invalidations"][0];
    assert_eq!(inv["distribution_tenant_id"], "dt_acme", "{doc}");
    assert!(inv.get("distribution_id").is_none(), "a tenant is named as a tenant: {doc}");
    assert_eq!(inv["created_by_earlier_run"], false);
    let id = inv["invalidation_id"].as_str().unwrap().to_string();
    let reference = inv["caller_reference"].as_str().unwrap().to_string();
    assert!(reference.starts_with("cfinv-"), "{reference}");
    let want = strs(&["/", "/css/site.css", "/index.html"]);
    assert_eq!(moto.tenant_invalidations("dt_acme").await, [(id.clone(), want.clone())], "on the tenant's list");
    assert_eq!(moto.invalidation_ids(PARENT).await, Vec::<String>::new(), "nothing on the parent's list");
    assert_eq!(moto.tenant_invalidations("dt_globex").await, [], "nothing on the sibling's");
    let calls = moto.calls();
    assert!(!calls.iter().any(|c| c == "CreateInvalidation"), "never the distribution's create: {calls:?}");
    assert_eq!(calls.iter().filter(|c| *c == "CreateInvalidationForDistributionTenant").count(), 1, "{calls:?}");

    // The same command again, while it is in progress: found on the tenant, nothing new.
    let again = cfinv(&moto, &[], &[&["invalidate"], &keys[..]].concat());
    assert_eq!(again.code, 0, "{}", again.stderr);
    let inv = &again.json()["invalidations"][0];
    assert_eq!((inv["invalidation_id"].as_str(), inv["created_by_earlier_run"].as_bool()), (Some(&*id), Some(true)));
    assert_eq!(moto.tenant_invalidations("dt_acme").await.len(), 1, "no second invalidation");

    let list = cfinv(&moto, &[], &["list", "--json", "dt_acme"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let doc = list.json();
    assert_eq!(doc["distribution_tenant_id"], "dt_acme", "{doc}");
    assert!(doc.get("distribution_id").is_none(), "{doc}");
    let listed = doc["invalidations"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{doc}");
    assert_eq!(
        (listed[0]["invalidation_id"].as_str(), listed[0]["status"].as_str(), listed[0]["caller_reference"].as_str()),
        (Some(&*id), Some("InProgress"), Some(&*reference)),
        "{doc}"
    );
    assert_eq!(sorted(&listed[0]["paths"]), want, "{doc}");
    let status = cfinv(&moto, &[], &["status", "--json", "dt_acme", &id]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let doc = status.json();
    assert_eq!(
        (doc["distribution_tenant_id"].as_str(), doc["invalidation_id"].as_str(), doc["status"].as_str()),
        (Some("dt_acme"), Some(&*id), Some("InProgress")),
        "{doc}"
    );
    assert!(doc.get("distribution_id").is_none(), "{doc}");
    assert_eq!((doc["caller_reference"].as_str(), sorted(&doc["paths"])), (Some(&*reference), want.clone()), "{doc}");

    let room = cfinv(&moto, &[], &["room", "--json", "dt_acme"]);
    assert_eq!(room.code, 0, "{}", room.stderr);
    let doc = room.json();
    assert_eq!(doc["distribution_tenant_id"], "dt_acme", "{doc}");
    assert_eq!(doc["in_progress"], json!({"invalidations": 1, "exact": 3, "wildcards": 0}), "{doc}");
    assert_eq!(doc["left"], json!({"exact": 2997, "wildcards": 15}), "{doc}");
    assert_eq!(doc["by"]["this_function"], json!({"invalidations": 1, "exact": 3, "wildcards": 0}), "{doc}");
    assert_eq!(doc["oldest"]["invalidation_id"], json!(id), "{doc}");
    // The stand-in counts the same against the tenant's quota (per tenant, its default reading).
    assert_eq!(moto.in_progress("dt_acme"), (3, 0));
    let parent = cfinv(&moto, &[], &["room", "--json", PARENT]);
    assert_eq!(parent.json()["in_progress"]["invalidations"], 0, "the parent's own list holds nothing");

    // Completed at CloudFront: status and list say so.
    assert_eq!(moto.complete(Some(&id)), vec![id.clone()]);
    let status = cfinv(&moto, &[], &["status", "--json", "dt_acme", &id]);
    assert_eq!(status.json()["status"], "Completed", "{}", status.stdout);
    let list = cfinv(&moto, &[], &["list", "--json", "dt_acme"]);
    assert_eq!(list.json()["invalidations"][0]["status"], "Completed", "{}", list.stdout);
    let room = cfinv(&moto, &[], &["room", "--json", "dt_acme"]);
    assert_eq!(room.json()["left"], json!({"exact": 3000, "wildcards": 15}), "{}", room.stdout);
}

/// Rule (routing): a two-tenant bucket routed by prefix through ROUTES, with no
/// `--distribution-tenant-id`: each customer's keys are invalidated on its tenant with the prefix
/// stripped as the tenant's origin path, the rest on the distribution itself; with
/// `--distribution-tenant-id`, only keys under that tenant's route are accepted.
#[tokio::test]
async fn routes_send_each_customers_keys_to_its_tenant() {
    let moto = start();
    let routes = json!([
        {"prefix": "customers/acme/", "distributions": [{"id": "dt_acme", "origin_path": "/customers/acme"}]},
        {"prefix": "customers/globex/", "distributions": [{"id": "dt_globex", "origin_path": "/customers/globex"}]},
        {"prefix": "", "distributions": [PARENT]}
    ])
    .to_string();
    let env = [("ROUTES", routes.as_str())];
    let out = cfinv(
        &moto,
        &env,
        &["invalidate", "--json", "customers/acme/docs/a.html", "customers/globex/about.html", "robots.txt"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let mut targets: Vec<String> = doc["invalidations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| match (i["distribution_tenant_id"].as_str(), i["distribution_id"].as_str()) {
            (Some(t), None) => format!("tenant {t}"),
            (None, Some(d)) => format!("distribution {d}"),
            other => panic!("{other:?}: {i}"),
        })
        .collect();
    targets.sort();
    assert_eq!(targets, [format!("distribution {PARENT}"), "tenant dt_acme".into(), "tenant dt_globex".into()]);
    let acme = moto.tenant_invalidations("dt_acme").await;
    assert_eq!(acme.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(), [strs(&["/docs/a.html"])], "prefix stripped");
    let globex = moto.tenant_invalidations("dt_globex").await;
    assert_eq!(globex.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(), [strs(&["/about.html"])]);
    assert_eq!(moto.invalidation_ids(PARENT).await.len(), 1, "robots.txt on the distribution itself");

    // Naming the tenant: its route's origin path applies; a key outside it is refused by name.
    let named =
        cfinv(&moto, &env, &["invalidate", "--json", "--distribution-tenant-id", "dt_acme", "customers/acme/b.html"]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    assert_eq!(moto.tenant_invalidations("dt_acme").await[0].1, strs(&["/b.html"]));
    let outside = cfinv(&moto, &env, &["invalidate", "--distribution-tenant-id", "dt_acme", "customers/globex/c.html"]);
    assert_eq!(outside.code, 1, "{}", outside.stderr);
    assert!(outside.stderr.contains("InvalidInput") && outside.stderr.contains("dt_acme"), "{}", outside.stderr);
    assert_eq!(moto.tenant_invalidations("dt_acme").await.len(), 2, "nothing made for the refused key");
}

/// Rule (AWS's `EntityNotFound` for a tenant CloudFront does not know): every command
/// on an unknown tenant exits 1 with an error naming it — `NoSuchDistributionTenant` — and creates
/// nothing anywhere.
#[tokio::test]
async fn an_unknown_tenant_exits_1_naming_it() {
    let moto = start();
    // (the command, whether its error is the --json document on stdout or a line on stderr)
    let cases: [(&[&str], bool); 8] = [
        (&["invalidate", "--distribution-tenant-id", "dt_nobody", "index.html"], false),
        (&["invalidate", "--json", "--distribution-tenant-id", "dt_nobody", "index.html"], true),
        (&["list", "dt_nobody"], false),
        (&["list", "--json", "dt_nobody"], true),
        (&["status", "dt_nobody", "I2J0I21PCUYOIK"], false),
        (&["status", "--json", "dt_nobody", "I2J0I21PCUYOIK"], true),
        (&["room", "dt_nobody"], false),
        (&["room", "--json", "dt_nobody"], true),
    ];
    for (args, on_stdout) in cases {
        let out = cfinv(&moto, &[], args);
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        let said = if on_stdout { &out.stdout } else { &out.stderr };
        assert!(said.contains("NoSuchDistributionTenant") && said.contains("dt_nobody"), "{args:?}: {said}");
        if on_stdout && args[0] != "invalidate" {
            let doc = out.json();
            assert_eq!(doc["errorType"], "NoSuchDistributionTenant", "{args:?}: {doc}");
            assert!(doc["errorMessage"].as_str().unwrap().contains("dt_nobody"), "{args:?}: {doc}");
        }
        if args[0] == "invalidate" && on_stdout {
            let doc = out.json();
            assert_eq!(doc["outcome"], "failed", "{doc}");
            assert_eq!(doc["errors"][0]["errorType"], "NoSuchDistributionTenant", "{doc}");
        }
    }
    assert_eq!(moto.invalidation_ids(PARENT).await, Vec::<String>::new());
    for t in ["dt_acme", "dt_globex"] {
        assert_eq!(moto.tenant_invalidations(t).await, [], "{t}");
    }
}
