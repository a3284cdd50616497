//! The SAM template: cfn-lint clean, and least privilege read off the template itself — no `*`
//! resource for CloudFront actions, only the actions the code uses, the queue open only to the
//! bucket's notifications, and nothing a failure could drop silently. The queue timings are
//! recomputed here from their formula, because CloudFormation cannot compute them and cfn-lint
//! checks neither a missing mapping row nor Lambda's rules for batching windows.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::support::repo;
use crate::venv::venv_bin;

/// The template as JSON, decoded by cfn-lint's own CloudFormation YAML reader (it knows `!Ref`,
/// `!Sub`, `!GetAtt`); once for all the tests of this file.
fn template() -> Value {
    static TEMPLATE: OnceLock<Value> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let out = Command::new(venv_bin("python"))
                .args(["-c", "import json; from cfnlint.decode import decode; t, m = decode('template.yaml'); assert not m, m; print(json.dumps(t))"])
                .current_dir(repo())
                .output()
                .expect("run python");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .clone()
}

/// How long a change may wait for room under CloudFront's in-progress quotas before SQS may
/// dead-letter it: twice a 60-minute invalidation (40 minutes is the longest reported).
const WAITING_BUDGET_SECONDS: u64 = 7_200;

/// AWS's recommendation for an SQS event source: visibility timeout = 6 x the function timeout +
/// the batching window.
fn visibility_timeout(function_timeout: u64, window: u64) -> u64 {
    6 * function_timeout + window
}

/// The smallest maxReceiveCount whose last receive comes at least the budget after the first:
/// (n - 1) x visibility >= budget.
fn max_receive_count(visibility: u64) -> u64 {
    WAITING_BUDGET_SECONDS.div_ceil(visibility) + 1
}

fn as_u64(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or_else(|| panic!("not a whole number: {v}")),
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a whole number: {v}")),
        other => panic!("not a number: {other}"),
    }
}

/// Every value a number-valued property can take: a literal, or a `Ref` to a parameter (its
/// `AllowedValues`, else every value from `MinValue` to `MaxValue`).
fn possible_numbers(t: &Value, v: &Value) -> Vec<u64> {
    let Some(name) = v.get("Ref").and_then(Value::as_str) else { return vec![as_u64(v)] };
    let p = &t["Parameters"][name];
    assert_eq!(p["Type"], "Number", "parameter {name}");
    if let Some(allowed) = p["AllowedValues"].as_array() {
        return allowed.iter().map(as_u64).collect();
    }
    let (min, max) = (p.get("MinValue"), p.get("MaxValue"));
    let (min, max) =
        (min.unwrap_or_else(|| panic!("{name}: no MinValue")), max.unwrap_or_else(|| panic!("{name}: no MaxValue")));
    (as_u64(min)..=as_u64(max)).collect()
}

