//! Buttons on alerts end to end: the built binary under the Lambda Runtime API emulator, Slack's
//! Web API on wiremock, the state table, ECS and Secrets Manager on a real `moto_server`. The
//! alert of a failed job is posted with its buttons; function URL requests signed as Slack signs
//! them press each one: Acknowledge edits the alert and replies in its thread, Silence holds the
//! job's next alert back in a second process sharing the table until it expires or Unsilence
//! lifts it (Datadog still counts every stop), Re-run starts the task again on moto with the
//! stopped task's settings and tells its outcome in the thread. Every request that cannot be
//! shown to be Slack's, or asks what is not allowed, is refused with 401 or 403 and changes
//! nothing.

use crate::support;

use std::time::Duration;

use chrono::Utc;
use ecs_notifier::config::Secret;
use ecs_notifier::interact::verify::sign;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::lambda::{expect_response, Lambda};
use support::{ContainerSeed, Moto};

const TABLE: &str = "ecs-notifier-state";
const SIGNING: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TS: &str = "1764900000.000100";
const ALLOWED: &str = "U0ONCALL";
const GROUPIE: &str = "U0GROUPIE";
const RUNBOOK: &str = "https://wiki.example/runbooks/nightly-report";
const POLL_WITHIN: Duration = Duration::from_secs(10);

/// Everything a function process is pointed at.
struct Rig {
    moto: Moto,
    slack: MockServer,
    datadog: MockServer,
    secret_arn: String,
    cluster: String,
    task_definition: String,
    subnet: String,
    ecs: aws_sdk_ecs::Client,
}

async fn rig() -> Rig {
    let moto = Moto::start().await;
    moto.warm_up().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let config = support::sdk_config(&moto.endpoint).await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    let cluster = support::seed_cluster(&ecs, "batch").await;
    let network = moto.awsvpc().await;
    let vpc = network.awsvpc_configuration().expect("awsvpc");
    let (subnet, security_group) = (vpc.subnets()[0].clone(), vpc.security_groups()[0].clone());
    let tags = [
        ("ecs-notifier:runbook", RUNBOOK),
        ("ecs-notifier:rerun", "true"),
        ("ecs-notifier:rerun-network", security_group.as_str()),
    ];
    let task_definition = support::seed_task_definition(
        &ecs,
        "nightly-report",
        &[ContainerSeed {
            memory: Some(512),
            ..ContainerSeed::new("app", "nightly-report:1")
        }],
        &tags,
    )
    .await;
    let secret_arn = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name("ecs-notifier/slack-signing-secret")
        .secret_string(SIGNING)
        .send()
        .await
        .expect("CreateSecret")
        .arn()
        .expect("ARN")
        .to_string();
    let slack = MockServer::start().await;
    let posted = json!({"ok": true, "channel": "C0OPS", "ts": TS});
    for method_path in ["/api/chat.postMessage", "/api/chat.update"] {
        Mock::given(method("POST"))
            .and(path(method_path))
            .respond_with(ResponseTemplate::new(200).set_body_json(posted.clone()))
            .mount(&slack)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/api/usergroups.users.list"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "users": [GROUPIE]})),
        )
        .mount(&slack)
        .await;
    let datadog = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_body_string("{}"))
        .mount(&datadog)
        .await;
    Rig {
        moto,
        slack,
        datadog,
        secret_arn,
        cluster,
        task_definition,
        subnet,
        ecs,
    }
}

