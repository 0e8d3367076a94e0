//! Microsoft Teams through the built binary under the Lambda Runtime API emulator, with each
//! Workflow's webhook trigger a wiremock server on loopback: a failure and a deployment notice
//! as Adaptive Cards, a grouped incident (at most 5 cards naming 40 services), a 429 then the
//! post (its `Retry-After` honoured), a 500 that fails the invocation (and its retry posting
//! once), routing by tag (read from ECS on moto_server) to a named Workflow with a mention of a
//! Teams user, and Slack and Teams both for one alert; the Workflow URLs read from Secrets
//! Manager and SSM (moto_server), one in clear refused at start. The Workflow URL's signature
//! never reaches the logs or the Runtime API.

use crate::incidents::{burst, later, WINDOW_SECONDS};
use crate::support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use support::lambda::{expect_response, Lambda, Reported};
use support::{
    clients, requests, sample, seed_cluster, seed_service, seed_task_definition, ContainerSeed,
    Moto,
};

/// A Workflow trigger's path and query, as Power Automate hands them out; `sig` is the secret.
const FLOW_PATH: &str = "/workflows/5f1c2e0b/triggers/manual/paths/invoke";
const SIG: &str = "TeamsSIGs3cr3tVALUE";
const SLACK_PATH: &str = "/services/T000/B000/SLACKs3cr3t";

/// The URL of the Workflow served by `server`.
fn flow_url(server: &MockServer) -> String {
    format!(
        "{}{FLOW_PATH}?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}",
        server.uri()
    )
}

/// A Workflow trigger answering 202 Accepted (as Power Automate does) to every POST.
async fn flow() -> MockServer {
    let server = MockServer::start().await;
    mount(&server, ResponseTemplate::new(202)).await;
    server
}

async fn mount(server: &MockServer, answer: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(FLOW_PATH))
        .respond_with(answer)
        .mount(server)
        .await;
}

/// The cards a Workflow received, as JSON, each checked by the independent reading of
/// `support::teams_card` (allowing `mentions`).
async fn cards(server: &MockServer, mentions: &[&str]) -> Vec<Value> {
    requests(server)
        .await
        .iter()
        .filter(|r| r.url.path() == FLOW_PATH)
        .map(|r| card_of(r, mentions))
        .collect()
}

fn card_of(request: &Request, mentions: &[&str]) -> Value {
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
    let problems = support::teams_card::problems(&body, mentions);
    assert!(problems.is_empty(), "{problems:?} in {body}");
    body
}

/// Every string of a card's body (not its types), one per line.
fn texts(card: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| *k != "type")
                .for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&card["attachments"][0]["content"], &mut out);
    out.join("\n")
}

