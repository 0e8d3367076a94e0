//! Enrichment against a real `moto_server` (task definitions, services, deployments, logs,
//! cross-account roles), and against a fake ECS endpoint on loopback for what moto cannot
//! produce (an UNHEALTHY container, throttling, AccessDenied, a hang).
//!
//! Each case is set up by a fixture: `OnMoto` (moto, its clients, seeding helpers and an
//! enricher on it) or `OnFake` (a fake ECS endpoint with canned answers by operation and an
//! enricher on it); both enrich and judge an event in one call.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options, Outgoing};
use ecs_notifier::source::{decode, Event};
use ecs_notifier::{config::EnrichSettings, enrich::Enricher};
use serde_json::{json, Value};
use support::{
    aws_error, aws_json, enricher_for, fake_ecs, sample, ContainerSeed, Moto, ServiceSeed, ACCOUNT,
    ECS,
};
use tokio::time::Instant;
use wiremock::matchers::{body_partial_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OTHER_ACCOUNT: &str = "210987654321";
const DESCRIBE_TD: &str = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition";

// ---- fixtures ------------------------------------------------------------------------------

/// A fresh `moto_server` (warmed up), its ECS and Logs clients, and an enricher on it with the
/// default settings.
struct OnMoto {
    moto: Moto,
    ecs: aws_sdk_ecs::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    enricher: Enricher,
}

impl OnMoto {
    async fn start() -> OnMoto {
        let moto = Moto::start().await;
        moto.warm_up().await;
        let (ecs, logs) = support::clients(&moto.endpoint).await;
        let enricher = enricher_for(&moto.endpoint, None, EnrichSettings::default()).await;
        OnMoto {
            moto,
            ecs,
            logs,
            enricher,
        }
    }

    async fn cluster(&self, name: &str) -> String {
        support::seed_cluster(&self.ecs, name).await
    }

    /// Task definition `family` of `containers`, tagged `tags`: its ARN.
    async fn definition(
        &self,
        family: &str,
        containers: &[ContainerSeed<'_>],
        tags: &[(&str, &str)],
    ) -> String {
        support::seed_task_definition(&self.ecs, family, containers, tags).await
    }

    /// Cluster `prod` and `checkout-api` (app 512 MiB with awslogs, datadog-agent 256 MiB)
    /// tagged `tags`: their ARNs.
    async fn checkout(&self, tags: &[(&str, &str)]) -> (String, String) {
        let cluster = self.cluster("prod").await;
        let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout-api:v2.4.0";
        let app = ContainerSeed {
            log: Some(("/ecs/checkout-api", "ecs")),
            ..sized("app", image, 512)
        };
        let agent = sized("datadog-agent", "public.ecr.aws/datadog/agent:7", 256);
        let td = self.definition("checkout-api", &[app, agent], tags).await;
        (cluster, td)
    }

    /// Service `checkout-api` of `td` in `cluster`, tagged `tags`.
    async fn service(&self, cluster: &str, td: &str, tags: &[(&str, &str)]) -> ServiceSeed {
        let network = self.moto.awsvpc().await;
        support::seed_service(&self.ecs, cluster, "checkout-api", td, tags, &network).await
    }

    /// `checkout` tagged `td_tags`, and its service tagged `service_tags`.
    async fn checkout_service(
        &self,
        td_tags: &[(&str, &str)],
        service_tags: &[(&str, &str)],
    ) -> (String, String, ServiceSeed) {
        let (cluster, td) = self.checkout(td_tags).await;
        let service = self.service(&cluster, &td, service_tags).await;
        (cluster, td, service)
    }

    /// `lines` in log stream `group`/`stream`.
    async fn log(&self, group: &str, stream: &str, lines: &[String]) {
        support::seed_log_stream(&self.logs, group, stream, lines).await;
    }

    /// `event` enriched by this fixture's enricher, and judged.
    async fn plan(&self, event: &Value) -> (Enrichment, Outgoing) {
        enrich_and_plan(&self.enricher, event).await
    }

    /// `plan` of sample `name` in `cluster` with task definition `td`.
    async fn plan_task(&self, name: &str, cluster: &str, td: &str) -> (Enrichment, Outgoing) {
        self.plan(&task_event(name, cluster, td)).await
    }
}

/// A fake ECS endpoint on loopback and an enricher on it.
struct OnFake {
    server: MockServer,
    enricher: Enricher,
}

impl OnFake {
    /// `answers` by ECS operation (`DescribeTasks`), the default settings.
    async fn answering(answers: Vec<(&str, ResponseTemplate)>) -> OnFake {
        OnFake::on(fake_ecs(answers).await, EnrichSettings::default()).await
    }

    /// `answering` with an enrichment budget of `budget`.
    async fn with_budget(answers: Vec<(&str, ResponseTemplate)>, budget: Duration) -> OnFake {
        let settings = EnrichSettings {
            budget,
            ..EnrichSettings::default()
        };
        OnFake::on(fake_ecs(answers).await, settings).await
    }

    /// An enricher with `settings` on `server`.
    async fn on(server: MockServer, settings: EnrichSettings) -> OnFake {
        let enricher = enricher_for(&server.uri(), None, settings).await;
        OnFake { server, enricher }
    }

    /// Sample `name` enriched here, and judged.
    async fn plan(&self, name: &str) -> (Enrichment, Outgoing) {
        enrich_and_plan(&self.enricher, &sample(name)).await
    }

    /// The bodies of the requests for ECS `operation`.
    async fn asked(&self, operation: &str) -> Vec<Value> {
        let target = format!("{ECS}.{operation}");
        self.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| {
                r.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) == Some(&target)
            })
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

async fn enrich_and_plan(enricher: &Enricher, event: &Value) -> (Enrichment, Outgoing) {
    let decoded = decode(event).unwrap();
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    let planned = judge(&decoded, &enrichment, &Options::default(), Utc::now());
    (enrichment, planned)
}

/// An essential container `name` of `image` with a hard limit of `memory` MiB.
fn sized<'a>(name: &'a str, image: &'a str, memory: i32) -> ContainerSeed<'a> {
    ContainerSeed {
        memory: Some(memory),
        ..ContainerSeed::new(name, image)
    }
}

/// Sample `name` in `cluster_arn` with task definition `td_arn`.
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

/// The Slack message, as JSON (line breaks as `\n` escapes).
fn slack_text(p: &Outgoing) -> String {
    serde_json::to_string(support::slack(p).as_ref().expect("a Slack message")).unwrap()
}

/// Every text of the Slack message, one after the other.
fn texts(p: &Outgoing) -> String {
    support::slack(p).as_ref().unwrap().texts().join("\n")
}

/// The tags of the plan's `ecs.task.stops` count.
fn stopped_tags(planned: &Outgoing) -> Vec<String> {
    planned
        .datadog
        .distributions
        .iter()
        .find(|d| d.metric == "ecs.task.stops")
        .expect("ecs.task.stops")
        .tags
        .to_vec()
}

fn lines(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("worker: line {i}")).collect()
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

// ---- against moto --------------------------------------------------------------------------

/// The metrics carry Datadog's ECS tag names (`ecs_cluster_name`, `ecs_service`, `task_family`,
/// `task_version`, the container that broke as `ecs_container_name`), and unified service
/// tagging's `service`, `env` and `version` only where the task definition sets them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_the_agents_tags_and_unified_service_tags_from_the_task_definition() {
    let aws = OnMoto::start().await;
    let cluster = aws.cluster("prod").await;
    let app = ContainerSeed {
        environment: &[("DD_SERVICE", "checkout"), ("DD_ENV", "prod")],
        labels: &[("com.datadoghq.tags.version", "2.4.0")],
        ..sized("app", "checkout-api:v2.4.0", 512)
    };
    let tagged = aws.definition("checkout-api", &[app], &[]).await;
    let plain = sized("app", "checkout-api:v2.4.1", 512);
    let plain = aws.definition("checkout-api", &[plain], &[]).await;

    let (_, planned) = aws.plan_task("task-oom.json", &cluster, &tagged).await;
    let tags = stopped_tags(&planned);
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
    let (_, planned) = aws.plan_task("task-oom.json", &cluster, &plain).await;
    let tags = stopped_tags(&planned);
    assert!(tags.iter().any(|t| t == "task_version:2"), "{tags:?}");
    for reserved in ["service:", "env:", "version:", "cluster:"] {
        assert!(
            !tags.iter().any(|t| t.starts_with(reserved)),
            "no {reserved} without the task definition's value: {tags:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_alert_states_the_limit_and_shows_the_last_lines_cold_and_warm() {
    let aws = OnMoto::start().await;
    let (cluster, td, _) = aws.checkout_service(&[], &[]).await;
    let event = task_event("task-oom.json", &cluster, &td);
    let stream = format!("ecs/app/{}", task_id(&event));
    aws.log("/ecs/checkout-api", &stream, &lines(1..=25)).await;

    aws.moto.reset_calls().await;
    let started = Instant::now();
    let (enrichment, planned) = aws.plan(&event).await;
    let cold = started.elapsed();
    let cold_calls = aws.moto.calls().await;
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
    let again = support::with_id(&event, "7c1d1c55-0000-4000-8000-000000000001");
    aws.moto.reset_calls().await;
    let started = Instant::now();
    let (warm_enrichment, _) = aws.plan(&again).await;
    let warm = started.elapsed();
    let warm_calls = aws.moto.calls().await;
    assert!(warm_enrichment.skipped.is_empty());
    assert_eq!(warm_enrichment.task_definition, enrichment.task_definition);
    eprintln!(
        "enrichment against moto: cold {:.1} ms, calls {cold_calls:?}; warm {:.1} ms, calls {warm_calls:?}",
        cold.as_secs_f64() * 1000.0,
        warm.as_secs_f64() * 1000.0
    );
    // The cache, proven by the calls moto answered: the definition was read once, cold.
    assert_eq!(cold_calls.get(DESCRIBE_TD), Some(&1), "{cold_calls:?}");
    assert_eq!(warm_calls.get(DESCRIBE_TD), None, "{warm_calls:?}");
    let total = |c: &BTreeMap<String, usize>| c.values().sum::<usize>();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_alert_links_to_a_log_stream_that_exists() {
    let aws = OnMoto::start().await;
    let cluster = aws.cluster("batch").await;
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:v2.3.1";
    let app = ContainerSeed {
        log: Some(("/ecs/nightly-report", "jobs")),
        ..sized("app", image, 1024)
    };
    let router = ContainerSeed {
        essential: false,
        ..sized("log_router", "fluent-bit:2", 128)
    };
    let td = aws.definition("nightly-report", &[app, router], &[]).await;
    let event = task_event("task-exit-nonzero.json", &cluster, &td);
    let stream = format!("jobs/app/{}", task_id(&event));
    let mut crash = lines(1..=8);
    crash.push("Traceback: KeyError: 'customer_id' <!channel> & friends".into());
    aws.log("/ecs/nightly-report", &stream, &crash).await;

    let (enrichment, planned) = aws.plan(&event).await;
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
    let (group, rest) = text[at..].split_once("/log-events/").unwrap();
    let stream_enc: String = rest
        .chars()
        .take_while(|c| *c != '|' && *c != '>')
        .collect();
    let (group, linked_stream) = (console_decode(group), console_decode(&stream_enc));
    assert_eq!(
        (group.as_str(), linked_stream.as_str()),
        ("/ecs/nightly-report", stream.as_str())
    );
    let found = aws
        .logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&linked_stream)
        .send()
        .await
        .unwrap();
    assert_eq!(found.events().len(), 9);

    // LOG_LINES=0: no lines, but the link stays.
    let quiet = support::enricher_without_logs(&aws.moto.endpoint).await;
    let (enrichment, planned) = enrich_and_plan(&quiet, &event).await;
    assert!(enrichment.logs.is_empty());
    let text = slack_text(&planned);
    assert!(!text.contains("log lines of"), "{text}");
    assert!(text.contains(marker), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_completed_reports_duration_image_and_metric() {
    let aws = OnMoto::start().await;
    let (_, _, service) = aws.checkout_service(&[], &[]).await;
    let mut event = sample("deployment-completed.json");
    let created = service.deployment_created_at;
    let finished =
        chrono::DateTime::from_timestamp(created.secs() + 372, created.subsec_nanos()).unwrap();
    event["detail"]["deploymentId"] = json!(service.deployment_id);
    event["detail"]["updatedAt"] = json!(finished.to_rfc3339());
    event["resources"] = json!([service.arn]);

    let (enrichment, planned) = aws.plan(&event).await;
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
    let aws = OnMoto::start().await;
    let (cluster, first) = aws.checkout(&[]).await;
    let second = sized("app", "checkout-api:v2.5.0", 512);
    let second = aws.definition("checkout-api", &[second], &[]).await;
    assert!(second.ends_with(":2"));
    let stable = aws.service(&cluster, &first, &[]).await;

    let mut event = sample("deployment-rollback.json");
    event["detail"]["reason"] = json!(format!(
        "ECS deployment circuit breaker: rolling back to deploymentId {}.",
        stable.deployment_id
    ));
    event["resources"] = json!([stable.arn]);
    let (enrichment, planned) = aws.plan(&event).await;
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
    let aws = OnMoto::start().await;
    let td_tags = [
        ("ecs-notifier:mention", "@here"),
        ("ecs-notifier:slack", "platform"),
    ];
    // The service's tags win over the task definition's.
    let service_tags = [
        ("ecs-notifier:slack", "payments"),
        ("ecs-notifier:mention", "S0123ABC"),
    ];
    let (cluster, td, _) = aws.checkout_service(&td_tags, &service_tags).await;
    let (_, planned) = aws.plan_task("task-oom.json", &cluster, &td).await;
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
    let batch = aws.cluster("batch").await;
    let app = sized("app", "report:v2", 512);
    let exit_1_ok = [("ecs-notifier:success-exit-codes", "1")];
    let job = aws.definition("nightly-report", &[app], &exit_1_ok).await;
    let (_, planned) = aws.plan_task("task-exit-nonzero.json", &batch, &job).await;
    assert_eq!(planned.summary.verdict, "success");
    assert!(planned.notice.is_none());
    assert!(stopped_tags(&planned).contains(&"result:success".to_string()));

    // Muted: no Slack, Datadog still counts the failure.
    let resizer = sized("resizer", "resizer:1", 512);
    let mute = [("ecs-notifier:notify", "none")];
    let muted = aws.definition("image-resizer", &[resizer], &mute).await;
    let mut segfault = task_event("task-exit-segfault.json", &batch, &muted);
    segfault["region"] = json!("eu-west-1"); // the sample is from us-east-1; the seed is not
    let (e, planned) = aws.plan(&segfault).await;
    assert!(e.skipped.is_empty(), "{:?}", e.skipped);
    assert_eq!(planned.summary.verdict, "failure");
    assert!(planned.notice.is_none());
    assert!(stopped_tags(&planned).contains(&"result:failure".to_string()));

    // Notify on every run.
    let export = sized("app", "export:1", 512);
    let every_run = [("ecs-notifier:notify", "all")];
    let chatty = aws
        .definition("invoice-export", &[export], &every_run)
        .await;
    let (_, planned) = aws
        .plan_task("task-job-success.json", &batch, &chatty)
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
    let aws = OnMoto::start().await;
    let cluster = aws.cluster("prod").await;
    let app = ContainerSeed {
        log: Some(("/ecs/search-api", "ecs")),
        ..sized("app", "search:58", 512)
    };
    let quiet = aws.definition("search-api", &[app], &[]).await;
    let notify_all = [("ecs-notifier:notify", "all")];
    let asking = aws.definition("search-api", &[app], &notify_all).await;
    let name = "task-stop-timeout-scale-in.json";
    let (e, planned) = aws.plan_task(name, &cluster, &quiet).await;
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

    let (_, planned) = aws.plan_task(name, &cluster, &asking).await;
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
    let aws = OnMoto::start().await;
    let (enrichment, planned) = aws.plan(&sample("task-oom.json")).await;
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

/// An ECS client of `role`, assumed through moto (moto keeps each account's resources apart).
async fn ecs_as(aws: &OnMoto, role: &str) -> aws_sdk_ecs::Client {
    let base = support::sdk_config(&aws.moto.endpoint).await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("seed")
        .configure(&base)
        .build()
        .await;
    aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&base)
            .credentials_provider(provider)
            .build(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_other_accounts_are_enriched_through_an_assumed_role() {
    let aws = OnMoto::start().await;
    // Seed the other account as that role.
    let other = ecs_as(
        &aws,
        &format!("arn:aws:iam::{OTHER_ACCOUNT}:role/ecs-notifier-read"),
    )
    .await;
    let cluster = support::seed_cluster(&other, "prod").await;
    let app = sized("app", "checkout-api:v9", 2048);
    let td = support::seed_task_definition(&other, "checkout-api", &[app], &[]).await;
    assert!(td.contains(OTHER_ACCOUNT), "{td}");
    let mut event = task_event("task-oom.json", &cluster, &td);
    event["account"] = json!(OTHER_ACCOUNT);

    let pattern = "arn:aws:iam::{account}:role/ecs-notifier-read";
    let enricher = enricher_for(&aws.moto.endpoint, Some(pattern), EnrichSettings::default()).await;
    let (enrichment, planned) = enrich_and_plan(&enricher, &event).await;
    // No service was seeded in the other account; everything else was found there.
    assert_eq!(
        enrichment.skipped,
        ["ecs:DescribeServices: checkout-api: MISSING"]
    );
    assert!(slack_text(&planned).contains("2048 MiB (container limit)"));

    // Without the role the function looks in its own account and finds nothing.
    let (enrichment, _) = aws.plan(&event).await;
    assert!(
        enrichment.task_definition.is_none(),
        "found only through the role"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_of_a_stopped_task_is_read_from_describe_tasks() {
    let aws = OnMoto::start().await;
    let (cluster, td, _) = aws.checkout_service(&[], &[]).await;
    let network = aws.moto.awsvpc().await;
    let task_arn = support::run_task(&aws.ecs, &cluster, &td, &network).await;
    let reason = "Task failed container health checks";
    support::stop_task(&aws.ecs, &cluster, &task_arn, reason).await;
    let mut event = task_event("task-container-health-check.json", &cluster, &td);
    event["detail"]["taskArn"] = json!(task_arn);
    for container in ["app", "datadog-agent"] {
        let stream = format!("ecs/{container}/{}", task_id(&event));
        aws.log("/ecs/checkout-api", &stream, &lines(1..=3)).await;
    }

    let (enrichment, planned) = aws.plan(&event).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    // moto reports the first container only, always HEALTHY: the call and its parsing are real,
    // the UNHEALTHY case is covered against the fake endpoint below.
    let health = enrichment.health.expect("DescribeTasks answered");
    assert_eq!(health[0].name, "app");
    assert_eq!(health[0].status, "HEALTHY");
    assert!(slack_text(&planned).contains("`app` HEALTHY · essential"));
}

/// The scheduler's dead letter `sqs-scheduler-dead-letter.json`, naming task definition `td`,
/// enriched and judged.
async fn plan_dead_letter(enricher: &Enricher, td: &str) -> (Enrichment, Outgoing) {
    let mut sqs = sample("sqs-scheduler-dead-letter.json");
    let mut body: Value =
        serde_json::from_str(sqs["Records"][0]["body"].as_str().unwrap()).unwrap();
    body["TaskDefinitionArn"] = json!(td);
    sqs["Records"][0]["body"] = json!(body.to_string());
    let (_, decoded) = ecs_notifier::source::payload::message(&sqs["Records"][0]);
    let decoded = decoded.unwrap();
    let enrichment = enricher.enrich(&decoded, Some(ACCOUNT)).await;
    let planned = judge(&decoded, &enrichment, &Options::default(), Utc::now());
    (enrichment, planned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn launch_failures_follow_the_task_definitions_routing_tags() {
    let aws = OnMoto::start().await;
    let app = [ContainerSeed::new(
        "app",
        "public.ecr.aws/docker/library/busybox:1.36",
    )];
    // The refused job of the CloudTrail sample and the schedule's dead letter: nightly-etl:1 in
    // moto (revision 1: the samples' revision is rewritten to it).
    let routing = [
        ("ecs-notifier:mention", "here"),
        ("ecs-notifier:slack", "data-team"),
    ];
    let td = aws.definition("nightly-etl", &app, &routing).await;

    let mut refused = sample("cloudtrail-runtask-access-denied.json");
    refused["detail"]["requestParameters"]["taskDefinition"] = json!("nightly-etl:1");
    let (enrichment, planned) = aws.plan(&refused).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    assert_eq!(planned.placement.route.as_deref(), Some("data-team"));
    assert!(
        slack_text(&planned).contains("<!here>"),
        "{}",
        slack_text(&planned)
    );

    let (enrichment, planned) = plan_dead_letter(&aws.enricher, &td).await;
    assert!(enrichment.skipped.is_empty(), "{:?}", enrichment.skipped);
    assert_eq!(planned.placement.route.as_deref(), Some("data-team"));
    assert!(slack_text(&planned).contains("<!here>"));

    // A launch that succeeded costs no API call and posts nothing.
    let (enrichment, planned) = aws.plan(&sample("cloudtrail-runtask-launched.json")).await;
    assert_eq!(enrichment, Enrichment::default());
    assert!(planned.notice.is_none());
}

// ---- against a fake ECS endpoint, for answers moto cannot give -----------------------------

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

fn throttled() -> ResponseTemplate {
    aws_error("ThrottlingException", "Rate exceeded")
}

/// `checkout-api` with its datadog-agent sidecar essential or not, the sidecar UNHEALTHY, and
/// no service.
async fn unhealthy_sidecar(essential: bool) -> OnFake {
    OnFake::answering(vec![
        (
            "DescribeTaskDefinition",
            aws_json(checkout_definition(essential)),
        ),
        ("DescribeTasks", health_answer()),
        ("DescribeServices", no_service()),
    ])
    .await
}

#[tokio::test]
async fn an_essential_sidecar_failing_its_health_check_is_named() {
    let fake = unhealthy_sidecar(true).await;
    let (enrichment, planned) = fake.plan("task-container-health-check.json").await;
    assert_eq!(enrichment.health.as_ref().map(Vec::len), Some(2));
    let all = texts(&planned);
    let message = support::slack(&planned).unwrap();
    assert!(
        message
            .text
            .starts_with("Container health checks failed: checkout-api (datadog-agent)"),
        "{}",
        message.text
    );
    assert!(message.text.contains("datadog-agent (an essential sidecar: its failing health check took the whole task down)"), "{}", message.text);
    assert!(
        all.contains("`datadog-agent` UNHEALTHY · essential"),
        "{all}"
    );
    assert!(all.contains("`app` HEALTHY · essential"), "{all}");

    // The same sidecar marked non-essential reads differently.
    let fake = unhealthy_sidecar(false).await;
    let (_, planned) = fake.plan("task-container-health-check.json").await;
    assert!(support::slack(&planned)
        .unwrap()
        .text
        .contains("datadog-agent (not essential)"));
}

#[tokio::test]
async fn throttling_and_access_denied_leave_parts_out() {
    let denied = aws_error(
        "AccessDeniedException",
        "User is not authorized to perform: ecs:DescribeTaskDefinition",
    );
    let answers = vec![
        ("DescribeTaskDefinition", denied),
        ("DescribeTasks", throttled()),
        ("DescribeServices", throttled()),
    ];
    let budget = Duration::from_millis(1500);
    let fake = OnFake::with_budget(answers, budget).await;
    let started = Instant::now();
    let (enrichment, planned) = fake.plan("task-container-health-check.json").await;
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
    assert_eq!(fake.asked("DescribeTaskDefinition").await.len(), 1);
    assert!(
        fake.asked("DescribeTasks").await.len() >= 2,
        "throttling retried"
    );
    // The alert goes out without those parts.
    let text = slack_text(&planned);
    assert!(
        text.contains("Container health checks failed: checkout-api"),
        "{text}"
    );
}

#[tokio::test]
async fn a_hanging_api_never_delays_the_alert_past_the_budget() {
    let hang = Duration::from_secs(10);
    let answers = vec![
        (
            "DescribeTaskDefinition",
            aws_json(checkout_definition(true)).set_delay(hang),
        ),
        ("DescribeServices", no_service().set_delay(hang)),
    ];
    let budget = Duration::from_millis(400);
    let fake = OnFake::with_budget(answers, budget).await;
    let started = Instant::now();
    let (enrichment, planned) = fake.plan("task-oom.json").await;
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
    let fake = OnFake::answering(vec![]).await;
    let decoded = decode(&sample("task-deployment-replaced.json")).unwrap();
    assert!(matches!(decoded, Event::Task(..)));
    let enrichment = fake.enricher.enrich(&decoded, Some(ACCOUNT)).await;
    assert_eq!(enrichment, Enrichment::default());
    assert!(fake.server.received_requests().await.unwrap().is_empty());
}

const CLUSTER: &str = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
const SERVICE: &str = "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout-api";
const DEPLOYMENTS: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/checkout-api";
const REVISIONS: &str = "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/checkout-api";

/// ListServiceDeployments: an older successful deployment, and `troubled` rolling back.
fn deployments_listed(troubled: &str) -> ResponseTemplate {
    deployments_listed_as(troubled, "ROLLBACK_IN_PROGRESS")
}

/// ListServiceDeployments: an older successful deployment, and the latest, `troubled`, in
/// `status`.
fn deployments_listed_as(troubled: &str, status: &str) -> ResponseTemplate {
    aws_json(json!({"serviceDeployments": [
        {"serviceDeploymentArn": format!("{DEPLOYMENTS}/older"), "serviceArn": SERVICE,
         "clusterArn": CLUSTER, "status": "SUCCESSFUL", "createdAt": 1763600000.0},
        {"serviceDeploymentArn": troubled, "serviceArn": SERVICE, "clusterArn": CLUSTER,
         "status": status, "createdAt": 1763735900.5}
    ]}))
}

/// DescribeServiceDeployments of `troubled`: a blue/green deployment rolled back in its bake
/// time by alarm `checkout-5xx`, from revision 2222 to 1111.
fn deployment_described(troubled: &str) -> ResponseTemplate {
    deployment_described_as(troubled, "ROLLBACK_IN_PROGRESS")
}

/// DescribeServiceDeployments of `troubled` as above, in `status`.
fn deployment_described_as(troubled: &str, status: &str) -> ResponseTemplate {
    aws_json(json!({"failures": [], "serviceDeployments": [{
        "serviceDeploymentArn": troubled, "serviceArn": SERVICE, "clusterArn": CLUSTER,
        "status": status,
        "statusReason": "Service deployment rolled back because of alarm",
        "lifecycleStage": "BAKE_TIME",
        "deploymentConfiguration": {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10},
        "alarms": {"status": "TRIGGERED", "alarmNames": ["checkout-5xx", "checkout-p99"],
                   "triggeredAlarmNames": ["checkout-5xx"]},
        "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 2,
                                     "threshold": 10},
        "rollback": {"reason": "Rolled back: CloudWatch alarm checkout-5xx is in ALARM",
                     "serviceRevisionArn": format!("{REVISIONS}/1111"),
                     "startedAt": 1763736000.0},
        "targetServiceRevision": {"arn": format!("{REVISIONS}/2222"),
                                  "requestedTaskCount": 4, "runningTaskCount": 4,
                                  "pendingTaskCount": 0},
        "sourceServiceRevisions": [{"arn": format!("{REVISIONS}/1111")}]
    }]}))
}

/// DescribeServiceRevisions: 1111 is checkout-api:41, 2222 checkout-api:42.
fn revisions_described() -> ResponseTemplate {
    aws_json(json!({"failures": [], "serviceRevisions": [
        {"serviceRevisionArn": format!("{REVISIONS}/1111"), "serviceArn": SERVICE,
         "clusterArn": CLUSTER,
         "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout-api:41"},
        {"serviceRevisionArn": format!("{REVISIONS}/2222"), "serviceArn": SERVICE,
         "clusterArn": CLUSTER,
         "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/checkout-api:42"}
    ]}))
}

/// A blue/green deployment whose alarm fired in its bake time: the service deployment APIs
/// name the alarm, the circuit breaker's count, the rollback's reason and target, and the
/// strategy and stage. (moto does not serve these calls: a fake ECS endpoint on loopback.)
#[tokio::test]
async fn a_rollback_names_alarms_circuit_breaker_reason_and_target() {
    let troubled = format!("{DEPLOYMENTS}/NRjKfy3PMc5fqh1TlC0Ek");
    let fake = OnFake::answering(vec![
        ("DescribeServices", no_service()),
        ("ListServiceDeployments", deployments_listed(&troubled)),
        (
            "DescribeServiceDeployments",
            deployment_described(&troubled),
        ),
        ("DescribeServiceRevisions", revisions_described()),
    ])
    .await;
    let (enrichment, planned) = fake.plan("deployment-rollback.json").await;

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
    let text = texts(&planned);
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
    let listed = fake.asked("ListServiceDeployments").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service"], "checkout-api");
    assert_eq!(listed[0]["cluster"], "prod");
    assert_eq!(
        fake.asked("DescribeServiceDeployments").await[0]["serviceDeploymentArns"],
        json!([troubled])
    );
    let mut revisions_asked: Vec<String> = fake.asked("DescribeServiceRevisions").await[0]
        ["serviceRevisionArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    revisions_asked.sort();
    assert_eq!(
        revisions_asked,
        [format!("{REVISIONS}/1111"), format!("{REVISIONS}/2222")]
    );
}

/// Without permission for the service deployment APIs (an older IAM policy), the rollback is
/// still told, with what the event says.
#[tokio::test]
async fn a_rollback_without_service_deployment_access_is_still_told() {
    let denied = aws_error(
        "AccessDeniedException",
        "not authorized to perform: ecs:ListServiceDeployments",
    );
    let fake = OnFake::answering(vec![
        ("DescribeServices", no_service()),
        ("ListServiceDeployments", denied),
    ])
    .await;
    let (enrichment, planned) = fake.plan("deployment-rollback.json").await;
    assert!(enrichment.service_deployment.is_none());
    assert!(
        enrichment
            .skipped
            .iter()
            .any(|s| s.contains("ecs:ListServiceDeployments")),
        "{:?}",
        enrichment.skipped
    );
    let text = texts(&planned);
    assert!(
        text.contains("*Rolling back to*\necs-svc/1234567890123456789"),
        "{text}"
    );
    assert!(!text.contains("Service deployment*"), "{text}");
}

/// A fake ECS endpoint answering ListTagsForResource of each `(arn, tags)`.
async fn tagging(resources: &[(&str, Value)]) -> MockServer {
    let server = MockServer::start().await;
    let target = format!("{ECS}.ListTagsForResource");
    for (arn, tags) in resources {
        Mock::given(method("POST"))
            .and(header("x-amz-target", target.as_str()))
            .and(body_partial_json(json!({"resourceArn": arn})))
            .respond_with(aws_json(json!({ "tags": tags })))
            .mount(&server)
            .await;
    }
    server
}

/// Container instances and daemons carry routing tags of their own: an impaired instance's
/// alert goes where its tags say and pings whom they name; a muted daemon posts nothing. Each
/// resource's tags are read once a minute, however many events name it.
#[tokio::test]
async fn instance_and_daemon_alerts_follow_their_own_tags() {
    let instance =
        "arn:aws:ecs:eu-west-1:123456789012:container-instance/gpu-batch/a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let daemon = "arn:aws:ecs:eu-west-1:123456789012:daemon/prod/node-exporter";
    let server = tagging(&[
        (
            instance,
            json!([{"key": "ecs-notifier:slack-channel", "value": "gpu-oncall"},
                   {"key": "ecs-notifier:mention", "value": "@here"}]),
        ),
        (
            daemon,
            json!([{"key": "ecs-notifier:notify", "value": "none"}]),
        ),
    ])
    .await;
    let fake = OnFake::on(server, EnrichSettings::default()).await;

    let (enrichment, planned) = fake.plan("instance-health-gpu-impaired.json").await;
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
        let (enrichment, planned) = fake.plan(name).await;
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
    fake.plan("daemon-task-creation-failed.json").await;
    let calls = fake.server.received_requests().await.unwrap();
    let asked: Vec<String> = calls
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["resourceArn"].to_string())
        .collect();
    assert_eq!(asked.len(), 2, "one lookup per resource: {asked:?}");
}

/// A completion that finished a rollback: its latest service deployment says
/// `ROLLBACK_SUCCESSFUL`, so the completion is told as the rollback's, naming the revision the
/// service is back on and the one it rolled back from; a plain completion stays plain.
#[tokio::test]
async fn a_rollback_completion_names_the_revisions() {
    let done = format!("{DEPLOYMENTS}/NRjKfy3PMc5fqh1TlC0Ek");
    let rolled_back = |status: &str| {
        (
            deployments_listed_as(&done, status),
            deployment_described_as(&done, status),
        )
    };
    for (status, says) in [
        (
            "ROLLBACK_SUCCESSFUL",
            "Rollback completed: checkout-api back on revision checkout-api:41 (from checkout-api:42)",
        ),
        ("SUCCESSFUL", "Deployment completed: checkout-api"),
    ] {
        let (listed, described) = rolled_back(status);
        let fake = OnFake::answering(vec![
            ("DescribeServices", no_service()),
            ("ListServiceDeployments", listed),
            ("DescribeServiceDeployments", described),
            ("DescribeServiceRevisions", revisions_described()),
        ])
        .await;
        let (_, planned) = fake.plan("deployment-completed.json").await;
        let text = texts(&planned);
        assert!(text.contains(says), "{status}: {text}");
        let result = if status == "SUCCESSFUL" { "result:success" } else { "result:rolled_back" };
        assert!(
            planned.datadog.events[0].tags.iter().any(|t| t == result),
            "{status}: {:?}",
            planned.datadog.events[0].tags
        );
    }
}
