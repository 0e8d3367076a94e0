//! Enrichment against a real `moto_server` (task definitions, services, deployments, logs,
//! cross-account roles), and against a fake ECS endpoint on loopback for what moto cannot
//! produce (an UNHEALTHY container, throttling, AccessDenied, a hang).

use crate::support;

use std::time::Duration;

use chrono::Utc;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options, Outgoing};
use ecs_notifier::source::{decode, Event};
use ecs_notifier::{config::EnrichSettings, enrich::Enricher};
use serde_json::{json, Value};
use support::{enricher_for, sample, ContainerSeed, Moto, ACCOUNT};
use tokio::time::Instant;
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The metrics carry Datadog's ECS tag names (`ecs_cluster_name`, `ecs_service`, `task_family`,
/// `task_version`, the container that broke as `ecs_container_name`), and unified service
/// tagging's `service`, `env` and `version` only where the task definition sets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_the_agents_tags_and_unified_service_tags_from_the_task_definition() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let cluster = support::seed_cluster(&ecs, "prod").await;
    let app = ContainerSeed {
        memory: Some(512),
        environment: &[("DD_SERVICE", "checkout"), ("DD_ENV", "prod")],
        labels: &[("com.datadoghq.tags.version", "2.4.0")],
        ..ContainerSeed::new("app", "checkout-api:v2.4.0")
    };
    let tagged = support::seed_task_definition(&ecs, "checkout-api", &[app], &[]).await;
    let plain = support::seed_task_definition(
        &ecs,
        "checkout-api",
        &[ContainerSeed {
            memory: Some(512),
            ..ContainerSeed::new("app", "checkout-api:v2.4.1")
        }],
        &[],
    )
    .await;
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let stops_tags = |planned: &Outgoing| -> Vec<String> {
        planned
            .datadog
            .distributions
            .iter()
            .find(|d| d.metric == "ecs.task.stops")
            .expect("ecs.task.stops")
            .tags
            .to_vec()
    };
    let (_, planned) =
        enrich_and_plan(&enricher, &task_event("task-oom.json", &cluster, &tagged)).await;
    let tags = stops_tags(&planned);
    for want in [
        "ecs_cluster_name:prod",
        "ecs_service:checkout-api",
        "task_family:checkout-api",
        "task_version:1",
        "ecs_container_name:app",
        "service:checkout",
        "env:prod",
        "version:2.4.0",
    ] {
        assert!(tags.iter().any(|t| t == want), "{want} in {tags:?}");
    }
    let (_, planned) =
        enrich_and_plan(&enricher, &task_event("task-oom.json", &cluster, &plain)).await;
    let tags = stops_tags(&planned);
    assert!(tags.iter().any(|t| t == "task_version:2"), "{tags:?}");
    for reserved in ["service:", "env:", "version:", "cluster:"] {
        assert!(
            !tags.iter().any(|t| t.starts_with(reserved)),
            "no {reserved} without the task definition's value: {tags:?}"
        );
    }
}

const OTHER_ACCOUNT: &str = "210987654321";

fn task_event(name: &str, cluster_arn: &str, td_arn: &str) -> Value {
    let mut event = sample(name);
    event["detail"]["clusterArn"] = json!(cluster_arn);
    event["detail"]["taskDefinitionArn"] = json!(td_arn);
    event
}

fn task_id(event: &Value) -> String {
    let arn = event["detail"]["taskArn"].as_str().unwrap();
    arn.rsplit('/').next().unwrap().to_string()
}

async fn enrich_and_plan(enricher: &Enricher, event: &Value) -> (Enrichment, Outgoing) {
    let decoded = decode(event).unwrap();
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    let planned = judge(&decoded, &enrichment, &Options::default(), Utc::now());
    (enrichment, planned)
}

fn slack_text(p: &Outgoing) -> String {
    serde_json::to_string(support::slack(p).as_ref().expect("a Slack message")).unwrap()
}

fn lines(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("worker: line {i}")).collect()
}

