//! Distributions in other accounts: a route's `role_arn` is assumed through STS, and the calls on
//! that distribution are signed with the assumed credentials — end to end with the real `cfinv`
//! binary (the library's SDK adapter, configured from the environment as the Lambda is) against
//! moto's STS and the CloudFront stand-in.

use std::process::Command;

use crate::events::event;
use crate::support::{repo, SAMPLE_DISTRIBUTION};
use crate::venv::Moto;

fn invoke(moto: &Moto, routes: &str) -> std::process::Output {
    let file = repo().join("events/s3-put.json");
    assert!(!event("s3-put.json").is_empty());
    Command::new(crate::support::cfinv())
        .args(["invoke", file.to_str().unwrap(), "--request-id", "r1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ROUTES", routes)
        // The stand-in answers STS too: one endpoint for both, as CLOUDFRONT_ENDPOINT_URL sets.
        .env("CLOUDFRONT_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDHOMEACCOUNT")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run cfinv")
}

/// Rule: a distribution whose route names a role is reached with that role's credentials, from
/// STS; every other distribution with the function's own.
#[test]
fn a_routes_role_is_assumed_for_its_distribution() {
    let moto = Moto::start(&["--distribution-ids", "EHOMEACCOUNT1"]);
    // The other account's distribution lives in that account: only its role reaches it.
    moto.control(
        "POST",
        "/_cfstub/distribution",
        &serde_json::json!({"id": SAMPLE_DISTRIBUTION, "account": "111122223333"}),
    );
    let routes = format!(
        r#"[{{"prefix":"","distributions":[{{"id":"{SAMPLE_DISTRIBUTION}","role_arn":"arn:aws:iam::111122223333:role/cf-invalidator"}},"EHOMEACCOUNT1"]}}]"#
    );
    let out = invoke(&moto, &routes);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let calls: Vec<(String, String)> = moto.calls().into_iter().zip(moto.signers()).collect();
    let creates: Vec<&(String, String)> = calls.iter().filter(|(op, _)| op == "CreateInvalidation").collect();
    assert_eq!(creates.len(), 2, "{calls:?}");
    let log = moto.control("GET", "/_cfstub/log", &serde_json::Value::Null);
    let by_distribution = |d: &str| -> Vec<String> {
        log["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["path"].as_str().unwrap_or("").contains(d))
            .map(|c| c["key"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let other = by_distribution(SAMPLE_DISTRIBUTION);
    let home = by_distribution("EHOMEACCOUNT1");
    assert!(!other.is_empty() && !home.is_empty(), "{calls:?}");
    assert!(home.iter().all(|k| k == "AKIDHOMEACCOUNT"), "the function's own credentials at home: {home:?}");
    assert!(
        other.iter().all(|k| k != "AKIDHOMEACCOUNT" && !k.is_empty()),
        "the assumed role's credentials for the other account's distribution: {other:?}"
    );
}

/// Rule: a distribution has one role; ROUTES that disagree are a configuration error naming
/// ROUTES, before anything is called.
#[test]
fn two_roles_for_one_distribution_are_refused() {
    let moto = Moto::start(&["--distribution-ids", SAMPLE_DISTRIBUTION]);
    let routes = format!(
        r#"[{{"prefix":"a/","distributions":[{{"id":"{SAMPLE_DISTRIBUTION}","role_arn":"arn:aws:iam::111122223333:role/a"}}]}},
            {{"prefix":"b/","distributions":[{{"id":"{SAMPLE_DISTRIBUTION}","role_arn":"arn:aws:iam::111122223333:role/b"}}]}}]"#
    );
    let out = invoke(&moto, &routes);
    assert!(!out.status.success());
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("ROUTES") && text.contains("two role_arn values"), "{text}");
    assert!(moto.calls().is_empty(), "nothing called");
}