/// The function's SQS event sources: (event name, its properties, the queue's resource name).
fn sqs_events(t: &Value) -> Vec<(String, Value, String)> {
    let events = t["Resources"]["InvalidatorFunction"]["Properties"]["Events"].as_object().unwrap();
    let found: Vec<_> = events
        .iter()
        .filter(|(_, e)| e["Type"] == "SQS")
        .map(|(name, e)| {
            let p = e["Properties"].clone();
            let queue = p["Queue"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: Queue is not a queue of this template"))
                .to_string();
            (name.clone(), p, queue)
        })
        .collect();
    assert!(!found.is_empty(), "no SQS event source");
    found
}

fn function_timeout(t: &Value) -> u64 {
    let own = &t["Resources"]["InvalidatorFunction"]["Properties"]["Timeout"];
    assert!(own.is_null(), "the function overrides Globals.Function.Timeout: {own}");
    as_u64(&t["Globals"]["Function"]["Timeout"])
}

fn find_in_timings(column: &str) -> Value {
    serde_json::json!({"Fn::FindInMap": ["QueueTimings", {"Ref": "BatchingWindowSeconds"}, column]})
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

/// Rule: checkov's IaC security scan passes; every finding is fixed or skipped
/// inline with a one-line reason (`checkov:skip=ID:reason`). Offline: `--skip-download` makes no
/// platform call, BC_SKIP_MAPPING skips the guideline mapping and CKV_SKIP_PACKAGE_UPDATE_CHECK
/// the version check (checked with the network unshared: `unshare -rn`).
#[test]
fn template_passes_checkov_offline() {
    let out = Command::new(venv_bin("checkov"))
        .args(["-f", "template.yaml", "--framework", "cloudformation", "--skip-download", "--compact", "--quiet"])
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env_remove("BC_API_KEY")
        .env_remove("PRISMA_API_URL")
        .current_dir(repo())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Failed checks: 0"), "{text}");
    // Every skip says why, on its own line.
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    for line in text.lines().filter(|l| l.contains("checkov:skip=")) {
        let reason = line.split_once("checkov:skip=").unwrap().1.split_once(':').map(|(_, r)| r.trim());
        assert!(reason.is_some_and(|r| r.len() > 20), "a skip without its reason: {line}");
    }
    // The queues stay on SQS-managed encryption (no KMS key to manage or pay for).
    let t = template();
    for q in ["ChangeQueue", "ChangeDeadLetterQueue", "FailedEventQueue", "FailedEventDeadLetterQueue"] {
        let p = &t["Resources"][q]["Properties"];
        assert_eq!((&p["SqsManagedSseEnabled"], p.get("KmsMasterKeyId")), (&json!(true), None), "{q}");
    }
}

/// A policy list with its conditional entries (`Fn::If [cond, policy, AWS::NoValue]`) as
/// `(Some(cond), policy)`.
fn conditional_policies(policies: &Value) -> Vec<(Option<String>, Value)> {
    policies
        .as_array()
        .unwrap()
        .iter()
        .map(|p| match p.get("Fn::If").and_then(Value::as_array) {
            Some(branches) => {
                assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "the other branch grants nothing: {p}");
                (Some(branches[0].as_str().unwrap().to_string()), branches[1].clone())
            }
            None => (None, p.clone()),
        })
        .collect()
}

/// Rule: a distribution of this account that ROUTES names gets the same three actions, on
/// exactly the ARNs built from `OtherDistributionIds`; a distribution of another account is
/// reached by assuming exactly the roles in `CrossAccountRoleArns`; both only when given.
#[test]
fn routes_widen_the_role_only_to_what_they_name() {
    let t = template();
    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    let conditional: Vec<(String, Value)> =
        conditional_policies(&f["Policies"]).into_iter().filter_map(|(c, p)| c.map(|c| (c, p))).collect();
    let by = |cond: &str| -> Value {
        let (_, p) = conditional.iter().find(|(c, _)| c == cond).unwrap_or_else(|| panic!("no {cond} policy"));
        let stmts = p["Statement"].as_array().unwrap();
        assert_eq!(stmts.len(), 1, "{p}");
        stmts[0].clone()
    };
    let other = by("HasOtherDistributions");
    assert_eq!(
        actions(&other),
        ["cloudfront:CreateInvalidation", "cloudfront:ListInvalidations", "cloudfront:GetInvalidation"]
    );
    let ids = other["Resource"].to_string();
    assert!(ids.contains("OtherDistributionIds") && ids.contains(":distribution/"), "{ids}");
    let roles = by("AssumesRoles");
    assert_eq!(actions(&roles), ["sts:AssumeRole"]);
    assert_eq!(roles["Resource"], json!({"Ref": "CrossAccountRoleArns"}));
    for (cond, param) in [("HasOtherDistributions", "OtherDistributionIds"), ("AssumesRoles", "CrossAccountRoleArns")] {
        assert!(t["Conditions"][cond].to_string().contains(param), "{cond} tests {param}");
        assert_eq!(t["Parameters"][param]["Default"], "", "{param}: nothing unless given");
    }
    assert_eq!(
        t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"]["ROUTES"],
        json!({"Ref": "Routes"})
    );
}

/// Resolves the few intrinsic functions the tenant statements use (`Ref` to a parameter given
/// in `params`, `Fn::Sub` with `AWS::Partition` aws and `AWS::AccountId` 123456789012, `Fn::Join`,
/// `Fn::Split`), so that a test sees the ARNs a deployment would get.
fn intrinsics(v: &Value, params: &Value) -> Value {
    let text = |v: &Value| intrinsics(v, params).as_str().unwrap_or_else(|| panic!("not text: {v}")).to_string();
    let Some((f, args)) = v.as_object().and_then(|o| o.iter().next()) else { return v.clone() };
    match f.as_str() {
        "Ref" => params[args.as_str().unwrap()].clone(),
        "Fn::Join" => {
            let parts = intrinsics(&args[1], params);
            let parts: Vec<String> =
                parts.as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
            json!(parts.join(&text(&args[0])))
        }
        "Fn::Split" => json!(text(&args[1]).split(&text(&args[0])).collect::<Vec<_>>()),
        "Fn::Sub" => {
            let (template, vars) = match args {
                Value::String(t) => (t.clone(), json!({})),
                other => (other[0].as_str().unwrap().to_string(), other[1].clone()),
            };
            let mut out = template.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", "123456789012");
            for (name, value) in vars.as_object().unwrap() {
                out = out.replace(&format!("${{{name}}}"), &text(value));
            }
            json!(out)
        }
        other => panic!("{other} is not evaluated here"),
    }
}

/// Rule: distribution tenants get the tenant actions only, on exactly the tenants
/// `DistributionTenants` names (PARENT/TENANT pairs), on both the tenant's ARN and its parent
/// distribution's (unsettled which one AWS authorizes them on); the workflow may only poll them.
/// Nothing unless given.
#[test]
fn tenants_get_the_tenant_actions_on_the_tenant_and_its_parent() {
    let t = template();
    assert_eq!(t["Parameters"]["DistributionTenants"]["Default"], "");
    assert!(t["Conditions"]["HasTenants"].to_string().contains("DistributionTenants"));
    let params = json!({"DistributionTenants": ["E2ABC/dt_acme", "E2ABC/dt_globex", "EOTHER1/dt_x-1"]});
    let arn = |kind: &str, id: &str| format!("arn:aws:cloudfront::123456789012:{kind}/{id}");
    let want = json!([
        arn("distribution", "E2ABC"),
        arn("distribution-tenant", "dt_acme"),
        arn("distribution", "E2ABC"),
        arn("distribution-tenant", "dt_globex"),
        arn("distribution", "EOTHER1"),
        arn("distribution-tenant", "dt_x-1")
    ]);
    // (resource, its policies, the statement's actions)
    let cases = [
        (
            "InvalidatorFunction",
            vec![
                "cloudfront:CreateInvalidationForDistributionTenant",
                "cloudfront:ListInvalidationsForDistributionTenant",
                "cloudfront:GetInvalidationForDistributionTenant",
            ],
        ),
        ("InvalidationStateMachine", vec!["cloudfront:GetInvalidationForDistributionTenant"]),
    ];
    for (resource, want_actions) in cases {
        let policies = &t["Resources"][resource]["Properties"]["Policies"];
        let tenant: Vec<Value> = conditional_policies(policies)
            .into_iter()
            .filter_map(|(c, p)| (c.as_deref() == Some("HasTenants")).then_some(p))
            .collect();
        assert_eq!(tenant.len(), 1, "{resource}: one tenant policy");
        let stmts = tenant[0]["Statement"].as_array().unwrap();
        assert_eq!(stmts.len(), 1, "{resource}");
        assert_eq!(actions(&stmts[0]), want_actions, "{resource}");
        assert_eq!(intrinsics(&stmts[0]["Resource"], &params), want, "{resource}");
        // No other statement of the resource names a tenant action.
        let others = statements(policies).into_iter().filter(|s| s != &stmts[0]);
        for s in others {
            assert!(!actions(&s).iter().any(|a| a.contains("DistributionTenant")), "{resource}: {s}");
        }
    }
}

/// Rule (metrics by the parent): the function gets `DistributionTenants`' pairs as
/// `DISTRIBUTION_TENANTS`, joined as the function reads them, so that a tenant's metrics are by the
/// parent distribution IAM is granted on; the default gives no tenants and a valid configuration.
#[test]
fn the_function_knows_each_tenants_parent_from_the_same_parameter() {
    let t = template();
    let env = &t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"];
    let variable = &env["DISTRIBUTION_TENANTS"];
    assert!(variable.to_string().contains(r#"{"Ref":"DistributionTenants"}"#), "{variable}");
    // (the parameter as CloudFormation passes a CommaDelimitedList, the tenant → parent map)
    let cases: [(Value, &[(&str, &str)]); 3] = [
        (json!([""]), &[]),
        (json!(["E2ABC/dt_acme"]), &[("dt_acme", "E2ABC")]),
        (
            json!(["E2ABC/dt_acme", "E2ABC/dt_globex", "EOTHER1/dt_x-1"]),
            &[("dt_acme", "E2ABC"), ("dt_globex", "E2ABC"), ("dt_x-1", "EOTHER1")],
        ),
    ];
    for (pairs, want) in cases {
        let value = intrinsics(variable, &json!({ "DistributionTenants": pairs }));
        let value = value.as_str().unwrap_or_else(|| panic!("not text: {value}"));
        let cfg = cf_invalidator::Config::from_pairs(&[("DISTRIBUTION_TENANTS", value)])
            .unwrap_or_else(|e| panic!("{pairs}: {e}"));
        let got: Vec<(String, String)> =
            cfg.tenant_parents.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect();
        let want: Vec<(String, String)> = want.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect();
        assert_eq!(got, want, "{pairs}");
    }
}

#[test]
fn the_function_may_only_create_list_and_get_invalidations_on_its_distribution() {
    let t = template();
    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    let unconditional: Vec<Value> =
        conditional_policies(&f["Policies"]).into_iter().filter_map(|(c, p)| c.is_none().then_some(p)).collect();
    for p in &unconditional {
        assert!(p.get("Statement").is_some(), "a managed policy or policy template widens the role: {p}");
    }
    let stmts = statements(&Value::Array(unconditional));
    let mut cf_actions: Vec<String> = Vec::new();
    for s in &stmts {
        assert_eq!(s["Effect"], "Allow", "{s}");
        assert_ne!(s["Resource"], "*", "statement with a * resource: {s}");
        // Held changes go back to the queues they came from (SendMessageBatch), those two only.
        if actions(s) == ["sqs:SendMessage"] {
            let queues: Vec<&Value> = s["Resource"].as_array().unwrap().iter().map(|r| &r["Fn::GetAtt"][0]).collect();
            assert_eq!(queues, [&json!("ChangeQueue"), &json!("FailedEventQueue")], "{s}");
            continue;
        }
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
fn the_state_machine_may_only_invoke_the_function_poll_its_distribution_and_publish_to_its_bus() {
    let t = template();
    let sm = &t["Resources"]["InvalidationStateMachine"]["Properties"];
    assert_eq!(sm["Type"], "STANDARD", "Express workflows stop at 5 minutes");
    let policies = sm["Policies"].as_array().unwrap();
    let invoke = policies.iter().find_map(|p| p.get("LambdaInvokePolicy")).expect("LambdaInvokePolicy");
    assert_eq!(invoke["FunctionName"]["Ref"], "InvalidatorFunction");
    let unconditional: Vec<Value> =
        conditional_policies(&sm["Policies"]).into_iter().filter_map(|(c, p)| c.is_none().then_some(p)).collect();
    let stmts = statements(&Value::Array(unconditional));
    assert_eq!(stmts.len(), 2, "{stmts:?}");
    let poll = stmts.iter().find(|s| actions(s) == ["cloudfront:GetInvalidation"]).expect("GetInvalidation");
    assert_scoped_to_the_distribution(poll);
    // The completion events: PutEvents, on the one bus the definition publishes to.
    let publish = stmts.iter().find(|s| actions(s) == ["events:PutEvents"]).expect("events:PutEvents");
    assert_eq!(publish["Effect"], "Allow");
    assert_eq!(
        publish["Resource"]["Fn::Sub"],
        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
    );
    assert_eq!(sm["DefinitionSubstitutions"]["EventBusName"]["Ref"], "EventBusName");
    assert_eq!(t["Parameters"]["EventBusName"]["Default"], "default");
}

/// Rule: the wait loop polls a distribution in another account with its
/// route's role, so the workflow's role may assume exactly the roles `CrossAccountRoleArns` names,
/// only when some are named; the definition takes the role from each invalidation (`role_arn`).
#[test]
fn the_workflow_may_assume_exactly_the_routes_roles() {
    let t = template();
    let sm = &t["Resources"]["InvalidationStateMachine"]["Properties"];
    let assumes: Vec<Value> = conditional_policies(&sm["Policies"])
        .into_iter()
        .filter(|(_, p)| statements(&json!([p])).iter().any(|s| actions(s).iter().any(|a| a.starts_with("sts:"))))
        .map(|(c, p)| {
            assert_eq!(c.as_deref(), Some("AssumesRoles"), "only when roles are named: {p}");
            p
        })
        .collect();
    assert_eq!(assumes.len(), 1, "{assumes:?}");
    let stmts = statements(&json!(assumes));
    assert_eq!(stmts.len(), 1, "{stmts:?}");
    assert_eq!((stmts[0]["Effect"].as_str(), actions(&stmts[0])), (Some("Allow"), vec!["sts:AssumeRole".to_string()]));
    assert_eq!(stmts[0]["Resource"], json!({"Ref": "CrossAccountRoleArns"}));
    // The roles must trust the workflow's role: its ARN is an output.
    assert_eq!(
        t["Outputs"]["StateMachineRoleArn"]["Value"]["Fn::GetAtt"],
        json!(["InvalidationStateMachineRole", "Arn"])
    );
    let definition = std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json")).unwrap();
    assert!(definition.contains(r#""RoleArn.$": "$.invalidation.role_arn""#), "the poll takes the item's role");
}

/// The state machine's ARN as the function and its policy must spell it: built from the explicit
/// name, never a reference to the state machine (which refers to the function: a cycle).
const TRACKING_ARN: &str =
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-invalidate";

#[test]
fn the_function_may_start_only_its_own_workflow_and_only_when_tracking() {
    let t = template();
    let p = &t["Parameters"]["TrackCompletions"];
    assert_eq!(
        (&p["Default"], &p["AllowedValues"]),
        (&serde_json::json!("false"), &serde_json::json!(["true", "false"]))
    );
    assert_eq!(t["Conditions"]["Track"], serde_json::json!({"Fn::Equals": [{"Ref": "TrackCompletions"}, "true"]}));
    let sm = &t["Resources"]["InvalidationStateMachine"]["Properties"];
    assert_eq!(sm["Name"]["Fn::Sub"], "${AWS::StackName}-invalidate", "the name the ARN below is built from");

    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    let conditional: Vec<&Value> =
        f["Policies"].as_array().unwrap().iter().filter_map(|p| p.get("Fn::If")).filter(|c| c[0] == "Track").collect();
    assert_eq!(conditional.len(), 1, "one tracking policy: {conditional:?}");
    let [condition, when_tracking, otherwise] = conditional[0].as_array().unwrap().as_slice() else {
        panic!("Fn::If [condition, then, else]")
    };
    assert_eq!(condition, "Track");
    assert_eq!(otherwise, &serde_json::json!({"Ref": "AWS::NoValue"}), "no grant without tracking");
    let stmts = when_tracking["Statement"].as_array().expect("a statement, not a managed policy");
    assert_eq!(stmts.len(), 1, "{stmts:?}");
    assert_eq!(stmts[0]["Effect"], "Allow");
    assert_eq!(actions(&stmts[0]), ["states:StartExecution"]);
    assert_eq!(stmts[0]["Resource"]["Fn::Sub"], TRACKING_ARN);

    // The same ARN in the environment when tracking, empty (tracking off) otherwise.
    let env = &f["Environment"]["Variables"]["TRACK_STATE_MACHINE_ARN"];
    assert_eq!(env, &serde_json::json!({"Fn::If": ["Track", {"Fn::Sub": TRACKING_ARN}, ""]}));
    assert!(
        !f.to_string().contains("InvalidationStateMachine"),
        "the function refers to the state machine, which refers to the function: a circular dependency"
    );
}

#[test]
fn every_placeholder_of_the_definition_is_substituted() {
    let t = template();
    let subs = t["Resources"]["InvalidationStateMachine"]["Properties"]["DefinitionSubstitutions"]
        .as_object()
        .unwrap()
        .clone();
    let definition = std::fs::read_to_string(repo().join("statemachine/invalidate.asl.json")).unwrap();
    let mut used: Vec<&str> = definition.split("${").skip(1).filter_map(|rest| rest.split('}').next()).collect();
    used.sort_unstable();
    used.dedup();
    let mut given: Vec<&str> = subs.keys().map(String::as_str).collect();
    given.sort_unstable();
    assert_eq!(used, given, "placeholders in the definition and DefinitionSubstitutions");
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
    let rows = t["Mappings"]["QueueTimings"].as_object().unwrap();
    for (name, event, queue) in sqs_events(&t) {
        assert_eq!(event["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]), "{name}");
        let q = &r[&queue]["Properties"];
        let dlq = q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{queue}: no dead-letter queue"));
        assert_ne!(dlq, queue);
        assert!(
            sqs_events(&t).iter().all(|(_, _, q)| q != dlq),
            "{dlq} is read by the function: nothing would stay there"
        );
        // Never expired before its last receive.
        let retention = as_u64(&q["MessageRetentionPeriod"]);
        for (window, row) in rows {
            let last = as_u64(&row["MaxReceiveCount"]) * as_u64(&row["VisibilityTimeout"]);
            assert!(
                retention > last,
                "{queue}: retention {retention} s ends before the last receive ({last} s, window {window})"
            );
        }
        // A standard queue's message keeps its enqueue time in the dead-letter queue, so that queue
        // must keep messages longer than the source did.
        let dlq_retention = as_u64(&r[dlq]["Properties"]["MessageRetentionPeriod"]);
        assert!(dlq_retention > retention, "{dlq} keeps {dlq_retention} s, {queue} {retention} s");
    }
    let f = &r["InvalidatorFunction"]["Properties"];
    assert_eq!(
        f["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"], "SQS",
        "async invokes keep their failures"
    );
}

#[test]
fn batching_window_is_at_least_one_second_because_batch_size_is_over_ten() {
    let t = template();
    for (name, event, _) in sqs_events(&t) {
        let batch_sizes = possible_numbers(&t, &event["BatchSize"]);
        let windows = possible_numbers(&t, &event["MaximumBatchingWindowInSeconds"]);
        for &batch in &batch_sizes {
            assert!((1..=10_000).contains(&batch), "{name}: BatchSize {batch} (standard queues: 1-10,000)");
            for &window in &windows {
                assert!(window <= 300, "{name}: window {window} s (at most 300)");
                assert!(
                    batch <= 10 || window >= 1,
                    "{name}: BatchSize {batch} with window {window} s: Lambda needs a window of at least 1 s above 10"
                );
            }
        }
    }
    let p = &t["Parameters"]["BatchingWindowSeconds"];
    assert_eq!(as_u64(&p["Default"]), 20);
    assert!(possible_numbers(&t, &serde_json::json!({"Ref": "BatchingWindowSeconds"})).contains(&20));
}

#[test]
fn visibility_is_six_timeouts_plus_the_window_and_receives_outlast_the_waiting_budget() {
    let t = template();
    let timeout = function_timeout(&t);
    assert_eq!(timeout, 30);
    let rows = t["Mappings"]["QueueTimings"].as_object().expect("mapping QueueTimings");
    let mut windows = possible_numbers(&t, &serde_json::json!({"Ref": "BatchingWindowSeconds"}));
    let mut keys: Vec<u64> = rows.keys().map(|k| k.parse().unwrap_or_else(|_| panic!("row {k}"))).collect();
    windows.sort();
    keys.sort();
    assert_eq!(keys, windows, "one QueueTimings row per allowed BatchingWindowSeconds, no more");
    for (key, row) in rows {
        let window: u64 = key.parse().unwrap();
        let visibility = visibility_timeout(timeout, window);
        let receives = max_receive_count(visibility);
        let budget = (receives - 1) * visibility;
        assert!(budget >= WAITING_BUDGET_SECONDS && (receives - 2) * visibility < WAITING_BUDGET_SECONDS);
        assert_eq!(as_u64(&row["VisibilityTimeout"]), visibility, "window {window}: VisibilityTimeout");
        assert_eq!(as_u64(&row["MaxReceiveCount"]), receives, "window {window}: MaxReceiveCount");
        assert_eq!(as_u64(&row["WaitingBudget"]), budget, "window {window}: WaitingBudget");
        assert!(visibility <= 43_200 && receives <= 1_000, "window {window}: beyond SQS's limits");
    }
}

#[test]
fn both_queues_take_their_timings_from_the_mapping() {
    let t = template();
    let events = sqs_events(&t);
    let mut queues: Vec<&str> = events.iter().map(|(_, _, q)| q.as_str()).collect();
    queues.sort();
    assert_eq!(queues, ["ChangeQueue", "FailedEventQueue"]);
    for (name, event, queue) in &events {
        // The row looked up is the window the event source uses.
        assert_eq!(
            event["MaximumBatchingWindowInSeconds"],
            serde_json::json!({"Ref": "BatchingWindowSeconds"}),
            "{name}"
        );
        let q = &t["Resources"][queue]["Properties"];
        assert_eq!(q["VisibilityTimeout"], find_in_timings("VisibilityTimeout"), "{queue}");
        assert_eq!(q["RedrivePolicy"]["maxReceiveCount"], find_in_timings("MaxReceiveCount"), "{queue}");
    }
}

#[test]
fn the_waiting_budget_is_stated_in_an_output() {
    let t = template();
    let out = &t["Outputs"]["WaitingBudget"];
    assert!(out["Description"].as_str().unwrap().contains("7,200 s"), "{out}");
    let sub = out["Value"]["Fn::Sub"].as_array().expect("Fn::Sub [text, variables]");
    let text = sub[0].as_str().unwrap();
    assert!(text.contains(&format!("6 x the {} s function timeout", function_timeout(&t))), "{text}");
    for (var, column) in
        [("Budget", "WaitingBudget"), ("Count", "MaxReceiveCount"), ("Visibility", "VisibilityTimeout")]
    {
        assert!(text.contains(&format!("${{{var}}}")), "{text}");
        assert_eq!(sub[1][var], find_in_timings(column));
    }
    assert!(t["Description"].as_str().unwrap().contains("at least 2 hours"));
}

#[test]
fn few_batches_run_at_once_so_waiting_changes_merge() {
    let t = template();
    for (name, event, _) in sqs_events(&t) {
        assert_eq!(
            event["ScalingConfig"]["MaximumConcurrency"],
            serde_json::json!({"Ref": "MaxConcurrentBatches"}),
            "{name}"
        );
    }
    let p = &t["Parameters"]["MaxConcurrentBatches"];
    assert_eq!(
        (as_u64(&p["Default"]), as_u64(&p["MinValue"]), as_u64(&p["MaxValue"])),
        (2, 2, 1000),
        "Lambda allows 2-1,000; the default is its minimum"
    );
    // Reserved concurrency would throttle batches the poller already received: their receive count
    // would climb towards the dead-letter queue without the function seeing them.
    assert!(t["Resources"]["InvalidatorFunction"]["Properties"]["ReservedConcurrentExecutions"].is_null());
}

#[test]
fn failed_direct_invokes_come_back_through_sqs_and_wait_like_changes() {
    let t = template();
    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    let config = &f["EventInvokeConfig"];
    assert_eq!(as_u64(&config["MaximumRetryAttempts"]), 2);
    let on_failure = &config["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"], "SQS");
    assert_eq!(on_failure["Destination"]["Fn::GetAtt"], serde_json::json!(["FailedEventQueue", "Arn"]));
    let events = sqs_events(&t);
    let (_, changes, _) = events.iter().find(|(_, _, q)| q == "ChangeQueue").expect("ChangeQueue is read");
    let (name, failed, _) =
        events.iter().find(|(_, _, q)| q == "FailedEventQueue").expect("FailedEventQueue is read by the function");
    let without_queue = |e: &Value| {
        let mut e = e.as_object().unwrap().clone();
        e.remove("Queue");
        e
    };
    assert_eq!(without_queue(failed), without_queue(changes), "{name} is read like the bucket's changes");
    let redrive = &t["Resources"]["FailedEventQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(redrive["deadLetterTargetArn"]["Fn::GetAtt"], serde_json::json!(["FailedEventDeadLetterQueue", "Arn"]));
}

#[test]
fn the_role_can_receive_from_both_queues_and_send_failures() {
    // SAM makes the role when the function names none: for SQS event sources it attaches the AWS
    // managed policy AWSLambdaSQSQueueExecutionRole (sqs:ReceiveMessage, DeleteMessage,
    // GetQueueAttributes on Resource *), and for an SQS on-failure destination it adds
    // sqs:SendMessage on that queue. Checked with the SAM translator (aws-sam-translator 1.115); a
    // `Role` here would drop all of that.
    let t = template();
    let f = &t["Resources"]["InvalidatorFunction"]["Properties"];
    assert!(
        f["Role"].is_null(),
        "an explicit Role must itself grant receiving from both queues and sending to FailedEventQueue"
    );
    let queues: Vec<String> = sqs_events(&t).into_iter().map(|(_, _, q)| q).collect();
    for q in ["ChangeQueue", "FailedEventQueue"] {
        assert!(queues.iter().any(|x| x == q), "{q} is not an SQS event source, so SAM grants no receive on it");
        assert_eq!(t["Resources"][q]["Type"], "AWS::SQS::Queue");
    }
    assert_eq!(f["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"], "SQS");
}

#[test]
fn the_bucket_notifies_every_content_change() {
    let t = template();
    let configs = t["Resources"]["SiteBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
        .as_array()
        .unwrap();
    let mut events: Vec<&str> = configs
        .iter()
        .map(|c| {
            assert_eq!(c["Queue"]["Fn::GetAtt"], serde_json::json!(["ChangeQueue", "Arn"]));
            c["Event"].as_str().unwrap()
        })
        .collect();
    events.sort();
    // LifecycleExpiration is not an ObjectRemoved event: without it, expired objects stay cached.
    assert_eq!(events, ["s3:LifecycleExpiration:*", "s3:ObjectCreated:*", "s3:ObjectRemoved:*"]);
}

/// Rule: the README's command for an existing bucket subscribes every event the template's own
/// bucket does — a user following it must not lose expirations.
#[test]
fn the_readme_command_for_an_existing_bucket_subscribes_what_the_template_does() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let command = readme
        .lines()
        .find(|l| l.contains("\"QueueConfigurations\"") && l.contains("<ChangeQueueArn>"))
        .expect("the README's put-bucket-notification-configuration command");
    for event in ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"] {
        assert!(command.contains(event), "{event} missing from: {command}");
    }
}

/// The value of a template expression for given parameter values (the others at their
/// `Default`): `Ref` to a parameter, `Fn::If` on a condition, conditions of `Fn::Equals`,
/// `Fn::Not`, `Fn::And`, `Fn::Or` and `Condition`, as CloudFormation evaluates them. `None` is
/// `Ref: AWS::NoValue`, a property left out. Other intrinsics (`Fn::GetAtt`, `Fn::Sub`, pseudo
/// parameters) stay as written.
fn resolve(t: &Value, params: &[(&str, &str)], v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) if o.len() == 1 => {
            let (k, arg) = o.iter().next().unwrap();
            match k.as_str() {
                "Ref" if arg == "AWS::NoValue" => None,
                "Ref" if t["Parameters"].get(arg.as_str().unwrap()).is_some() => {
                    Some(parameter(t, params, arg.as_str().unwrap()))
                }
                "Fn::If" => {
                    let a = arg.as_array().unwrap();
                    let branch = if condition(t, params, a[0].as_str().unwrap()) { &a[1] } else { &a[2] };
                    resolve(t, params, branch)
                }
                _ => Some(v.clone()),
            }
        }
        Value::Array(items) => Some(Value::Array(items.iter().filter_map(|i| resolve(t, params, i)).collect())),
        Value::Object(o) => {
            Some(Value::Object(o.iter().filter_map(|(k, i)| resolve(t, params, i).map(|r| (k.clone(), r))).collect()))
        }
        _ => Some(v.clone()),
    }
}

/// A parameter's value as a string (CloudFormation passes every parameter as one).
fn parameter(t: &Value, params: &[(&str, &str)], name: &str) -> Value {
    match params.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => json!(v),
        None => match &t["Parameters"][name]["Default"] {
            Value::String(s) => json!(s),
            Value::Null => panic!("parameter {name} has no Default: give it"),
            other => json!(other.to_string()),
        },
    }
}

fn condition(t: &Value, params: &[(&str, &str)], name: &str) -> bool {
    let c = &t["Conditions"][name];
    assert!(!c.is_null(), "no condition {name}");
    evaluate(t, params, c)
}

fn evaluate(t: &Value, params: &[(&str, &str)], c: &Value) -> bool {
    let (k, arg) = c.as_object().unwrap().iter().next().unwrap();
    let args = || arg.as_array().unwrap().iter();
    match k.as_str() {
        "Fn::Equals" => {
            let v: Vec<Value> = args().map(|a| resolve(t, params, a).unwrap()).collect();
            v[0] == v[1]
        }
        "Fn::Not" => !evaluate(t, params, &arg[0]),
        "Fn::And" => args().all(|a| evaluate(t, params, a)),
        "Fn::Or" => args().any(|a| evaluate(t, params, a)),
        "Condition" => condition(t, params, arg.as_str().unwrap()),
        other => panic!("condition function {other} not evaluated here"),
    }
}

/// The template's alarms: name → resource.
fn alarms(t: &Value) -> Vec<(String, Value)> {
    let found: Vec<_> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(n, r)| (n.clone(), r.clone()))
        .collect();
    assert!(!found.is_empty(), "no alarm");
    found
}

/// The README's "Alarms" section.
fn readme_alarms() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("\n## Alarms\n").expect("the README has an Alarms section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

/// Rule (README "Alarms"): each alarm watches what the README says — metric, namespace,
/// dimension, statistic, threshold, comparison — and nothing else is an alarm. All four kinds:
/// either dead-letter queue holding a message, Staleness over StalenessAlarmSeconds (3,600 by
/// default) on the distribution, TrackingFailed > 0, UnexpectedErrors > 0 (errors other than
/// waiting for room). Missing data never alarms: a quiet function publishes nothing.
#[test]
fn every_alarm_watches_what_the_readme_says() {
    let t = template();
    let sqs_dim = |q: &str| json!({"Name": "QueueName", "Value": {"Fn::GetAtt": [q, "QueueName"]}});
    let function = json!({"Name": "FunctionName", "Value": {"Ref": "InvalidatorFunction"}});
    // (alarm, namespace, metric, dimension, statistic, threshold with the defaults)
    let cases = [
        (
            "ChangeDeadLetterAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            sqs_dim("ChangeDeadLetterQueue"),
            "Maximum",
            0,
        ),
        (
            "FailedEventDeadLetterAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            sqs_dim("FailedEventDeadLetterQueue"),
            "Maximum",
            0,
        ),
        (
            "StalenessAlarm",
            "CfInvalidator",
            "Staleness",
            json!({"Name": "DistributionId", "Value": {"Ref": "DistributionId"}}),
            "Maximum",
            3600,
        ),
        ("TrackingFailedAlarm", "CfInvalidator", "TrackingFailed", function.clone(), "Sum", 0),
        ("UnexpectedErrorsAlarm", "CfInvalidator", "UnexpectedErrors", function, "Sum", 0),
    ];
    let names: BTreeSet<String> = alarms(&t).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, cases.iter().map(|c| c.0.to_string()).collect(), "the alarms are exactly these");
    let readme = readme_alarms();
    let params = [("DistributionId", "EDFDVBD632BHDS5"), ("BucketName", "my-site")];
    for (name, namespace, metric, dimension, statistic, threshold) in cases {
        let r = &t["Resources"][name];
        assert_eq!(r["Condition"], "MakeAlarms", "{name}: CreateAlarms turns it off");
        let p = &r["Properties"];
        assert_eq!(p["Namespace"], namespace, "{name}");
        assert_eq!(p["MetricName"], metric, "{name}");
        assert_eq!(p["Dimensions"], json!([dimension]), "{name}");
        assert_eq!(p["Statistic"], statistic, "{name}");
        assert_eq!(as_u64(&resolve(&t, &params, &p["Threshold"]).unwrap()), threshold, "{name}");
        assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold", "{name}");
        assert_eq!(p["TreatMissingData"], "notBreaching", "{name}");
        assert_eq!((as_u64(&p["Period"]), as_u64(&p["EvaluationPeriods"])), (300, 1), "{name}");
        for said in [name, metric] {
            assert!(readme.contains(&format!("`{said}`")), "README \"Alarms\" does not name `{said}`");
        }
    }
    assert!(readme.contains("`cfinv room"), "README \"Alarms\": the first command to run");
    assert!(readme.contains("CreateAlarms=false"), "README \"Alarms\": how to turn them off");
}

/// Rule: the dead-letter alarms watch exactly the queues the RedrivePolicies dead-letter into.
#[test]
fn the_dead_letter_alarms_watch_exactly_the_dead_letter_queues() {
    let t = template();
    let dlqs: BTreeSet<String> = sqs_events(&t)
        .into_iter()
        .map(|(_, _, q)| {
            t["Resources"][&q]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(dlqs.len(), 2, "both queues dead-letter");
    let watched: BTreeSet<String> = alarms(&t)
        .into_iter()
        .filter(|(_, a)| a["Properties"]["Namespace"] == "AWS/SQS")
        .map(|(_, a)| a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(watched, dlqs);
}

/// Rule: an alarm on the function's own metrics reads them where the function writes them — the
/// namespace the function uses with the template's environment (it does not set
/// METRICS_NAMESPACE, so the default), and the dimensions its EMF documents declare.
#[test]
fn metric_alarms_read_the_namespace_and_dimensions_the_function_emits() {
    use cf_invalidator::observe;
    let t = template();
    let env = t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"].clone();
    let namespace = cf_invalidator::Config::from_lookup(|n| env.get(n).and_then(Value::as_str).map(str::to_string))
        .unwrap()
        .metrics_namespace
        .expect("the template leaves metrics on");
    let declared = |line: &str| -> (Vec<String>, Vec<String>) {
        let doc: Value = serde_json::from_str(line).unwrap();
        let d = &doc["_aws"]["CloudWatchMetrics"][0];
        let dims = d["Dimensions"][0].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        let metrics =
            d["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap().to_string()).collect();
        (dims, metrics)
    };
    let counts = observe::DistributionCounts {
        staleness: vec![std::time::Duration::from_secs(1)],
        budget_in_force: Some(false),
        ..Default::default()
    };
    let staleness = observe::distribution_emf(&namespace, "fn", "E1", None, &counts, 0).remove(0);
    let summary = observe::emf(&observe::Summary::default(), &namespace, "fn");
    for (name, a) in alarms(&t).into_iter().filter(|(_, a)| a["Properties"]["Namespace"] != "AWS/SQS") {
        let p = &a["Properties"];
        assert_eq!(p["Namespace"], json!(namespace), "{name}");
        let metric = p["MetricName"].as_str().unwrap().to_string();
        let alarm_dims: Vec<String> =
            p["Dimensions"].as_array().unwrap().iter().map(|d| d["Name"].as_str().unwrap().to_string()).collect();
        let (dims, metrics) = [declared(&staleness), declared(&summary)]
            .into_iter()
            .find(|(_, m)| m.contains(&metric))
            .unwrap_or_else(|| panic!("{name}: the function emits no {metric}"));
        assert_eq!(alarm_dims, dims, "{name}: {metric}'s dimensions");
        assert!(metrics.contains(&metric));
    }
}

/// Parameter values given to a deployment: (name, value).
type Params<'a> = Vec<(&'a str, &'a str)>;

/// Rule: with `AlarmTopicArn`, every alarm notifies it going to ALARM and back to OK; without,
/// no action at all; `CreateAlarms=false` creates none. The defaults: on, 3,600 s, no topic.
#[test]
fn alarms_notify_the_topic_only_when_one_is_given() {
    let t = template();
    let topic = "arn:aws:sns:us-east-1:111122223333:on-call";
    let base = [("DistributionId", "EDFDVBD632BHDS5"), ("BucketName", "my-site")];
    let with =
        |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> { base.iter().chain(extra).copied().collect() };
    // (parameters, alarms created, the actions of each)
    let cases: [(Params, bool, Option<Value>); 4] = [
        (with(&[]), true, None),
        (with(&[("AlarmTopicArn", "arn:aws:sns:us-east-1:111122223333:on-call")]), true, Some(json!([topic]))),
        (with(&[("CreateAlarms", "false")]), false, None),
        (with(&[("CreateAlarms", "false"), ("AlarmTopicArn", topic)]), false, None),
    ];
    for (params, created, actions) in cases {
        for (name, a) in alarms(&t) {
            let cond = a["Condition"].as_str().unwrap_or_else(|| panic!("{name}: always created"));
            assert_eq!(condition(&t, &params, cond), created, "{name} with {params:?}");
            if !created {
                continue;
            }
            let p = resolve(&t, &params, &a["Properties"]).unwrap();
            for key in ["AlarmActions", "OKActions"] {
                assert_eq!(p.get(key), actions.as_ref(), "{name}.{key} with {params:?}");
            }
        }
    }
    let p = &t["Parameters"];
    assert_eq!((&p["CreateAlarms"]["Default"], &p["AlarmTopicArn"]["Default"]), (&json!("true"), &json!("")));
    assert_eq!(as_u64(&p["StalenessAlarmSeconds"]["Default"]), 3600);
}

/// The dashboard's body as a deployment gets it: every `Fn::Sub` variable given a value — a
/// Number parameter its default, anything else `<NAME>` — and CloudWatch's own `${!…}` labels
/// unescaped; then parsed as JSON (CloudWatch refuses a body that is not). Panics unless each
/// variable is a parameter, a resource of the template, an attribute of one, or a pseudo
/// parameter.
fn dashboard_body(t: &Value) -> Value {
    let d = &t["Resources"]["Dashboard"];
    assert_eq!(d["Type"], "AWS::CloudWatch::Dashboard");
    let text = d["Properties"]["DashboardBody"]["Fn::Sub"].as_str().expect("DashboardBody: !Sub with no variables map");
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("an unclosed ${") + start;
        let name = &rest[start + 2..end];
        rest = &rest[end + 1..];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str(&format!("${{{literal}}}"));
            continue;
        }
        let p = &t["Parameters"][name];
        if p["Type"] == "Number" {
            out.push_str(&as_u64(&p["Default"]).to_string());
            continue;
        }
        let resource = name.split('.').next().unwrap();
        assert!(
            !p.is_null() || !t["Resources"][resource].is_null() || name.starts_with("AWS::"),
            "${{{name}}} is neither a parameter, a resource nor a pseudo parameter"
        );
        out.push_str(&format!("<{name}>"));
    }
    out.push_str(rest);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}\n{out}"))
}

/// One metric a dashboard widget draws.
#[derive(Debug, Clone, PartialEq)]
struct Drawn {
    widget: String,
    namespace: String,
    name: String,
    /// (dimension, value); a SEARCH's dimension values are whatever the metrics hold (`*`).
    dimensions: Vec<(String, String)>,
    stat: String,
    period: u64,
}

/// Every metric the dashboard's widgets draw: a metric array `[namespace, name, dimension,
/// value, …, {options}]`, or an expression `SEARCH('{namespace,dimension,…}
/// MetricName="name"', 'stat', period)`.
fn drawn(body: &Value) -> Vec<Drawn> {
    let mut out = Vec::new();
    for w in body["widgets"].as_array().unwrap().iter().filter(|w| w["type"] == "metric") {
        let p = &w["properties"];
        let widget = p["title"].as_str().expect("every metric widget has a title").to_string();
        for m in p["metrics"].as_array().unwrap() {
            let m = m.as_array().unwrap();
            if let Some(expression) = m[0].get("expression").and_then(Value::as_str) {
                let search = expression.strip_prefix("SEARCH('{").unwrap_or_else(|| panic!("{widget}: {expression}"));
                let (schema, rest) = search.split_once("} MetricName=\"").unwrap();
                let (name, rest) = rest.split_once("\"', '").unwrap();
                let (stat, period) = rest.split_once("', ").unwrap();
                let mut schema = schema.split(',');
                let namespace = schema.next().unwrap().to_string();
                out.push(Drawn {
                    widget: widget.clone(),
                    namespace,
                    name: name.to_string(),
                    dimensions: schema.map(|d| (d.to_string(), "*".to_string())).collect(),
                    stat: stat.to_string(),
                    period: period.trim_end_matches(')').parse().unwrap(),
                });
                continue;
            }
            let texts: Vec<&str> = m.iter().filter_map(Value::as_str).collect();
            let options = m.iter().find(|v| v.is_object()).cloned().unwrap_or(json!({}));
            assert!(texts.len() >= 2 && texts.len() % 2 == 0, "{widget}: {m:?}");
            out.push(Drawn {
                widget: widget.clone(),
                namespace: texts[0].to_string(),
                name: texts[1].to_string(),
                dimensions: texts[2..].chunks(2).map(|d| (d[0].to_string(), d[1].to_string())).collect(),
                stat: options["stat"].as_str().or(p["stat"].as_str()).expect("a statistic").to_string(),
                period: as_u64(&p["period"]),
            });
        }
    }
    out
}

/// The README's "Dashboard" section.
fn readme_section(heading: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start =
        readme.find(&format!("\n## {heading}\n")).unwrap_or_else(|| panic!("the README has no {heading} section"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

/// Rule: the dashboard is on by default and `CreateDashboard=false` leaves it out; its
/// body is JSON once deployed.
#[test]
fn the_dashboard_is_on_by_default_and_can_be_turned_off() {
    let t = template();
    let p = &t["Parameters"]["CreateDashboard"];
    assert_eq!((&p["Default"], &p["AllowedValues"]), (&json!("true"), &json!(["true", "false"])));
    assert_eq!(t["Resources"]["Dashboard"]["Condition"], "MakeDashboard");
    let base = [("DistributionId", "EDFDVBD632BHDS5"), ("BucketName", "my-site")];
    let cases: [(&[(&str, &str)], bool); 3] =
        [(&[], true), (&[("CreateDashboard", "true")], true), (&[("CreateDashboard", "false")], false)];
    for (extra, want) in cases {
        let params: Vec<(&str, &str)> = base.iter().chain(extra).copied().collect();
        assert_eq!(condition(&t, &params, "MakeDashboard"), want, "{extra:?}");
    }
    let body = dashboard_body(&t);
    assert!(body["widgets"].as_array().is_some_and(|w| !w.is_empty()));
}

/// Rule: every metric the dashboard draws from the function's namespace is one the
/// function writes, with the dimensions it writes it with — read off the documents the code
/// itself makes (src/observe.rs), not restated here; the namespace is the function's with the
/// template's environment. The others name this template's own queues and function.
#[test]
fn the_dashboard_reads_what_the_function_writes_and_the_stacks_own_resources() {
    use cf_invalidator::observe;
    let t = template();
    let env = t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"].clone();
    let namespace = cf_invalidator::Config::from_lookup(|n| env.get(n).and_then(Value::as_str).map(str::to_string))
        .unwrap()
        .metrics_namespace
        .expect("the template leaves metrics on");
    // What the code declares, by dimension set: every metric it can write there.
    let declared = |line: &str| -> (Vec<String>, BTreeSet<String>) {
        let doc: Value = serde_json::from_str(line).unwrap();
        let d = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], json!(namespace));
        let dims = d["Dimensions"][0].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        (dims, d["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap().to_string()).collect())
    };
    let everything = observe::DistributionCounts {
        staleness: vec![std::time::Duration::from_secs(1)],
        budget_in_force: Some(true),
        ..Default::default()
    };
    let written = [
        declared(&observe::distribution_emf(&namespace, "fn", "E1", None, &everything, 0)[0]),
        declared(&observe::emf(&observe::Summary::default(), &namespace, "fn")),
    ];
    let drawn = drawn(&dashboard_body(&t));
    assert!(!drawn.is_empty());
    let stats = ["Maximum", "Sum", "Average", "p99"];
    for d in &drawn {
        assert!(stats.contains(&d.stat.as_str()), "{d:?}");
        let dims: Vec<String> = d.dimensions.iter().map(|(n, _)| n.clone()).collect();
        match d.namespace.as_str() {
            ns if ns == namespace => {
                let (_, names) = written
                    .iter()
                    .find(|(set, _)| *set == dims)
                    .unwrap_or_else(|| panic!("the function writes no metric by {dims:?}: {d:?}"));
                assert!(names.contains(&d.name), "the function writes no {} by {dims:?}: {d:?}", d.name);
                if dims == ["FunctionName"] {
                    assert_eq!(d.dimensions[0].1, "<InvalidatorFunction>", "{d:?}");
                }
            }
            "AWS/SQS" => {
                assert_eq!(d.name, "ApproximateNumberOfMessagesVisible", "{d:?}");
                let queue = d.dimensions[0].1.trim_matches(['<', '>']).strip_suffix(".QueueName").unwrap();
                assert_eq!(
                    (dims.as_slice(), t["Resources"][queue]["Type"].as_str()),
                    (&["QueueName".to_string()][..], Some("AWS::SQS::Queue")),
                    "{d:?}"
                );
            }
            "AWS/Lambda" => {
                assert_eq!(d.dimensions, [("FunctionName".to_string(), "<InvalidatorFunction>".to_string())], "{d:?}")
            }
            other => panic!("namespace {other}: {d:?}"),
        }
    }
    let dist = || vec![("DistributionId".to_string(), "*".to_string())];
    /// (what on-call must see, namespace, metric, dimensions, statistic)
    type Wanted<'a> = (&'a str, &'a str, &'a str, Vec<(String, String)>, &'a str);
    let wanted: Vec<Wanted> = vec![
        ("staleness max", &namespace, "Staleness", dist(), "Maximum"),
        ("staleness p99", &namespace, "Staleness", dist(), "p99"),
        ("changes waiting for room", &namespace, "ChangesWaiting", dist(), "Sum"),
        ("invalidations created", &namespace, "InvalidationsCreated", dist(), "Sum"),
        ("paths created", &namespace, "PathsSubmitted", dist(), "Sum"),
        ("wildcards created", &namespace, "Wildcards", dist(), "Sum"),
        ("refusals", &namespace, "Refusals", dist(), "Sum"),
        ("throttles", &namespace, "Throttled", dist(), "Sum"),
        ("budget in force", &namespace, "PathBudgetInForce", dist(), "Maximum"),
        (
            "unexpected errors",
            &namespace,
            "UnexpectedErrors",
            vec![("FunctionName".into(), "<InvalidatorFunction>".into())],
            "Sum",
        ),
        (
            "change DLQ",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            vec![("QueueName".into(), "<ChangeDeadLetterQueue.QueueName>".into())],
            "Maximum",
        ),
        (
            "failed-event DLQ",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            vec![("QueueName".into(), "<FailedEventDeadLetterQueue.QueueName>".into())],
            "Maximum",
        ),
        (
            "function errors",
            "AWS/Lambda",
            "Errors",
            vec![("FunctionName".into(), "<InvalidatorFunction>".into())],
            "Sum",
        ),
        (
            "function duration",
            "AWS/Lambda",
            "Duration",
            vec![("FunctionName".into(), "<InvalidatorFunction>".into())],
            "Maximum",
        ),
    ];
    for (what, ns, name, dimensions, stat) in wanted {
        assert!(
            drawn.iter().any(|d| d.namespace == ns && d.name == name && d.dimensions == dimensions && d.stat == stat),
            "the dashboard does not show {what}"
        );
    }
}

/// Rule: staleness is drawn against the threshold its alarm uses, the paths over 30
/// days as this function's share of the account-wide free 1,000, and the README says what each
/// widget means.
#[test]
fn the_dashboard_shows_thresholds_and_the_free_allowance_and_the_readme_explains_each_widget() {
    let t = template();
    let body = dashboard_body(&t);
    let widgets = body["widgets"].as_array().unwrap();
    let titled = |what: &str| -> &Value {
        let found: Vec<&Value> = widgets
            .iter()
            .filter(|w| w["properties"]["metrics"].to_string().contains(&format!("MetricName=\\\"{what}\\\"")))
            .collect();
        assert!(!found.is_empty(), "no widget draws {what}");
        found[0]
    };
    let params = [("DistributionId", "EDFDVBD632BHDS5"), ("BucketName", "my-site")];
    let threshold = resolve(&t, &params, &t["Resources"]["StalenessAlarm"]["Properties"]["Threshold"]).unwrap();
    let annotations = &titled("Staleness")["properties"]["annotations"]["horizontal"];
    assert_eq!(annotations[0]["value"].as_u64(), Some(as_u64(&threshold)), "{annotations}");
    assert!(t["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
        .to_string()
        .contains("${StalenessAlarmSeconds}"));

    let month: Vec<Drawn> = drawn(&body).into_iter().filter(|d| d.period == 30 * 86_400).collect();
    assert_eq!(month.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["PathsSubmitted"]);
    let w = widgets.iter().find(|w| w["properties"]["title"] == json!(month[0].widget)).unwrap();
    assert_eq!((&w["properties"]["start"], &w["properties"]["setPeriodToTimeRange"]), (&json!("-P30D"), &json!(true)));
    assert!(month[0].widget.contains("account-wide free 1,000"), "{}", month[0].widget);

    let readme = readme_section("Dashboard");
    for w in widgets.iter().filter(|w| w["type"] == "metric") {
        let title = w["properties"]["title"].as_str().unwrap();
        assert!(readme.contains(&format!("| {title} |")), "README \"Dashboard\" has no row for the widget {title:?}");
    }
    assert!(readme.contains("CreateDashboard=false"), "README \"Dashboard\": how to turn it off");
}

/// Rule: `MonthlyPathBudget` is optional (empty: no budget) and reaches the function as
/// `MONTHLY_PATH_BUDGET`; whatever its pattern lets through, the function reads as the same
/// budget, and what the function would refuse the pattern refuses first — the way someone types
/// a number into the console or a `--parameter-overrides`.
#[test]
fn the_monthly_path_budget_parameter_means_what_the_function_reads() {
    let t = template();
    let p = &t["Parameters"]["MonthlyPathBudget"];
    assert_eq!((&p["Type"], &p["Default"]), (&json!("String"), &json!("")));
    let env = &t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(env["MONTHLY_PATH_BUDGET"], json!({"Ref": "MonthlyPathBudget"}));
    let values =
        ["", "1", "800", "1000", "999999999", "0", "1,000", "1 000", "-5", "1e3", "1000000000", "08", " 5", "none"];
    let script = format!(
        "import re, json; print(json.dumps([bool(re.fullmatch({pattern:?}, v)) for v in {values:?}]))",
        pattern = p["AllowedPattern"].as_str().unwrap(),
        values = values.to_vec()
    );
    let out = Command::new(venv_bin("python")).args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let allowed: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    for (value, allowed) in values.iter().zip(allowed) {
        let read = cf_invalidator::Config::from_pairs(&[("MONTHLY_PATH_BUDGET", value)]);
        match read {
            Ok(cfg) if allowed => {
                let want = value.parse::<usize>().ok();
                assert_eq!(cfg.planner.monthly_path_budget.map(|b| b.get()), want, "{value:?}");
            }
            Err(e) => assert!(!allowed, "{value:?} passes the pattern, yet the function refuses it: {e}"),
            // Stricter than the function (a leading zero, past 999,999,999): refused at deploy.
            Ok(_) => {}
        }
    }
}

/// Rule: pacing reads the batching window the event sources are deployed with and the function's
/// own timeout: every `BatchingWindowSeconds` the template allows, passed as CloudFormation passes
/// a Number parameter (text), reads as that window, and `FUNCTION_TIMEOUT_SECONDS` is
/// `Globals.Function.Timeout`.
#[test]
fn pacing_reads_the_window_and_timeout_the_template_deploys() {
    let t = template();
    let env = &t["Resources"]["InvalidatorFunction"]["Properties"]["Environment"]["Variables"];
    for (_, event, _) in sqs_events(&t) {
        assert_eq!(
            event["MaximumBatchingWindowInSeconds"], env["BATCHING_WINDOW_SECONDS"],
            "the window read is the one deployed"
        );
    }
    let timeout = function_timeout(&t);
    assert_eq!(as_u64(&env["FUNCTION_TIMEOUT_SECONDS"]), timeout);
    for window in possible_numbers(&t, &env["BATCHING_WINDOW_SECONDS"]) {
        let value =
            intrinsics(&env["BATCHING_WINDOW_SECONDS"], &json!({ "BatchingWindowSeconds": window.to_string() }));
        let value = value.as_str().unwrap_or_else(|| panic!("not text: {value}"));
        let cfg = cf_invalidator::Config::from_pairs(&[
            ("BATCHING_WINDOW_SECONDS", value),
            ("FUNCTION_TIMEOUT_SECONDS", &timeout.to_string()),
        ])
        .unwrap_or_else(|e| panic!("window {window}: {e}"));
        let want = cf_invalidator::quota::Pace {
            window: std::time::Duration::from_secs(window),
            timeout: std::time::Duration::from_secs(timeout),
        };
        assert_eq!(cfg.pace, want, "window {window}");
    }
}