/// Seeds `checkout-api` (app 512 MiB with awslogs, datadog-agent 256 MiB) in cluster `prod`.
async fn seed_checkout(ecs: &aws_sdk_ecs::Client, tags: &[(&str, &str)]) -> (String, String) {
    let cluster = support::seed_cluster(ecs, "prod").await;
    let app = ContainerSeed {
        memory: Some(512),
        log: Some(("/ecs/checkout-api", "ecs")),
        ..ContainerSeed::new(
            "app",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:v2.4.0",
        )
    };
    let agent = ContainerSeed {
        memory: Some(256),
        ..ContainerSeed::new("datadog-agent", "public.ecr.aws/datadog/agent:7")
    };
    let td = support::seed_task_definition(ecs, "checkout-api", &[app, agent], tags).await;
    (cluster, td)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_alert_states_the_limit_and_shows_the_last_lines_cold_and_warm() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, logs) = support::clients(&moto.endpoint).await;
    let (cluster, td) = seed_checkout(&ecs, &[]).await;
    let network = moto.awsvpc().await;
    support::seed_service(&ecs, &cluster, "checkout-api", &td, &[], &network).await;
    let event = task_event("task-oom.json", &cluster, &td);
    let stream = format!("ecs/app/{}", task_id(&event));
    support::seed_log_stream(&logs, "/ecs/checkout-api", &stream, &lines(1..=25)).await;

    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    moto.reset_calls().await;
    let started = Instant::now();
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    let cold = started.elapsed();
    let cold_calls = moto.calls().await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    let text = slack_text(&planned);
    assert!(
        text.contains("container app hit its limit of 512 MiB (container limit)"),
        "{text}"
    );
    assert!(text.contains("Last 10 log lines of app"), "{text}");
    assert!(
        text.contains("worker: line 16") && text.contains("worker: line 25"),
        "{text}"
    );
    assert!(
        !text.contains("worker: line 15\\n"),
        "only the last 10 lines: {text}"
    );
    assert!(text.contains("(essential)"), "{text}");

    // Warm: same task definition, a later event; the definition comes from the cache.
    let mut again = event.clone();
    again["id"] = json!("7c1d1c55-0000-4000-8000-000000000001");
    moto.reset_calls().await;
    let started = Instant::now();
    let (warm_enrichment, _) = enrich_and_plan(&enricher, &again).await;
    let warm = started.elapsed();
    let warm_calls = moto.calls().await;
    assert!(warm_enrichment.skipped.is_empty());
    assert_eq!(warm_enrichment.task_definition, enrichment.task_definition);
    eprintln!(
        "enrichment against moto: cold {:.1} ms, calls {cold_calls:?}; warm {:.1} ms, calls {warm_calls:?}",
        cold.as_secs_f64() * 1000.0,
        warm.as_secs_f64() * 1000.0
    );
    // The cache, proven by the calls moto answered: the definition was read once, cold.
    const DESCRIBE_TD: &str = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition";
    assert_eq!(cold_calls.get(DESCRIBE_TD), Some(&1), "{cold_calls:?}");
    assert_eq!(warm_calls.get(DESCRIBE_TD), None, "{warm_calls:?}");
    let total = |c: &std::collections::BTreeMap<String, usize>| c.values().sum::<usize>();
    assert!(
        total(&warm_calls) < total(&cold_calls),
        "warm {warm_calls:?}, cold {cold_calls:?}"
    );
    // The budget bounds the cold path by design; the margin covers a loaded machine.
    assert!(
        cold < EnrichSettings::default().budget + Duration::from_secs(1),
        "within the budget: {cold:?}"
    );
}