/// The card's title (the first text run, in the severity's container).
fn title(card: &Value) -> String {
    card["attachments"][0]["content"]["body"][0]["items"][0]["inlines"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// The function with the Workflow of `teams` as its default Teams destination (and `extra`),
/// enrichment off, no Slack, no Datadog.
async fn start(teams: &MockServer, extra: &[(&str, &str)]) -> Lambda {
    let url = flow_url(teams);
    let mut env = vec![
        ("TEAMS_WEBHOOK_URL", url.as_str()),
        ("ENRICHMENT", "off"),
        ("HTTP_TIMEOUT_MS", "2000"),
        ("FLOOD_WINDOW_SECONDS", "0"),
    ];
    env.extend_from_slice(extra);
    Lambda::spawn(&env).await
}

async fn send(lambda: &mut Lambda, request: &str, event: &Value) -> Reported {
    let id = event["id"].as_str().expect("id");
    lambda.invoke(request, event, id).await
}

/// Neither the signature nor the Slack webhook's secret path was written or reported.
fn assert_no_secret(what: &str, texts: &[String]) {
    for text in texts {
        for secret in [SIG, "SLACKs3cr3t"] {
            assert!(!text.contains(secret), "{what}: a secret in {text}");
        }
    }
}

async fn stop(lambda: Lambda, reported: &[Reported]) {
    let output = lambda.stop().await;
    let mut all = output.stdout;
    all.extend(output.stderr);
    all.extend(reported.iter().map(|r| format!("{r:?}")));
    assert_no_secret("logs and results", &all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_and_a_deployment_notice_as_cards() {
    let teams = flow().await;
    let mut lambda = start(&teams, &[]).await;
    let oom = send(&mut lambda, "req-oom", &sample("task-oom.json")).await;
    let report = expect_response("task-oom.json", &oom);
    assert_eq!(report["delivered"], json!(["teams"]), "{report}");
    let deployed = send(&mut lambda, "req-dep", &sample("deployment-completed.json")).await;
    let report = expect_response("deployment-completed.json", &deployed);
    assert_eq!(report["delivered"], json!(["teams"]), "{report}");
    stop(lambda, &[oom, deployed]).await;

    let cards = cards(&teams, &[]).await;
    assert_eq!(cards.len(), 2, "one card each");
    let card = &cards[0]["attachments"][0]["content"];
    assert_eq!(title(&cards[0]), "🔴 Out of memory: checkout-api");
    assert_eq!(card["body"][0]["style"], "attention");
    let facts = &card["body"][2]["facts"];
    assert_eq!(facts[0], json!({"title": "Cluster", "value": "prod"}));
    let oom = texts(&cards[0]);
    assert!(oom.contains("Essential container in task exited"), "{oom}");
    let buttons: Vec<&str> = card["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert_eq!(
        buttons,
        ["Task in the ECS console", "What AWS says"],
        "{card}"
    );
    let deployment = &cards[1]["attachments"][0]["content"];
    assert!(title(&cards[1]).starts_with("✅ "), "{}", title(&cards[1]));
    assert_eq!(deployment["body"][0]["style"], "good");
    let size = requests(&teams).await[0].body.len();
    println!("teams: the task-oom card is {size} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grouped_incident_is_at_most_five_cards_naming_every_service() {
    let teams = flow().await;
    let window = WINDOW_SECONDS.to_string();
    let mut lambda = start(&teams, &[("GROUP_WINDOW_SECONDS", &window)]).await;
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(95);
    let mut reported = Vec::new();
    for (i, event) in burst(t0).iter().enumerate() {
        let r = send(&mut lambda, &format!("req-{i}"), event).await;
        expect_response("burst", &r);
        reported.push(r);
    }
    assert_eq!(
        cards(&teams, &[]).await.len(),
        4,
        "two alone, the grouped card, the OOM"
    );
    // The window ends: the next invocation posts the final summary, a card of its own (a
    // Workflow cannot edit the grouped card).
    let r = send(&mut lambda, "req-later", &later(t0)).await;
    expect_response("later", &r);
    reported.push(r);
    stop(lambda, &reported).await;

    let cards = cards(&teams, &[]).await;
    assert_eq!(cards.len(), 5, "{cards:#?}");
    let named: BTreeSet<String> = cards
        .iter()
        .flat_map(|c| {
            let text = texts(c);
            (0..40)
                .map(|i| format!("svc-{i:02}"))
                .filter(|s| {
                    text.lines()
                        .any(|l| l == s || l.ends_with(&format!(": {s}")))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(named.len(), 40, "{named:?}");
    let summary = title(&cards[4]);
    assert!(
        summary.contains("Image pull failed (tag not found): 40 services in prod"),
        "{summary}"
    );
    let oom: Vec<&Value> = cards
        .iter()
        .filter(|c| title(c) == "🔴 Out of memory: checkout-api")
        .collect();
    assert_eq!(oom.len(), 1, "the OOM on its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_then_the_card_posted() {
    let teams = MockServer::start().await;
    support::answer_in_turn(
        &teams,
        Some(FLOW_PATH),
        vec![(
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            1,
        )],
        ResponseTemplate::new(202),
    )
    .await;
    let mut lambda = start(&teams, &[]).await;
    let started = Instant::now();
    let r = send(&mut lambda, "req-429", &sample("task-exit-nonzero.json")).await;
    let report = expect_response("429 then 202", &r);
    assert_eq!(report["delivered"], json!(["teams"]), "{report}");
    stop(lambda, &[r]).await;
    let got = requests(&teams).await;
    assert_eq!(got.len(), 2, "the rate-limited attempt, then the post");
    assert_eq!(got[0].body, got[1].body, "the same card again");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 honoured ({:?})",
        started.elapsed()
    );
    card_of(&got[1], &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_answering_500_fails_the_invocation_and_its_retry_posts_once() {
    let teams = MockServer::start().await;
    mount(
        &teams,
        ResponseTemplate::new(500)
            .set_body_string(format!("{{\"error\":\"flow failed for sig={SIG}\"}}")),
    )
    .await;
    let mut lambda = start(&teams, &[]).await;
    let event = sample("task-oom.json");
    let failed = send(&mut lambda, "req-500", &event).await;
    match &failed {
        Reported::Error { body, .. } => {
            assert!(body.contains("teams"), "the error names the sink: {body}")
        }
        other => panic!("a Workflow answering 500 must fail the invocation: {other:?}"),
    }
    let tries = requests(&teams).await.len();
    assert_eq!(tries, 5, "the bounded retries");
    // The Workflow is back; Lambda retries the same event: one card.
    teams.reset().await;
    mount(&teams, ResponseTemplate::new(202)).await;
    let retried = send(&mut lambda, "req-500", &event).await;
    expect_response("the retry", &retried);
    assert_eq!(cards(&teams, &[]).await.len(), 1);
    // Delivered: a third delivery of the same event posts nothing again.
    let again = send(&mut lambda, "req-500-again", &event).await;
    let report = expect_response("a redelivery", &again);
    assert_eq!(report["duplicate"], json!(["teams"]), "{report}");
    assert_eq!(cards(&teams, &[]).await.len(), 1);
    stop(lambda, &[failed, retried, again]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_route_a_failure_to_a_named_workflow_with_its_mention() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = clients(&moto.endpoint).await;
    let network = moto.awsvpc().await;
    let cluster = seed_cluster(&ecs, "prod").await;
    let td = seed_task_definition(
        &ecs,
        "checkout-api",
        &[ContainerSeed::new("app", "checkout-api:1")],
        &[
            ("ecs-notifier:teams", "payments"),
            ("ecs-notifier:mention", "jane.doe@contoso.com @here"),
        ],
    )
    .await;
    seed_service(&ecs, &cluster, "checkout-api", &td, &[], &network).await;
    let mut event = sample("task-oom.json");
    event["detail"]["clusterArn"] = json!(cluster);
    event["detail"]["taskDefinitionArn"] = json!(td);

    let default = flow().await;
    let payments = flow().await;
    let payments_url = flow_url(&payments);
    let mut lambda = start(
        &default,
        &[
            ("ENRICHMENT", "on"),
            ("LOG_LINES", "0"),
            ("TEAMS_WEBHOOK_URL_PAYMENTS", &payments_url),
            ("AWS_ENDPOINT_URL", &moto.endpoint),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    )
    .await;
    let r = send(&mut lambda, "req-route", &event).await;
    expect_response("routed", &r);
    stop(lambda, &[r]).await;

    assert!(requests(&default).await.is_empty(), "not the default");
    let cards = cards(&payments, &["jane.doe@contoso.com"]).await;
    assert_eq!(cards.len(), 1, "the team's Workflow");
    let card = &cards[0]["attachments"][0]["content"];
    assert_eq!(card["body"][1]["text"], "<at>jane.doe@contoso.com</at>");
    assert_eq!(
        card["msteams"]["entities"][0]["mentioned"]["id"],
        "jane.doe@contoso.com"
    );
    let text = texts(&cards[0]);
    assert!(text.contains("Not mentioned here: @here"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_and_teams_both_get_one_alert_each_delivered_once() {
    let teams = flow().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal_error"))
        .mount(&slack)
        .await;
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let mut lambda = start(&teams, &[("SLACK_WEBHOOK_URL", &webhook)]).await;
    let event = sample("task-exit-nonzero.json");
    // Slack down, Teams up: the invocation fails for Slack; the card is posted.
    let failed = send(&mut lambda, "req-both", &event).await;
    assert!(
        matches!(&failed, Reported::Error { body, .. } if body.contains("slack")),
        "{failed:?}"
    );
    assert_eq!(cards(&teams, &[]).await.len(), 1);
    // Slack is back: the retry posts to Slack only; Teams has its card already.
    slack.reset().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let retried = send(&mut lambda, "req-both", &event).await;
    let report = expect_response("the retry", &retried);
    assert_eq!(report["delivered"], json!(["slack"]), "{report}");
    assert_eq!(report["duplicate"], json!(["teams"]), "{report}");
    stop(lambda, &[failed, retried]).await;
    let cards = cards(&teams, &[]).await;
    assert_eq!(cards.len(), 1, "Teams posted once");
    let slack_posts = requests(&slack).await;
    assert_eq!(slack_posts.len(), 1, "Slack posted once after it came back");
    let message: Value = serde_json::from_slice(&slack_posts[0].body).unwrap();
    let header = message["blocks"][0]["text"]["text"].as_str().unwrap_or("");
    let card_title = title(&cards[0]);
    assert_eq!(
        header.trim_start_matches(":red_circle: "),
        card_title.trim_start_matches("🔴 "),
        "the same alert in both"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_urls_are_read_from_secrets_manager_and_ssm_and_never_shown() {
    let moto = Moto::start().await;
    let config = support::sdk_config(&moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let default = flow().await;
    let payments = flow().await;
    let create = |name: &'static str, value: String| {
        let sm = sm.clone();
        async move {
            let out = sm
                .create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await;
            out.expect("CreateSecret").arn().expect("ARN").to_string()
        }
    };
    let default_arn = create("ecs-notifier/teams-flow", flow_url(&default)).await;
    ssm.put_parameter()
        .name("/ecs-notifier/teams-payments")
        .value(flow_url(&payments))
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
    let payments_arn = format!(
        "arn:aws:ssm:{}:{}:parameter/ecs-notifier/teams-payments",
        support::REGION,
        support::ACCOUNT
    );
    // In clear to another machine: refused at start, the value not shown.
    let in_clear = create(
        "ecs-notifier/teams-in-clear",
        format!("http://flows.example.com{FLOW_PATH}?sig={SIG}"),
    )
    .await;
    let aws = [
        ("ENRICHMENT", "off"),
        ("HTTP_TIMEOUT_MS", "2000"),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let mut env = aws.to_vec();
    env.extend([
        ("TEAMS_WEBHOOK_URL_SECRET_ARN", default_arn.as_str()),
        ("TEAMS_WEBHOOK_ROUTE_NAMES", "payments"),
        ("TEAMS_WEBHOOK_ROUTE_SECRET_ARNS", payments_arn.as_str()),
        ("ACCOUNT_ROUTES", "123456789012=payments"),
    ]);
    let mut lambda = Lambda::spawn(&env).await;
    let r = send(&mut lambda, "req-stored", &sample("task-oom.json")).await;
    expect_response("stored URLs", &r);
    stop(lambda, &[r]).await;
    assert_eq!(
        cards(&payments, &[]).await.len(),
        1,
        "the account's route names the Workflow stored in SSM"
    );
    assert!(requests(&default).await.is_empty());

    let mut env = aws.to_vec();
    env.push(("TEAMS_WEBHOOK_URL_SECRET_ARN", in_clear.as_str()));
    let exit = Lambda::spawn(&env)
        .await
        .exit_within(Duration::from_secs(20))
        .await;
    assert!(!exit.status.success(), "a URL in clear must stop the start");
    let mut all = exit.stdout.clone();
    all.extend(exit.stderr.clone());
    all.extend(exit.reported.iter().map(|r| format!("{r:?}")));
    let text = all.join("\n");
    assert!(
        text.contains("TEAMS_WEBHOOK_URL_SECRET_ARN") && text.contains("https:// URL"),
        "{text}"
    );
    assert_no_secret("a refused start", &all);
    assert!(!text.contains("flows.example.com"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_slack_completes_in_place_is_one_card_in_teams() {
    let teams = flow().await;
    let slack = support::server_with(support::slack_api_ok()).await;
    let api = format!("{}/api", slack.uri());
    let mut lambda = start(
        &teams,
        &[
            ("SLACK_BOT_TOKEN", "xoxb-test-token"),
            ("SLACK_CHANNEL", "ops-alerts"),
            ("SLACK_API_URL", api.as_str()),
        ],
    )
    .await;
    // The first STOPPED event lacks the exit codes; the update has them; then it comes again.
    let full = sample("task-oom.json");
    let mut thin = full.clone();
    thin["id"] = json!("0e5a7c11-0000-4000-8000-0000000000a0");
    thin["detail"]["version"] = json!(5);
    for c in thin["detail"]["containers"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("exitCode");
        c.as_object_mut().unwrap().remove("reason");
    }
    let mut reported = Vec::new();
    for (i, event) in [&thin, &full, &full].iter().enumerate() {
        let r = send(&mut lambda, &format!("req-{i}"), event).await;
        expect_response("app mode with Teams", &r);
        reported.push(r);
    }
    stop(lambda, &reported).await;
    let paths: Vec<String> = requests(&slack)
        .await
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(paths, ["/api/chat.postMessage", "/api/chat.update"]);
    let cards = cards(&teams, &[]).await;
    assert_eq!(cards.len(), 1, "a card cannot be edited: no second card");
    assert_eq!(title(&cards[0]), "🔴 Stopped: checkout-api");
}