/// A function process with buttons on, sharing the table.
async fn function(rig: &Rig) -> Lambda {
    let api = format!("{}/api", rig.slack.uri());
    let dd = rig.datadog.uri();
    let allowed = format!("{ALLOWED},S0ONCALL");
    let env: Vec<(&str, &str)> = vec![
        ("SLACK_BOT_TOKEN", "xoxb-test-token"),
        ("SLACK_CHANNEL", "ops-alerts"),
        ("SLACK_API_URL", &api),
        ("SLACK_SIGNING_SECRET_ARN", &rig.secret_arn),
        ("RERUN_ALLOWED", &allowed),
        ("SILENCE_DURATIONS", "3s,1h"),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", &dd),
        ("STATE_TABLE", TABLE),
        ("FLOOD_WINDOW_SECONDS", "0"),
        ("GROUP_WINDOW_SECONDS", "0"),
        ("LOG_LINES", "0"),
        ("AWS_ENDPOINT_URL", &rig.moto.endpoint),
        ("AWS_REGION", support::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let mut lambda = Lambda::spawn(&env).await;
    lambda.wait_polling(POLL_WITHIN).await;
    lambda
}

/// A STOPPED event of the job `nightly-report` in the rig's cluster: task `id`, exit `code`.
fn stopped(rig: &Rig, id: &str, code: i64, started_by: &str) -> Value {
    let mut e = support::sample("task-exit-nonzero.json");
    let now = Utc::now();
    let at = |s: i64| (now - chrono::Duration::seconds(s)).to_rfc3339();
    e["id"] = json!(format!("event-{id}"));
    e["time"] = json!(at(0));
    let d = &mut e["detail"];
    d["clusterArn"] = json!(rig.cluster);
    d["taskDefinitionArn"] = json!(rig.task_definition);
    d["taskArn"] = json!(format!(
        "arn:aws:ecs:eu-west-1:123456789012:task/batch/{id}"
    ));
    d["startedBy"] = json!(started_by);
    d["containers"][0]["exitCode"] = json!(code);
    // A fuller update (with its stop code) completes the alert in place later.
    d.as_object_mut().unwrap().remove("stopCode");
    d["attachments"][0]["details"][0]["value"] = json!(rig.subnet);
    d["overrides"] = json!({"containerOverrides": [{"name": "app", "command": ["report", "--day", "2026-12-04"]}]});
    for (field, s) in [
        ("createdAt", 300),
        ("pullStartedAt", 290),
        ("pullStoppedAt", 280),
        ("startedAt", 270),
    ] {
        d[field] = json!(at(s));
    }
    for field in ["stoppingAt", "executionStoppedAt", "stoppedAt", "updatedAt"] {
        d[field] = json!(at(1));
    }
    e
}

/// The block_actions body of `user` pressing `action_id` with `value`.
fn body(user: &str, action_id: &str, value: &str) -> String {
    let payload = json!({
        "type": "block_actions", "user": {"id": user, "username": "someone"},
        "container": {"type": "message", "message_ts": TS, "channel_id": "C0OPS"},
        "response_url": "https://hooks.slack.com/actions/T0/1/abc",
        "actions": [{"type": "button", "action_id": action_id, "value": value, "block_id": "ecs-notifier-alert"}],
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// A function URL request carrying `body`, signed with `secret` at `timestamp`.
fn request(body: &str, secret: &str, timestamp: i64) -> Value {
    let ts = timestamp.to_string();
    let signature = sign(&Secret::new(secret), &ts, body.as_bytes());
    function_url(body, &ts, &signature)
}

fn function_url(body: &str, timestamp: &str, signature: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        },
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "3.3.3.3", "userAgent": "Slackbot"},
            "requestId": "r-1", "time": "05/Dec/2026:03:00:00 +0000", "timeEpoch": 0,
        },
        "body": body, "isBase64Encoded": false,
    })
}

/// Presses a button; returns the function URL response's status and body.
async fn press(lambda: &mut Lambda, id: &str, request: &Value) -> (u64, String) {
    let reported = lambda.invoke(id, request, "").await;
    let answer = expect_response(id, &reported);
    (
        answer["statusCode"].as_u64().unwrap_or(0),
        answer["body"].as_str().unwrap_or("").to_string(),
    )
}

/// Slack Web API calls to `method`, their JSON bodies.
async fn calls(slack: &MockServer, method_name: &str) -> Vec<Value> {
    support::requests_to(slack, &format!("/api/{method_name}"))
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect()
}

