//! One notifier for an AWS Organization: an event of a member account enriched through its spoke
//! role on moto (the account's own task, service and logs), the account named from AWS
//! Organizations or from `ACCOUNT_NAMES` and its alerts routed by account; and, through the
//! binary against a fake STS, a member whose role is missing or denies: its alerts still go out,
//! without enrichment, with one clear log line, and no invocation fails.

use std::sync::Arc;

use aws_sdk_ecs::config::Credentials;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use chrono::Utc;
use ecs_notifier::config::{Accounts, EnrichSettings, NameLookup};
use ecs_notifier::judge::{judge, Enrichment, Options, Outgoing};
use ecs_notifier::source::decode;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::lambda::{expect_response, Lambda};
use crate::support::{self, enricher_for, sample, with_id, ContainerSeed, Moto, ACCOUNT};

/// The role the spoke template creates in every member account.
const PATTERN: &str = "arn:aws:iam::{account}:role/ecs-notifier-spoke";
/// A member account with no spoke role (the denial test).
const MEMBER: &str = "210987654321";

/// A new account of moto's organization, whose management account is the function's own
/// (123456789012, moto's default): its id.
async fn member_account(moto: &Moto, name: &str) -> String {
    let config = support::sdk_config(&moto.endpoint).await;
    let organizations = aws_sdk_organizations::Client::new(&config);
    let _ = organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await;
    let created = organizations
        .create_account()
        .email(format!("{name}@example.com"))
        .account_name(name)
        .send()
        .await
        .expect("CreateAccount");
    let status = created.create_account_status().expect("a status");
    status
        .account_id()
        .expect("the new account's id")
        .to_string()
}

/// ECS and Logs clients in `account`, through its spoke role as moto answers AssumeRole, and the
/// access key they use (moto keeps each account's resources, its default VPC too, apart).
async fn clients_in(
    moto: &Moto,
    account: &str,
) -> (aws_sdk_ecs::Client, aws_sdk_cloudwatchlogs::Client, String) {
    let base = support::sdk_config(&moto.endpoint).await;
    let assumed = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(PATTERN.replace("{account}", account))
        .role_session_name("seed")
        .send()
        .await
        .expect("AssumeRole");
    let given = assumed.credentials().expect("credentials");
    let credentials = Credentials::new(
        given.access_key_id(),
        given.secret_access_key(),
        Some(given.session_token().to_string()),
        None,
        "seed",
    );
    let ecs = aws_sdk_ecs::config::Builder::from(&base)
        .credentials_provider(credentials.clone())
        .build();
    let logs = aws_sdk_cloudwatchlogs::config::Builder::from(&base)
        .credentials_provider(credentials)
        .build();
    (
        aws_sdk_ecs::Client::from_conf(ecs),
        aws_sdk_cloudwatchlogs::Client::from_conf(logs),
        given.access_key_id().to_string(),
    )
}

/// In `account`: cluster `prod`, service `checkout-api` of a task definition logging to
/// `/ecs/checkout-api`, one of its tasks stopped for failing its health checks, and three lines
/// in each container's stream. The health-check sample, made that task's.
async fn seed_failed_task(moto: &Moto, account: &str) -> Value {
    let (ecs, logs, key) = clients_in(moto, account).await;
    let network = moto.awsvpc_as(&key).await;
    let cluster = support::seed_cluster(&ecs, "prod").await;
    let app = ContainerSeed {
        memory: Some(512),
        log: Some(("/ecs/checkout-api", "ecs")),
        ..ContainerSeed::new("app", "checkout-api:v2.4.0")
    };
    let agent = ContainerSeed {
        memory: Some(256),
        log: Some(("/ecs/checkout-api", "ecs")),
        ..ContainerSeed::new("datadog-agent", "public.ecr.aws/datadog/agent:7")
    };
    let td = support::seed_task_definition(&ecs, "checkout-api", &[app, agent], &[]).await;
    assert!(td.contains(account), "{td}");
    support::seed_service(&ecs, &cluster, "checkout-api", &td, &[], &network).await;
    let task = support::run_task(&ecs, &cluster, &td, &network).await;
    support::stop_task(&ecs, &cluster, &task, "Task failed container health checks").await;
    let mut event = sample("task-container-health-check.json");
    event["account"] = json!(account);
    event["detail"]["clusterArn"] = json!(cluster);
    event["detail"]["taskDefinitionArn"] = json!(td);
    event["detail"]["taskArn"] = json!(task);
    let id = task.rsplit('/').next().expect("task id");
    for container in ["app", "datadog-agent"] {
        let stream = format!("ecs/{container}/{id}");
        let lines: Vec<String> = (1..=3).map(|i| format!("{container} line {i}")).collect();
        support::seed_log_stream(&logs, "/ecs/checkout-api", &stream, &lines).await;
    }
    event
}