/// `$252Fecs$252Fapp` → `/ecs/app`.
fn console_decode(fragment: &str) -> String {
    let percent = fragment.replace("$25", "%");
    let bytes = percent.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_alert_links_to_a_log_stream_that_exists() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, logs) = support::clients(&moto.endpoint).await;
    let cluster = support::seed_cluster(&ecs, "batch").await;
    let app = ContainerSeed {
        memory: Some(1024),
        log: Some(("/ecs/nightly-report", "jobs")),
        ..ContainerSeed::new(
            "app",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:v2.3.1",
        )
    };
    let router = ContainerSeed {
        memory: Some(128),
        essential: false,
        ..ContainerSeed::new("log_router", "fluent-bit:2")
    };
    let td = support::seed_task_definition(&ecs, "nightly-report", &[app, router], &[]).await;
    let event = task_event("task-exit-nonzero.json", &cluster, &td);
    let stream = format!("jobs/app/{}", task_id(&event));
    let mut crash = lines(1..=8);
    crash.push("Traceback: KeyError: 'customer_id' <!channel> & friends".into());
    support::seed_log_stream(&logs, "/ecs/nightly-report", &stream, &crash).await;

    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    let text = slack_text(&planned);
    assert!(text.contains("Last 9 log lines of app"), "{text}");
    assert!(
        text.contains("KeyError: 'customer_id' &lt;!channel&gt; &amp; friends"),
        "escaped: {text}"
    );
    assert!(!text.contains("<!channel>"), "{text}");

    // The link names the group and stream; reading them back from moto finds the lines.
    let marker = "#logsV2:log-groups/log-group/";
    let at = text.find(marker).expect("a CloudWatch Logs link") + marker.len();
    let rest = &text[at..];
    let (group, rest) = rest.split_once("/log-events/").unwrap();
    let stream_enc: String = rest
        .chars()
        .take_while(|c| *c != '|' && *c != '>')
        .collect();
    let (group, linked_stream) = (console_decode(group), console_decode(&stream_enc));
    assert_eq!(
        (group.as_str(), linked_stream.as_str()),
        ("/ecs/nightly-report", stream.as_str())
    );
    let found = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&linked_stream)
        .send()
        .await
        .unwrap();
    assert_eq!(found.events().len(), 9);

    // LOG_LINES=0: no lines, but the link stays.
    let quiet = enricher_for(
        &moto.endpoint,
        None,
        EnrichSettings {
            log_lines: 0,
            ..EnrichSettings::default()
        },
    )
    .await;
    let (enrichment, planned) = enrich_and_plan(&quiet, &event).await;
    assert!(enrichment.logs.is_empty());
    let text = slack_text(&planned);
    assert!(!text.contains("log lines of"), "{text}");
    assert!(text.contains(marker), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_completed_reports_duration_image_and_metric() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let (cluster, td) = seed_checkout(&ecs, &[]).await;
    let network = moto.awsvpc().await;
    let service = support::seed_service(&ecs, &cluster, "checkout-api", &td, &[], &network).await;

    let mut event = sample("deployment-completed.json");
    let created = service.deployment_created_at;
    let finished =
        chrono::DateTime::from_timestamp(created.secs() + 372, created.subsec_nanos()).unwrap();
    event["detail"]["deploymentId"] = json!(service.deployment_id);
    event["detail"]["updatedAt"] = json!(finished.to_rfc3339());
    event["resources"] = json!([service.arn]);

    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    let text = slack_text(&planned);
    assert!(text.contains("*Took*\\n6m 12s"), "{text}");
    assert!(
        text.contains("*Task definition*\\ncheckout-api:1"),
        "{text}"
    );
    assert!(
        text.contains("checkout-api:v2.4.0"),
        "image with its tag: {text}"
    );
    let duration = planned
        .datadog
        .distributions
        .iter()
        .find(|d| d.metric == "ecs.deployment.duration")
        .expect("ecs.deployment.duration");
    assert_eq!(duration.points[0].1, vec![372.0]);
    assert!(duration
        .tags
        .contains(&"ecs_service:checkout-api".to_string()));
    assert!(duration.tags.contains(&"ecs_cluster_name:prod".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_names_the_revision_rolled_back_to() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let (cluster, first) = seed_checkout(&ecs, &[]).await;
    let second = support::seed_task_definition(
        &ecs,
        "checkout-api",
        &[ContainerSeed {
            memory: Some(512),
            ..ContainerSeed::new("app", "checkout-api:v2.5.0")
        }],
        &[],
    )
    .await;
    assert!(second.ends_with(":2"));
    let network = moto.awsvpc().await;
    let stable = support::seed_service(&ecs, &cluster, "checkout-api", &first, &[], &network).await;

    let mut event = sample("deployment-rollback.json");
    event["detail"]["reason"] = json!(format!(
        "ECS deployment circuit breaker: rolling back to deploymentId {}.",
        stable.deployment_id
    ));
    event["resources"] = json!([stable.arn]);
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    assert_eq!(enrichment.rollback_to.as_deref(), Some(first.as_str()));
    let text = slack_text(&planned);
    assert!(
        text.contains("*Rolling back to*\\ncheckout-api:1"),
        "{text}"
    );
    assert!(
        text.starts_with(r#"{"text":"Deployment rolling back: checkout-api"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_route_mention_mute_and_declare_success() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let (cluster, td) = seed_checkout(
        &ecs,
        &[
            ("ecs-notifier:mention", "@here"),
            ("ecs-notifier:slack", "platform"),
        ],
    )
    .await;
    let network = moto.awsvpc().await;
    // The service's tags win over the task definition's.
    support::seed_service(
        &ecs,
        &cluster,
        "checkout-api",
        &td,
        &[
            ("ecs-notifier:slack", "payments"),
            ("ecs-notifier:mention", "S0123ABC"),
        ],
        &network,
    )
    .await;
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (_, planned) =
        enrich_and_plan(&enricher, &task_event("task-oom.json", &cluster, &td)).await;
    assert_eq!(planned.placement.route.as_deref(), Some("payments"));
    assert!(
        support::slack(&planned)
            .as_ref()
            .unwrap()
            .text
            .starts_with("<!subteam^S0123ABC> "),
        "{}",
        slack_text(&planned)
    );

    // A job that exits 1 for "nothing to do" says so with a tag: success, no alert.
    let batch = support::seed_cluster(&ecs, "batch").await;
    let app = ContainerSeed {
        memory: Some(512),
        ..ContainerSeed::new("app", "report:v2")
    };
    let job = support::seed_task_definition(
        &ecs,
        "nightly-report",
        &[app],
        &[("ecs-notifier:success-exit-codes", "1")],
    )
    .await;
    let (_, planned) = enrich_and_plan(
        &enricher,
        &task_event("task-exit-nonzero.json", &batch, &job),
    )
    .await;
    assert_eq!(planned.summary.verdict, "success");
    assert!(planned.notice.is_none());
    assert!(stopped_tags(&planned).contains(&"result:success".to_string()));

    // Muted: no Slack, Datadog still counts the failure.
    let muted = support::seed_task_definition(
        &ecs,
        "image-resizer",
        &[ContainerSeed {
            memory: Some(512),
            ..ContainerSeed::new("resizer", "resizer:1")
        }],
        &[("ecs-notifier:notify", "none")],
    )
    .await;
    let mut segfault = task_event("task-exit-segfault.json", &batch, &muted);
    segfault["region"] = json!("eu-west-1"); // the sample is from us-east-1; the seed is not
    let (e, planned) = enrich_and_plan(&enricher, &segfault).await;
    assert!(e.skipped.is_empty(), "{:?}", e.skipped);
    assert_eq!(planned.summary.verdict, "failure");
    assert!(planned.notice.is_none());
    assert!(stopped_tags(&planned).contains(&"result:failure".to_string()));

    // Notify on every run.
    let chatty = support::seed_task_definition(
        &ecs,
        "invoice-export",
        &[ContainerSeed {
            memory: Some(512),
            ..ContainerSeed::new("app", "export:1")
        }],
        &[("ecs-notifier:notify", "all")],
    )
    .await;
    let (_, planned) = enrich_and_plan(
        &enricher,
        &task_event("task-job-success.json", &batch, &chatty),
    )
    .await;
    assert_eq!(planned.summary.verdict, "success");
    assert!(support::slack(&planned)
        .unwrap()
        .text
        .starts_with("Completed"));
}

/// A service task killed after its stop timeout on a scale-in is quiet churn, unless its tags ask
/// for notices (`ecs-notifier:notify=all`): then a warning, not a red alert. Only the tags are
/// read for it (no log lines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_timeout_on_scale_in_posts_a_notice_only_when_the_tags_ask() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let cluster = support::seed_cluster(&ecs, "prod").await;
    let app = ContainerSeed {
        memory: Some(512),
        log: Some(("/ecs/search-api", "ecs")),
        ..ContainerSeed::new("app", "search:58")
    };
    let quiet = support::seed_task_definition(&ecs, "search-api", &[app], &[]).await;
    let asking = support::seed_task_definition(
        &ecs,
        "search-api",
        &[app],
        &[("ecs-notifier:notify", "all")],
    )
    .await;
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (e, planned) = enrich_and_plan(
        &enricher,
        &task_event("task-stop-timeout-scale-in.json", &cluster, &quiet),
    )
    .await;
    assert_eq!(
        (
            planned.summary.verdict.as_str(),
            planned.summary.cause.as_str()
        ),
        ("expected", "stop_timeout")
    );
    assert!(planned.notice.is_none(), "quiet by default");
    assert!(e.task_definition.is_some(), "its tags were read");
    assert!(e.logs.is_empty(), "no log lines for churn");
    assert!(stopped_tags(&planned).contains(&"result:expected".to_string()));

    let (_, planned) = enrich_and_plan(
        &enricher,
        &task_event("task-stop-timeout-scale-in.json", &cluster, &asking),
    )
    .await;
    let text = slack_text(&planned);
    assert!(
        text.contains(":warning: Killed after stop timeout: search-api"),
        "{text}"
    );
    assert!(text.contains("Handle SIGTERM"), "{text}");
    assert!(stopped_tags(&planned).contains(&"cause:stop_timeout".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_task_definition_leaves_the_alert_intact() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &sample("task-oom.json")).await;
    assert!(enrichment.task_definition.is_none());
    assert!(
        enrichment
            .skipped
            .iter()
            .any(|s| s.contains("ecs:DescribeTaskDefinition: ClientException")),
        "{:?}",
        enrichment.skipped
    );
    assert!(slack_text(&planned).contains("Out of memory: checkout-api"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_other_accounts_are_enriched_through_an_assumed_role() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let base = support::sdk_config(&moto.endpoint).await;
    let role = format!("arn:aws:iam::{OTHER_ACCOUNT}:role/ecs-notifier-read");
    // Seed the other account as that role: moto keeps each account's resources apart.
    let provider = aws_config::sts::AssumeRoleProvider::builder(role.clone())
        .session_name("seed")
        .configure(&base)
        .build()
        .await;
    let other = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&base)
            .credentials_provider(provider)
            .build(),
    );
    let cluster = support::seed_cluster(&other, "prod").await;
    let app = ContainerSeed {
        memory: Some(2048),
        ..ContainerSeed::new("app", "checkout-api:v9")
    };
    let td = support::seed_task_definition(&other, "checkout-api", &[app], &[]).await;
    assert!(td.contains(OTHER_ACCOUNT), "{td}");
    let mut event = task_event("task-oom.json", &cluster, &td);
    event["account"] = json!(OTHER_ACCOUNT);

    let pattern = "arn:aws:iam::{account}:role/ecs-notifier-read";
    let enricher = enricher_for(&moto.endpoint, Some(pattern), EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    // No service was seeded in the other account; everything else was found there.
    assert_eq!(
        enrichment.skipped,
        ["ecs:DescribeServices: checkout-api: MISSING"]
    );
    assert!(slack_text(&planned).contains("2048 MiB (container limit)"));

    // Without the role the function looks in its own account and finds nothing.
    let local = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, _) = enrich_and_plan(&local, &event).await;
    assert!(
        enrichment.task_definition.is_none(),
        "found only through the role"
    );
}

// ---- a fake ECS/Logs endpoint on loopback, for answers moto cannot give ----

const ECS: &str = "AmazonEC2ContainerServiceV20141113";

fn aws_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(body)
}

fn aws_error(kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(json!({"__type": kind, "message": message}))
}

async fn fake_aws(answers: Vec<(&str, ResponseTemplate)>) -> MockServer {
    let server = MockServer::start().await;
    for (target, answer) in answers {
        Mock::given(method("POST"))
            .and(header("x-amz-target", target))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    server
}

fn checkout_definition(sidecar_essential: bool) -> Value {
    json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout-api:42",
            "family": "checkout-api", "revision": 42, "memory": "1024",
            "containerDefinitions": [
                {"name": "app", "image": "checkout-api:v2.4.0", "essential": true, "memory": 768},
                {"name": "datadog-agent", "image": "public.ecr.aws/datadog/agent:7", "essential": sidecar_essential, "memory": 256}
            ]
        },
        "tags": []
    })
}

