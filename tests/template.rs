//! The SAM template: cfn-lint clean, and least privilege read off the template itself — no `*`
//! resource for CloudFront actions, only the actions the code uses, the queue open only to the
//! bucket's notifications, and nothing a failure could drop silently.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{repo, venv_bin};

/// The template as JSON, decoded by cfn-lint's own CloudFormation YAML reader (it knows `!Ref`,
/// `!Sub`, `!GetAtt`).
fn template() -> Value {
    let out = Command::new(venv_bin("python"))
        .args(["-c", "import json; from cfnlint.decode import decode; t, m = decode('template.yaml'); assert not m, m; print(json.dumps(t))"])
        .current_dir(repo())
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn statements(policies: &Value) -> Vec<Value> {
    policies
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("Statement"))
        .flat_map(|s| s.as_array().unwrap().clone())
        .collect()
}

fn actions(s: &Value) -> Vec<String> {
    match &s["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        other => panic!("Action {other}"),
    }
}

fn assert_scoped_to_the_distribution(s: &Value) {
    let r = &s["Resource"];
    assert_ne!(r, "*", "CloudFront statement with a * resource: {s}");
    let sub = r["Fn::Sub"].as_str().unwrap_or_else(|| panic!("resource is not a distribution ARN: {s}"));
    assert!(sub.ends_with(":distribution/${DistributionId}"), "{sub}");
}

#[test]
fn template_passes_cfn_lint() {
    let out = Command::new(venv_bin("cfn-lint")).arg("template.yaml").current_dir(repo()).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_function_may_only_create_list_and_get_invalidations_on_its_distribution() {
    let t = template();
    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    for p in f["Policies"].as_array().unwrap() {
        assert!(p.get("Statement").is_some(), "a managed policy or policy template widens the role: {p}");
    }
    let stmts = statements(&f["Policies"]);
    let mut cf_actions: Vec<String> = Vec::new();
    for s in &stmts {
        assert_eq!(s["Effect"], "Allow", "{s}");
        assert_ne!(s["Resource"], "*", "statement with a * resource: {s}");
        for a in actions(s) {
            assert!(!a.contains('*'), "wildcard action {a}");
            assert!(a.starts_with("cloudfront:"), "the code calls only CloudFront itself, yet the role grants {a}");
            assert_scoped_to_the_distribution(s);
            cf_actions.push(a);
        }
    }
    cf_actions.sort();
    // Create, and read what is in progress to plan into the room left under the quotas (only
    // GetInvalidation gives an in-progress invalidation's paths).
    assert_eq!(
        cf_actions,
        ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations"]
    );
}

#[test]
fn the_state_machine_may_only_invoke_the_function_and_poll_its_distribution() {
    let t = template();
    let sm = &t["Resources"]["InvalidationStateMachine"]["Properties"];
    assert_eq!(sm["Type"], "STANDARD", "Express workflows stop at 5 minutes");
    let policies = sm["Policies"].as_array().unwrap();
    let invoke = policies.iter().find_map(|p| p.get("LambdaInvokePolicy")).expect("LambdaInvokePolicy");
    assert_eq!(invoke["FunctionName"]["Ref"], "InvalidatorFunction");
    let stmts = statements(&sm["Policies"]);
    assert_eq!(stmts.len(), 1, "{stmts:?}");
    assert_eq!(actions(&stmts[0]), ["cloudfront:GetInvalidation"]);
    assert_scoped_to_the_distribution(&stmts[0]);
}

#[test]
fn the_queue_takes_only_this_buckets_notifications() {
    let t = template();
    let doc = &t["Resources"]["ChangeQueuePolicy"]["Properties"]["PolicyDocument"];
    for s in doc["Statement"].as_array().unwrap() {
        assert_eq!(s["Principal"]["Service"], "s3.amazonaws.com");
        assert_eq!(actions(s), ["sqs:SendMessage"]);
        assert_eq!(s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"], "arn:${AWS::Partition}:s3:::${BucketName}");
        assert_eq!(s["Condition"]["StringEquals"]["aws:SourceAccount"]["Ref"], "AWS::AccountId");
    }
}

#[test]
fn no_change_is_dropped_silently() {
    let t = template();
    let r = &t["Resources"];
    let f = &r["InvalidatorFunction"]["Properties"];
    let sqs = &f["Events"]["Changes"]["Properties"];
    assert_eq!(sqs["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]));
    let timeout = t["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let visibility = r["ChangeQueue"]["Properties"]["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= 6 * timeout, "visibility {visibility} < 6 x timeout {timeout}");
    assert_eq!(
        r["ChangeQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
        "ChangeDeadLetterQueue"
    );
    assert_eq!(
        f["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"], "SQS",
        "async invokes keep their failures"
    );
}