/// `event` enriched (as the function of account 123456789012 does) and judged with `options`.
async fn plan(
    enricher: &ecs_notifier::enrich::Enricher,
    event: &Value,
    options: &Options,
) -> (Enrichment, Outgoing) {
    let decoded = decode(event).expect("an event");
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    let planned = judge(&decoded, &enrichment, options, Utc::now());
    (enrichment, planned)
}

/// Accounts served through roles, `names` mapped, member alerts routed to `payments`; the
/// function in us-east-1, so an eu-west-1 event names its region.
fn options(member: &str, names: &[(&str, &str)]) -> Options {
    let accounts = Accounts {
        names: names
            .iter()
            .map(|(a, n)| (a.to_string(), n.to_string()))
            .collect(),
        routes: [(member.to_string(), "payments".to_string())].into(),
        several: true,
        ..Accounts::default()
    };
    Options {
        accounts: Arc::new(accounts),
        region: Some("us-east-1".into()),
        ..Options::default()
    }
}

fn names_from_organizations() -> EnrichSettings {
    EnrichSettings {
        names: NameLookup {
            organizations: true,
            ..NameLookup::default()
        },
        ..EnrichSettings::default()
    }
}

fn slack_text(planned: &Outgoing) -> String {
    let message = support::slack(planned).expect("a Slack message");
    serde_json::to_string(&message).expect("JSON")
}

fn stop_tags(planned: &Outgoing) -> Vec<String> {
    let mut all = planned.datadog.distributions.iter();
    let stops = all
        .find(|d| d.metric == "ecs.task.stops")
        .expect("ecs.task.stops");
    stops.tags.to_vec()
}

/// STS's calls among moto's: its query protocol shows as `POST /` (nothing else here uses it).
fn assume_calls(calls: &std::collections::BTreeMap<String, usize>) -> usize {
    calls.get("POST /").copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_accounts_task_is_read_through_its_spoke_role_and_its_alert_named_and_routed() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let member = member_account(&moto, "prod-payments").await;
    let event = seed_failed_task(&moto, &member).await;
    let settings = names_from_organizations();
    let enricher = enricher_for(&moto.endpoint, Some(PATTERN), settings).await;

    moto.reset_calls().await;
    let (enrichment, planned) = plan(&enricher, &event, &options(&member, &[])).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    // The member's own task, service and logs, read through its role.
    let health = enrichment
        .health
        .as_ref()
        .expect("DescribeTasks of the member's task");
    assert_eq!(health[0].name, "app");
    assert!(enrichment.service.is_some(), "the member's service");
    assert_eq!(
        enrichment.logs[0].lines,
        ["app line 1", "app line 2", "app line 3"]
    );
    // Named from AWS Organizations, routed by account, the region named (not the function's).
    assert_eq!(enrichment.account_name.as_deref(), Some("prod-payments"));
    let text = slack_text(&planned);
    let account = format!("*Account*\\nprod-payments ({member})");
    assert!(text.contains(&account), "{text}");
    assert!(text.contains("*Region*\\neu-west-1"), "{text}");
    assert!(text.contains("https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/"));
    assert_eq!(planned.placement.route.as_deref(), Some("payments"));
    let tags = stop_tags(&planned);
    for want in [
        format!("aws_account:{member}"),
        "aws_account_name:prod-payments".into(),
        "region:eu-west-1".into(),
    ] {
        assert!(tags.contains(&want), "{want} in {tags:?}");
    }
    let calls = moto.calls().await;
    assert_eq!(assume_calls(&calls), 1, "{calls:?}");
    assert_eq!(
        calls.get("AWSOrganizationsV20161128.DescribeAccount"),
        Some(&1)
    );

    // The same account in another region: the role's credentials and the name are reused.
    moto.reset_calls().await;
    let mut elsewhere = with_id(&event, "0c3f7b52-0000-4000-8000-00000000e2e2");
    elsewhere["region"] = json!("us-west-2");
    let (again, _) = plan(&enricher, &elsewhere, &options(&member, &[])).await;
    assert_eq!(again.account_name.as_deref(), Some("prod-payments"));
    let calls = moto.calls().await;
    assert_eq!(
        assume_calls(&calls),
        0,
        "credentials cached per account: {calls:?}"
    );
    assert_eq!(calls.get("AWSOrganizationsV20161128.DescribeAccount"), None);

    // ACCOUNT_NAMES names it instead, and Organizations is not asked.
    moto.reset_calls().await;
    let mut settings = names_from_organizations();
    settings.names.named = vec![member.clone()];
    let mapped = enricher_for(&moto.endpoint, Some(PATTERN), settings).await;
    let named = options(&member, &[(member.as_str(), "Payments (prod)")]);
    let (enrichment, planned) = plan(&mapped, &event, &named).await;
    assert_eq!(enrichment.account_name, None);
    let account = format!("*Account*\\nPayments (prod) ({member})");
    assert!(slack_text(&planned).contains(&account));
    assert!(stop_tags(&planned).contains(&"aws_account_name:payments__prod_".to_string()));
    assert_eq!(
        moto.calls()
            .await
            .get("AWSOrganizationsV20161128.DescribeAccount"),
        None
    );
}