fn health_answer() -> ResponseTemplate {
    aws_json(json!({"tasks": [{"containers": [
        {"name": "app", "healthStatus": "HEALTHY"},
        {"name": "datadog-agent", "healthStatus": "UNHEALTHY"}
    ]}], "failures": []}))
}

fn no_service() -> ResponseTemplate {
    aws_json(json!({"services": [], "failures": [{"arn": "x", "reason": "MISSING"}]}))
}

#[tokio::test]
async fn an_essential_sidecar_failing_its_health_check_is_named() {
    let fake = fake_aws(vec![
        (
            &format!("{ECS}.DescribeTaskDefinition"),
            aws_json(checkout_definition(true)),
        ),
        (&format!("{ECS}.DescribeTasks"), health_answer()),
        (&format!("{ECS}.DescribeServices"), no_service()),
    ])
    .await;
    let enricher = enricher_for(&fake.uri(), None, EnrichSettings::default()).await;
    let (enrichment, planned) =
        enrich_and_plan(&enricher, &sample("task-container-health-check.json")).await;
    assert_eq!(enrichment.health.as_ref().map(Vec::len), Some(2));
    let message = support::slack(&planned).unwrap();
    assert!(
        message
            .text
            .starts_with("Container health checks failed: checkout-api (datadog-agent)"),
        "{}",
        message.text
    );
    assert!(message.text.contains("datadog-agent (an essential sidecar: its failing health check took the whole task down)"), "{}", message.text);
    let all = message.texts().join("\n");
    assert!(
        all.contains("`datadog-agent` UNHEALTHY · essential"),
        "{all}"
    );
    assert!(all.contains("`app` HEALTHY · essential"), "{all}");

    // The same sidecar marked non-essential reads differently.
    let fake = fake_aws(vec![
        (
            &format!("{ECS}.DescribeTaskDefinition"),
            aws_json(checkout_definition(false)),
        ),
        (&format!("{ECS}.DescribeTasks"), health_answer()),
        (&format!("{ECS}.DescribeServices"), no_service()),
    ])
    .await;
    let enricher = enricher_for(&fake.uri(), None, EnrichSettings::default()).await;
    let (_, planned) =
        enrich_and_plan(&enricher, &sample("task-container-health-check.json")).await;
    assert!(support::slack(&planned)
        .unwrap()
        .text
        .contains("datadog-agent (not essential)"));
}