/// The alert id the buttons of a posted alert name.
fn alert_of(post: &Value) -> String {
    let actions = post["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .unwrap_or_else(|| panic!("no buttons in {post}"));
    actions["elements"][0]["value"]
        .as_str()
        .expect("value")
        .to_string()
}

/// Tasks a re-run started in the rig's cluster.
async fn reruns(rig: &Rig) -> Vec<aws_sdk_ecs::types::Task> {
    let listed = rig
        .ecs
        .list_tasks()
        .cluster(&rig.cluster)
        .started_by("ecs-notifier/rerun")
        .send()
        .await
        .expect("ListTasks");
    if listed.task_arns().is_empty() {
        return Vec::new();
    }
    rig.ecs
        .describe_tasks()
        .cluster(&rig.cluster)
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()
        .to_vec()
}

/// Posts the first alert, with its buttons; returns its id.
async fn first_alert(rig: &Rig, a: &mut Lambda) -> String {
    let reported = a
        .invoke(
            "alert-1",
            &stopped(rig, "t1", 1, "events-rule/nightly"),
            "event-t1",
        )
        .await;
    let report = expect_response("alert-1", &reported);
    assert_eq!(
        report["delivered"],
        json!(["slack", "datadog.distributions"]),
        "{report}"
    );
    let posts = calls(&rig.slack, "chat.postMessage").await;
    assert_eq!(posts.len(), 1);
    let buttons: Vec<&str> = posts[0]["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .and_then(|a| a["elements"].as_array())
        .expect("actions")
        .iter()
        .map(|e| e["action_id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(buttons, ["ack", "silence", "silence", "rerun", "runbook"]);
    let problems = support::block_kit::problems(&posts[0], &[]);
    assert!(problems.is_empty(), "{problems:?}");
    alert_of(&posts[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_button_acts_on_the_stored_alert() {
    let rig = rig().await;
    let mut a = function(&rig).await;
    let alert = first_alert(&rig, &mut a).await;
    let now = Utc::now().timestamp();

    // Acknowledge: the alert says who took it, and the thread says so too.
    let (status, _) = press(
        &mut a,
        "ack",
        &request(&body(ALLOWED, "ack", &alert), SIGNING, now),
    )
    .await;
    assert_eq!(status, 200);
    let updates = calls(&rig.slack, "chat.update").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(
        (updates[0]["channel"].as_str(), updates[0]["ts"].as_str()),
        (Some("C0OPS"), Some(TS))
    );
    assert_eq!(
        updates[0]["blocks"][1]["text"]["text"],
        format!("👀 <@{ALLOWED}> is on it")
    );
    let posts = calls(&rig.slack, "chat.postMessage").await;
    assert_eq!(posts[1]["thread_ts"], TS);
    assert!(posts[1]["text"].as_str().unwrap().contains("is on it"));

    // A fuller update of the same stop completes the alert in place: still taken.
    let mut fuller = stopped(&rig, "t1", 1, "events-rule/nightly");
    fuller["id"] = json!("event-t1-fuller");
    fuller["detail"]["stopCode"] = json!("EssentialContainerExited");
    fuller["detail"]["version"] = json!(8);
    let report = expect_response(
        "fuller",
        &a.invoke("fuller", &fuller, "event-t1-fuller").await,
    );
    assert_eq!(report["verdict"], "superseded", "{report}");
    let updates = calls(&rig.slack, "chat.update").await;
    assert_eq!(updates.len(), 2, "completed in place");
    assert_eq!(
        updates[1]["blocks"][1]["text"]["text"],
        format!("👀 <@{ALLOWED}> is on it")
    );
    let ids: Vec<&str> = updates[1]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["silence", "silence", "rerun", "runbook"]);

    // Silence for 3 s: a second process sharing the table holds the next alert back, while
    // Datadog still counts the stop; once the silence is over, alerts post again.
    let silence = format!("{alert}:3");
    let (status, _) = press(
        &mut a,
        "silence",
        &request(&body(ALLOWED, "silence", &silence), SIGNING, now),
    )
    .await;
    assert_eq!(status, 200);
    let posts = calls(&rig.slack, "chat.postMessage").await;
    assert_eq!(posts.len(), 3);
    let told = posts[2]["text"].as_str().unwrap();
    assert!(
        told.contains(&format!("<@{ALLOWED}> silenced alerts of nightly-report")),
        "{told}"
    );
    assert_eq!(
        posts[2]["blocks"][1]["elements"][0]["action_id"],
        "unsilence"
    );
    let mut b = function(&rig).await;
    let distributions = support::requests_to(&rig.datadog, "/api/v1/distribution_points")
        .await
        .len();
    let reported = b
        .invoke(
            "alert-2",
            &stopped(&rig, "t2", 1, "events-rule/nightly"),
            "event-t2",
        )
        .await;
    let report = expect_response("alert-2", &reported);
    assert!(
        report["silenced"].as_str().unwrap().contains(ALLOWED),
        "{report}"
    );
    assert_eq!(
        report["delivered"],
        json!(["datadog.distributions"]),
        "{report}"
    );
    assert_eq!(
        calls(&rig.slack, "chat.postMessage").await.len(),
        3,
        "nothing posted"
    );
    assert_eq!(
        support::requests_to(&rig.datadog, "/api/v1/distribution_points")
            .await
            .len(),
        distributions + 1
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let reported = b
        .invoke(
            "alert-3",
            &stopped(&rig, "t3", 1, "events-rule/nightly"),
            "event-t3",
        )
        .await;
    let report = expect_response("alert-3", &reported);
    assert_eq!(report.get("silenced"), None, "{report}");
    assert_eq!(
        calls(&rig.slack, "chat.postMessage").await.len(),
        4,
        "posted once the silence is over"
    );

    // Silence for 1 h, lifted by Unsilence: the next alert posts.
    let now = Utc::now().timestamp();
    let hour = format!("{alert}:3600");
    assert_eq!(
        press(
            &mut a,
            "silence-1h",
            &request(&body(ALLOWED, "silence", &hour), SIGNING, now)
        )
        .await
        .0,
        200
    );
    let report = expect_response(
        "alert-4",
        &b.invoke(
            "alert-4",
            &stopped(&rig, "t4", 1, "events-rule/nightly"),
            "event-t4",
        )
        .await,
    );
    assert!(report["silenced"].is_string(), "{report}");
    assert_eq!(
        press(
            &mut b,
            "unsilence",
            &request(&body(GROUPIE, "unsilence", &alert), SIGNING, now)
        )
        .await
        .0,
        200
    );
    let posts = calls(&rig.slack, "chat.postMessage").await;
    assert!(posts.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains(&format!("<@{GROUPIE}> lifted the silence")));
    let report = expect_response(
        "alert-5",
        &b.invoke(
            "alert-5",
            &stopped(&rig, "t5", 1, "events-rule/nightly"),
            "event-t5",
        )
        .await,
    );
    assert_eq!(report.get("silenced"), None, "{report}");
    assert_eq!(
        report["delivered"],
        json!(["slack", "datadog.distributions"]),
        "{report}"
    );

    // Re-run, by a member of the allowed user group: the stopped task's settings, on moto.
    let (status, _) = press(
        &mut b,
        "rerun",
        &request(&body(GROUPIE, "rerun", &alert), SIGNING, now),
    )
    .await;
    assert_eq!(status, 200);
    let started = reruns(&rig).await;
    let last = calls(&rig.slack, "chat.postMessage").await.pop().unwrap();
    assert_eq!(started.len(), 1, "{last}\n{}", rig.moto.output());
    let task = &started[0];
    assert_eq!(
        task.task_definition_arn(),
        Some(rig.task_definition.as_str())
    );
    assert_eq!(task.cluster_arn(), Some(rig.cluster.as_str()));
    assert_eq!(
        task.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    assert_eq!(task.group(), Some("family:nightly-report"));
    let command = task
        .overrides()
        .map(|o| o.container_overrides()[0].command().to_vec());
    assert_eq!(
        command,
        Some(vec!["report".into(), "--day".into(), "2026-12-04".into()])
    );
    let subnets: Vec<&str> = task
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .filter(|d| d.name() == Some("subnetId"))
        .filter_map(|d| d.value())
        .collect();
    assert_eq!(subnets, [rig.subnet.as_str()], "the stopped task's subnet");
    let new_arn = task.task_arn().expect("task ARN").to_string();
    let posts = calls(&rig.slack, "chat.postMessage").await;
    let told = posts.last().unwrap();
    assert_eq!(told["thread_ts"], TS);
    assert!(told["text"].as_str().unwrap().contains(&new_arn), "{told}");

    // The re-run's stop is told in the alert's thread.
    let new_id = new_arn.rsplit('/').next().unwrap().to_string();
    let mut done = stopped(&rig, &new_id, 0, "ecs-notifier/rerun");
    done["detail"]["taskArn"] = json!(new_arn);
    let report = expect_response(
        "rerun-done",
        &a.invoke("rerun-done", &done, &format!("event-{new_id}"))
            .await,
    );
    assert_eq!(report["verdict"], "success", "{report}");
    let posts = calls(&rig.slack, "chat.postMessage").await;
    let outcome = posts.last().unwrap();
    assert_eq!(outcome["thread_ts"], TS, "{outcome}");
    assert!(
        outcome["text"]
            .as_str()
            .unwrap()
            .contains("Re-run of nightly-report finished"),
        "{outcome}"
    );
    // Every message posted or edited is valid Block Kit, as Slack's own SDK reads it.
    let mut bodies = calls(&rig.slack, "chat.postMessage").await;
    bodies.extend(calls(&rig.slack, "chat.update").await);
    let users = [format!("<@{ALLOWED}>"), format!("<@{GROUPIE}>")];
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    for body in &bodies {
        let problems = support::block_kit::problems(body, &users);
        assert!(problems.is_empty(), "{problems:?} in {body}");
    }
    let (valid, said) = crate::block_kit::slack_sdk_check("buttons", &bodies);
    assert!(valid, "{said}");
    let logs = a.stop().await.stdout.join("\n") + &b.stop().await.stdout.join("\n");
    for line in [
        "\"action\":\"Acknowledge\"",
        "\"action\":\"Rerun\"",
        "\"action\":\"Unsilence\"",
    ] {
        assert!(
            logs.contains(line) && logs.contains(GROUPIE),
            "{line} in\n{logs}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_change_nothing() {
    let rig = rig().await;
    let mut a = function(&rig).await;
    let alert = first_alert(&rig, &mut a).await;
    let now = Utc::now().timestamp();
    let ack = body(ALLOWED, "ack", &alert);
    let signed = request(&ack, SIGNING, now);
    let altered = {
        let mut r = signed.clone();
        r["body"] = json!(body(ALLOWED, "ack", "00000000deadbeef00000000"));
        r
    };
    let big = format!("{ack}&pad={}", "x".repeat(200 * 1024));
    let refused: Vec<(&str, Value, u64)> = vec![
        (
            "a bad signature",
            request(&ack, "not-the-signing-secret", now),
            401,
        ),
        (
            "a timestamp 6 minutes old",
            request(&ack, SIGNING, now - 360),
            401,
        ),
        ("a body altered after signing", altered, 401),
        (
            "a user not allowed to re-run",
            request(&body("U0STRANGER", "rerun", &alert), SIGNING, now),
            403,
        ),
        (
            "an alert that does not exist",
            request(
                &body(ALLOWED, "ack", "00000000deadbeef00000000"),
                SIGNING,
                now,
            ),
            403,
        ),
        ("an oversized body", request(&big, SIGNING, now), 401),
    ];
    let before = (
        calls(&rig.slack, "chat.postMessage").await.len(),
        calls(&rig.slack, "chat.update").await.len(),
    );
    for (i, (what, req, status)) in refused.iter().enumerate() {
        let (got, why) = press(&mut a, &format!("refused-{i}"), req).await;
        assert_eq!(got, *status, "{what}: {why}");
        let after = (
            calls(&rig.slack, "chat.postMessage").await.len(),
            calls(&rig.slack, "chat.update").await.len(),
        );
        assert_eq!(after, before, "{what}: nothing posted or edited");
        assert!(reruns(&rig).await.is_empty(), "{what}: no task started");
    }
    // The same request twice: done once, refused the second time.
    assert_eq!(press(&mut a, "once", &signed).await.0, 200);
    assert_eq!(calls(&rig.slack, "chat.update").await.len(), 1);
    let (status, why) = press(&mut a, "replayed", &signed).await;
    assert_eq!((status, why.as_str()), (401, "request seen before"));
    assert_eq!(
        calls(&rig.slack, "chat.update").await.len(),
        1,
        "replay changed nothing"
    );
    a.stop().await;
}

/// Webhook mode keeps links only: the runbook as a URL button, nothing that would need a press
/// answered; without a signing secret, app mode posts no interactive button either.
#[tokio::test]
async fn without_interactivity_only_the_runbook_link_is_a_button() {
    use ecs_notifier::handler::Notifier;
    let ecs = support::server_with(support::aws_json(json!({
        "taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly-report:23",
            "family": "nightly-report", "revision": 23, "containerDefinitions": [{"name": "app", "essential": true}]},
        "tags": [{"key": "ecs-notifier:runbook", "value": RUNBOOK}, {"key": "ecs-notifier:rerun", "value": "true"}]
    })))
    .await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C0OPS", "ts": TS})),
        )
        .mount(&slack)
        .await;
    let webhook = format!("{}/services/T0/B0/X", slack.uri());
    let api = format!("{}/api", slack.uri());
    let modes: [&[(&str, &str)]; 2] = [
        &[("SLACK_WEBHOOK_URL", &webhook)],
        &[
            ("SLACK_BOT_TOKEN", "xoxb-test-token"),
            ("SLACK_CHANNEL", "ops-alerts"),
            ("SLACK_API_URL", &api),
        ],
    ];
    for (i, vars) in modes.into_iter().enumerate() {
        let config = support::config(vars);
        let enricher = support::enricher_without_logs(&ecs.uri()).await;
        let n = Notifier::with_enricher(&config, Some(enricher)).unwrap();
        let report = n
            .handle(
                &support::sample("task-exit-nonzero.json"),
                support::soon(10),
                Some("123456789012"),
            )
            .await
            .unwrap();
        assert_eq!(report.delivered, vec!["slack"]);
        let sent = support::requests(&slack).await;
        let body: Value = serde_json::from_slice(&sent[i].body).unwrap();
        let actions: Vec<&Value> = body["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .collect();
        assert_eq!(actions.len(), 1, "{body}");
        let elements = actions[0]["elements"].as_array().unwrap();
        assert_eq!(elements.len(), 1, "{body}");
        assert_eq!(elements[0]["url"], RUNBOOK);
        assert_eq!(elements[0]["action_id"], "runbook");
    }
}