/// STS answering every AssumeRole with AccessDenied, as it answers for a role that does not exist
/// or does not trust the caller.
async fn denying_sts() -> MockServer {
    let server = MockServer::start().await;
    let denial = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
         <Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::{ACCOUNT}:\
         assumed-role/ecs-notifier-NotifierFunctionRole-AbC/ecs-notifier is not authorized to \
         perform: sts:AssumeRole on resource: arn:aws:iam::{MEMBER}:role/ecs-notifier-spoke\
         </Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\
         </ErrorResponse>"
    );
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("content-type", "text/xml")
                .set_body_string(denial),
        )
        .mount(&server)
        .await;
    server
}

/// The JSON log lines of the function, as `(level, fields)`.
fn log_lines(lines: &[String]) -> Vec<(String, serde_json::Map<String, Value>)> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|record| {
            let level = record.get("level")?.as_str()?.to_string();
            let fields = match record.get("fields") {
                Some(Value::Object(fields)) => fields.clone(),
                _ => record.as_object()?.clone(),
            };
            Some((level, fields))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_its_role_gets_its_alerts_unenriched_with_one_log_line() {
    let sts = denying_sts().await;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let default = format!("{}/services/T000/B000/DEFAULT", slack.uri());
    let data = format!("{}/services/T000/B000/DATA", slack.uri());
    let mut lambda = Lambda::spawn(&[
        ("SLACK_WEBHOOK_URL", default.as_str()),
        ("SLACK_WEBHOOK_URL_DATA_PLATFORM", data.as_str()),
        ("FLOOD_WINDOW_SECONDS", "0"),
        ("ENRICH_ROLE_ARN", PATTERN),
        ("ACCOUNT_NAMES", "210987654321=data-platform"),
        ("ACCOUNT_ROUTES", "210987654321=data-platform"),
        ("AWS_ENDPOINT_URL", sts.uri().as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ])
    .await;
    let mut event = sample("task-oom.json");
    event["account"] = json!(MEMBER);
    let ids = [
        "9a1f0c1e-0000-4000-8000-0000000000a1",
        "9a1f0c1e-0000-4000-8000-0000000000a2",
    ];
    let task = event["detail"]["taskArn"]
        .as_str()
        .expect("a task ARN")
        .to_string();
    for (i, id) in ids.iter().enumerate() {
        // Two tasks of the account, each stopped once.
        let mut stopped = with_id(&event, id);
        stopped["detail"]["taskArn"] = json!(format!("{task}{i}"));
        let reported = lambda
            .invoke(&format!("req-denied-{i}"), &stopped, id)
            .await;
        let report = expect_response("a member without its role", &reported);
        assert_eq!(report["delivered"], json!(["slack"]), "{report}");
    }
    let output = lambda.stop().await;

    // Both alerts posted, to the account's route, naming the account.
    let posts = slack.received_requests().await.expect("requests");
    assert_eq!(posts.len(), 2);
    for post in &posts {
        assert_eq!(post.url.path(), "/services/T000/B000/DATA");
        let body = String::from_utf8_lossy(&post.body);
        assert!(body.contains("data-platform (210987654321)"), "{body}");
    }
    // The role was asked for once: the denial is remembered, not asked again per event.
    let asked = sts.received_requests().await.expect("requests");
    assert_eq!(asked.len(), 1, "one AssumeRole, nothing else");
    one_warning_and_one_failure_per_event(&output.stdout, 2);
}

/// The function's log says it once: one warning (the role, the error), and each of the `events`
/// handled lines names that one failure in `not_enriched`.
fn one_warning_and_one_failure_per_event(stdout: &[String], events: usize) {
    // One warning says why; each event's line names the one lookup that failed.
    let lines = log_lines(stdout);
    let loud: Vec<_> = lines
        .iter()
        .filter(|(level, _)| level == "WARN" || level == "ERROR")
        .collect();
    assert_eq!(loud.len(), 1, "{stdout:#?}");
    let message = loud[0].1["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot assume arn:aws:iam::210987654321:role/ecs-notifier-spoke"));
    assert!(loud[0].1["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("AccessDenied: "));
    let handled: Vec<_> = lines
        .iter()
        .filter(|(_, f)| f.get("message").and_then(Value::as_str) == Some("event handled"))
        .collect();
    assert_eq!(handled.len(), events);
    for (_, fields) in handled {
        let skipped = fields["not_enriched"].as_str().unwrap_or_default();
        assert!(
            skipped.starts_with("[\"sts:AssumeRole: arn:aws:iam::210987654321:role/ecs-notifier-spoke: AccessDenied: ")
                && !skipped.contains("\", \""),
            "one entry: {skipped}"
        );
    }
}