#[tokio::test]
async fn throttling_and_access_denied_leave_parts_out() {
    let fake = fake_aws(vec![
        (
            &format!("{ECS}.DescribeTaskDefinition"),
            aws_error(
                "AccessDeniedException",
                "User is not authorized to perform: ecs:DescribeTaskDefinition",
            ),
        ),
        (
            &format!("{ECS}.DescribeTasks"),
            aws_error("ThrottlingException", "Rate exceeded"),
        ),
        (
            &format!("{ECS}.DescribeServices"),
            aws_error("ThrottlingException", "Rate exceeded"),
        ),
    ])
    .await;
    let budget = Duration::from_millis(1500);
    let enricher = enricher_for(
        &fake.uri(),
        None,
        EnrichSettings {
            budget,
            ..EnrichSettings::default()
        },
    )
    .await;
    let started = Instant::now();
    let (enrichment, planned) =
        enrich_and_plan(&enricher, &sample("task-container-health-check.json")).await;
    let took = started.elapsed();
    // The budget bounds it by design; the margin is for a loaded machine, and well below what
    // the SDK's retries of throttling would take unbounded.
    assert!(
        took < budget + Duration::from_secs(1),
        "bounded by the budget: {took:?}"
    );
    let skipped = enrichment.skipped.join("\n");
    assert!(
        skipped.contains("ecs:DescribeTaskDefinition: AccessDeniedException"),
        "{skipped}"
    );
    assert!(skipped.contains("ecs:DescribeTasks"), "{skipped}");
    assert!(skipped.contains("ecs:DescribeServices"), "{skipped}");
    // AccessDenied is not retried; throttling is, within the budget.
    let requests = fake.received_requests().await.unwrap();
    let count = |op: &str| {
        requests
            .iter()
            .filter(|r| {
                r.headers
                    .get("x-amz-target")
                    .is_some_and(|v| v.to_str().unwrap().ends_with(op))
            })
            .count()
    };
    assert_eq!(count(".DescribeTaskDefinition"), 1);
    assert!(count(".DescribeTasks") >= 2, "throttling retried");
    // The alert goes out without those parts.
    let text = slack_text(&planned);
    assert!(
        text.contains("Container health checks failed: checkout-api"),
        "{text}"
    );
}

#[tokio::test]
async fn a_hanging_api_never_delays_the_alert_past_the_budget() {
    let fake = fake_aws(vec![
        (
            &format!("{ECS}.DescribeTaskDefinition"),
            aws_json(checkout_definition(true)).set_delay(Duration::from_secs(10)),
        ),
        (
            &format!("{ECS}.DescribeServices"),
            no_service().set_delay(Duration::from_secs(10)),
        ),
    ])
    .await;
    let budget = Duration::from_millis(400);
    let enricher = enricher_for(
        &fake.uri(),
        None,
        EnrichSettings {
            budget,
            ..EnrichSettings::default()
        },
    )
    .await;
    let started = Instant::now();
    let (enrichment, planned) = enrich_and_plan(&enricher, &sample("task-oom.json")).await;
    let took = started.elapsed();
    // The budget, with a margin for a loaded machine: far below the API's 10 s hang.
    assert!(took < budget + Duration::from_secs(2), "{took:?}");
    assert!(
        enrichment
            .skipped
            .iter()
            .any(|s| s.contains("no answer within the enrichment budget")),
        "{:?}",
        enrichment.skipped
    );
    assert!(planned.notice.is_some());
}

#[tokio::test]
async fn expected_stops_cost_no_api_calls() {
    let fake = fake_aws(vec![]).await;
    let enricher = enricher_for(&fake.uri(), None, EnrichSettings::default()).await;
    let decoded = decode(&sample("task-deployment-replaced.json")).unwrap();
    assert!(matches!(decoded, Event::Task(..)));
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    assert_eq!(enrichment, Enrichment::default());
    assert!(fake.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_of_a_stopped_task_is_read_from_describe_tasks() {
    let moto = Moto::start().await;
    moto.warm_up().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let (cluster, td) = seed_checkout(&ecs, &[]).await;
    let network = moto.awsvpc().await;
    support::seed_service(&ecs, &cluster, "checkout-api", &td, &[], &network).await;
    let task_arn = support::run_task(&ecs, &cluster, &td, &network).await;
    support::stop_task(
        &ecs,
        &cluster,
        &task_arn,
        "Task failed container health checks",
    )
    .await;
    let mut event = task_event("task-container-health-check.json", &cluster, &td);
    event["detail"]["taskArn"] = json!(task_arn);
    let (_, logs) = support::clients(&moto.endpoint).await;
    for container in ["app", "datadog-agent"] {
        let stream = format!("ecs/{container}/{}", task_id(&event));
        support::seed_log_stream(&logs, "/ecs/checkout-api", &stream, &lines(1..=3)).await;
    }

    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    // moto reports the first container only, always HEALTHY: the call and its parsing are real,
    // the UNHEALTHY case is covered against the fake endpoint above.
    let health = enrichment.health.expect("DescribeTasks answered");
    assert_eq!(health[0].name, "app");
    assert_eq!(health[0].status, "HEALTHY");
    assert!(slack_text(&planned).contains("`app` HEALTHY · essential"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_failures_follow_the_task_definitions_routing_tags() {
    let moto = Moto::start().await;
    let (ecs, _) = support::clients(&moto.endpoint).await;
    let app = [ContainerSeed::new(
        "app",
        "public.ecr.aws/docker/library/busybox:1.36",
    )];
    // The refused job of the CloudTrail sample and the schedule's dead letter: nightly-etl:1 in
    // moto (revision 1: the samples' revision is rewritten to it).
    let td = support::seed_task_definition(
        &ecs,
        "nightly-etl",
        &app,
        &[
            ("ecs-notifier:mention", "here"),
            ("ecs-notifier:slack", "data-team"),
        ],
    )
    .await;
    let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;

    let mut refused = sample("cloudtrail-runtask-access-denied.json");
    refused["detail"]["requestParameters"]["taskDefinition"] = json!("nightly-etl:1");
    let (enrichment, planned) = enrich_and_plan(&enricher, &refused).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    assert_eq!(planned.placement.route.as_deref(), Some("data-team"));
    assert!(
        slack_text(&planned).contains("<!here>"),
        "{}",
        slack_text(&planned)
    );

    let mut sqs = sample("sqs-scheduler-dead-letter.json");
    let mut body: Value =
        serde_json::from_str(sqs["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["TaskDefinitionArn"] = json!(td);
    sqs["Records"][0]["body"] = json!(body.to_string());
    let (_, decoded) = ecs_notifier::source::payload::message(&sqs["Records"][0]);
    let decoded = decoded.unwrap();
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    let planned = judge(&decoded, &enrichment, &Options::default(), Utc::now());
    assert_eq!(planned.placement.route.as_deref(), Some("data-team"));
    assert!(slack_text(&planned).contains("<!here>"));

    // A launch that succeeded costs no API call and posts nothing.
    let launched = sample("cloudtrail-runtask-launched.json");
    let (enrichment, planned) = enrich_and_plan(&enricher, &launched).await;
    assert_eq!(enrichment, Enrichment::default());
    assert!(planned.notice.is_none());
}

/// The tags of the plan's `ecs.task.stops` count.
fn stopped_tags(planned: &ecs_notifier::judge::Outgoing) -> Vec<String> {
    planned
        .datadog
        .distributions
        .iter()
        .find(|d| d.metric == "ecs.task.stops")
        .map(|d| d.tags.to_vec())
        .unwrap_or_default()
}

/// A blue/green deployment whose alarm fired in its bake time: the service deployment APIs
/// name the alarm, the circuit breaker's count, the rollback's reason and target, and the
/// strategy and stage. (moto does not serve these calls: a fake ECS endpoint on loopback.)
#[tokio::test]
async fn a_rollback_names_alarms_circuit_breaker_reason_and_target() {
    let cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
    let service = "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout-api";
    let deployments = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/checkout-api";
    let revisions = "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/checkout-api";
    let troubled = format!("{deployments}/NRjKfy3PMc5fqh1TlC0Ek");
    let fake = fake_aws(vec![
        (&format!("{ECS}.DescribeServices"), no_service()),
        (
            &format!("{ECS}.ListServiceDeployments"),
            aws_json(json!({"serviceDeployments": [
                {"serviceDeploymentArn": format!("{deployments}/older"), "serviceArn": service,
                 "clusterArn": cluster, "status": "SUCCESSFUL", "createdAt": 1763600000.0},
                {"serviceDeploymentArn": troubled, "serviceArn": service, "clusterArn": cluster,
                 "status": "ROLLBACK_IN_PROGRESS", "createdAt": 1763735900.5}
            ]})),
        ),
        (
            &format!("{ECS}.DescribeServiceDeployments"),
            aws_json(json!({"failures": [], "serviceDeployments": [{
                "serviceDeploymentArn": troubled, "serviceArn": service, "clusterArn": cluster,
                "status": "ROLLBACK_IN_PROGRESS",
                "statusReason": "Service deployment rolled back because of alarm",
                "lifecycleStage": "BAKE_TIME",
                "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10},
                "alarms": {"status": "TRIGGERED", "alarmNames": ["checkout-5xx", "checkout-p99"],
                           "triggeredAlarmNames": ["checkout-5xx"]},
                "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 2,
                                             "threshold": 10},
                "rollback": {"reason": "Rolled back: CloudWatch alarm checkout-5xx is in ALARM",
                             "serviceRevisionArn": format!("{revisions}/1111"),
                             "startedAt": 1763736000.0},
                "targetServiceRevision": {"arn": format!("{revisions}/2222"),
                                          "requestedTaskCount": 4, "runningTaskCount": 4,
                                          "pendingTaskCount": 0},
                "sourceServiceRevisions": [{"arn": format!("{revisions}/1111")}]
            }]})),
        ),
        (
            &format!("{ECS}.DescribeServiceRevisions"),
            aws_json(json!({"failures": [], "serviceRevisions": [
                {"serviceRevisionArn": format!("{revisions}/1111"), "serviceArn": service,
                 "clusterArn": cluster,
                 "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout-api:41"},
                {"serviceRevisionArn": format!("{revisions}/2222"), "serviceArn": service,
                 "clusterArn": cluster,
                 "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout-api:42"}
            ]})),
        ),
    ])
    .await;
    let enricher = enricher_for(&fake.uri(), None, EnrichSettings::default()).await;
    let (enrichment, planned) =
        enrich_and_plan(&enricher, &sample("deployment-rollback.json")).await;

    let details = enrichment
        .service_deployment
        .as_ref()
        .expect("service deployment read");
    assert_eq!(
        details.arn, troubled,
        "the deployment in trouble, not the latest listed"
    );
    assert_eq!(details.triggered_alarms, ["checkout-5xx"]);
    assert_eq!(details.circuit_breaker, Some((2, 10)));
    let text = support::slack(&planned)
        .as_ref()
        .unwrap()
        .texts()
        .join("\n");
    for says in [
        "BLUE_GREEN · stage BAKE_TIME",
        "*Service deployment*\nNRjKfy3PMc5fqh1TlC0Ek",
        "*Rolling back to*\ncheckout-api:41",
        "Rolled back: CloudWatch alarm checkout-5xx is in ALARM",
        "*Alarms that triggered*\n• `checkout-5xx`",
        "2 task(s) failed to start, of a threshold of 10.",
        "/ecs/v2/clusters/prod/services/checkout-api/deployments?region=eu-west-1",
    ] {
        assert!(text.contains(says), "says {says}: {text}");
    }
    assert!(
        !text.contains("checkout-p99"),
        "an alarm that did not fire: {text}"
    );

    // What was asked: the service's deployments, then the one in trouble, then its revisions.
    let received = fake.received_requests().await.unwrap();
    let asked = |target: &str| -> Vec<Value> {
        received
            .iter()
            .filter(|r| {
                r.headers.get("x-amz-target").and_then(|v| v.to_str().ok())
                    == Some(&format!("{ECS}.{target}"))
            })
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    };
    let listed = asked("ListServiceDeployments");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service"], "checkout-api");
    assert_eq!(listed[0]["cluster"], "prod");
    assert_eq!(
        asked("DescribeServiceDeployments")[0]["serviceDeploymentArns"],
        json!([troubled])
    );
    let mut revisions_asked: Vec<String> = asked("DescribeServiceRevisions")[0]
        ["serviceRevisionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    revisions_asked.sort();
    assert_eq!(
        revisions_asked,
        [format!("{revisions}/1111"), format!("{revisions}/2222")]
    );
}

/// Without permission for the service deployment APIs (an older IAM policy), the rollback is
/// still told, with what the event says.
#[tokio::test]
async fn a_rollback_without_service_deployment_access_is_still_told() {
    let fake = fake_aws(vec![
        (&format!("{ECS}.DescribeServices"), no_service()),
        (
            &format!("{ECS}.ListServiceDeployments"),
            aws_error(
                "AccessDeniedException",
                "not authorized to perform: ecs:ListServiceDeployments",
            ),
        ),
    ])
    .await;
    let enricher = enricher_for(&fake.uri(), None, EnrichSettings::default()).await;
    let (enrichment, planned) =
        enrich_and_plan(&enricher, &sample("deployment-rollback.json")).await;
    assert!(enrichment.service_deployment.is_none());
    assert!(
        enrichment
            .skipped
            .iter()
            .any(|s| s.contains("ecs:ListServiceDeployments")),
        "{:?}",
        enrichment.skipped
    );
    let text = support::slack(&planned)
        .as_ref()
        .unwrap()
        .texts()
        .join("\n");
    assert!(
        text.contains("*Rolling back to*\necs-svc/1234567890123456789"),
        "{text}"
    );
    assert!(!text.contains("Service deployment*"), "{text}");
}

/// Container instances and daemons carry routing tags of their own: an impaired instance's
/// alert goes where its tags say and pings whom they name; a muted daemon posts nothing. Each
/// resource's tags are read once a minute, however many events name it.
#[tokio::test]
async fn instance_and_daemon_alerts_follow_their_own_tags() {
    let instance =
        "arn:aws:ecs:eu-west-1:123456789012:container-instance/gpu-batch/a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let daemon = "arn:aws:ecs:eu-west-1:123456789012:daemon/prod/node-exporter";
    let server = MockServer::start().await;
    for (arn, tags) in [
        (
            instance,
            json!([{"key": "ecs-notifier:slack-channel", "value": "gpu-oncall"},
                   {"key": "ecs-notifier:mention", "value": "@here"}]),
        ),
        (
            daemon,
            json!([{"key": "ecs-notifier:notify", "value": "none"}]),
        ),
    ] {
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                format!("{ECS}.ListTagsForResource").as_str(),
            ))
            .and(wiremock::matchers::body_partial_json(
                json!({"resourceArn": arn}),
            ))
            .respond_with(aws_json(json!({ "tags": tags })))
            .mount(&server)
            .await;
    }
    let enricher = enricher_for(&server.uri(), None, EnrichSettings::default()).await;

    let (enrichment, planned) =
        enrich_and_plan(&enricher, &sample("instance-health-gpu-impaired.json")).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    assert_eq!(planned.placement.channel.as_deref(), Some("gpu-oncall"));
    let message = &support::slack(&planned).expect("an impaired instance alerts");
    assert!(
        message.texts().join("\n").contains("<!here>"),
        "{message:?}"
    );

    for name in [
        "daemon-task-start-impaired.json",
        "daemon-deployment-rollback-failed.json",
    ] {
        let (enrichment, planned) = enrich_and_plan(&enricher, &sample(name)).await;
        assert!(
            enrichment.skipped.is_empty(),
            "{name}: {:?}",
            enrichment.skipped
        );
        assert!(
            planned.notice.is_none(),
            "{name}: muted by the daemon's tags"
        );
        assert!(!planned.datadog.is_empty(), "{name}: still counted");
    }
    // Again, within the minute: from the cache.
    enrich_and_plan(&enricher, &sample("daemon-task-creation-failed.json")).await;
    let calls = server.received_requests().await.unwrap();
    let asked: Vec<String> = calls
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["resourceArn"].to_string())
        .collect();
    assert_eq!(asked.len(), 2, "one lookup per resource: {asked:?}");
}
