//! Missed runs end to end: the built `ecs-notifier` binary under the Lambda Runtime API
//! emulator, with its state table, task definition tags and EventBridge Scheduler schedules on a
//! real `moto_server`, and Slack and Datadog on wiremock.
//!
//! The clock is the events' own: a job's run is recorded at its `stoppedAt`, and each missed-run
//! check runs as of its Scheduled Event's `time`, so the test moves time by writing events.

use crate::support;

use std::time::Duration;

use aws_sdk_scheduler::types::{EcsParameters, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use serde_json::{json, Value};
use wiremock::matchers::path;
use wiremock::MockServer;

use support::lambda::{expect_response, Lambda, Reported};
use support::{requests, ContainerSeed, Moto};

const TABLE: &str = "ecs-notifier-state";
const SLACK_PATH: &str = "/services/T000/B000/XXXXSECRET";
const DD_SERIES: &str = "/api/v2/series";
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The webhook answering `ok`, and Datadog answering 202 to everything.
async fn sinks() -> (MockServer, MockServer) {
    (
        support::server_for(path(SLACK_PATH), 200, "ok").await,
        support::server(202, "{}").await,
    )
}

/// Slack message texts posted since request number `from`.
async fn slack_texts(slack: &MockServer, from: usize) -> Vec<String> {
    requests(slack)
        .await
        .iter()
        .skip(from)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Every point of `metric` sent to `/api/v2/series` since request number `from`, with its tags.
async fn series_points(datadog: &MockServer, from: usize, metric: &str) -> Vec<(f64, Vec<String>)> {
    let mut out = Vec::new();
    for r in requests(datadog).await.iter().skip(from) {
        if r.url.path() != DD_SERIES {
            continue;
        }
        let body: Value = serde_json::from_slice(&r.body).expect("series JSON");
        for s in body["series"].as_array().into_iter().flatten() {
            if s["metric"] == metric {
                let tags = s["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                out.push((s["points"][0]["value"].as_f64().unwrap_or(f64::NAN), tags));
            }
        }
    }
    out
}

/// Every value of distribution `metric` sent since request `from`, with its tags: a count sent
/// as a distribution has one value of 1 per thing counted.
async fn distribution_points(
    datadog: &MockServer,
    from: usize,
    metric: &str,
) -> Vec<(f64, Vec<String>)> {
    let mut out = Vec::new();
    for r in requests(datadog).await.iter().skip(from) {
        if r.url.path() != "/api/v1/distribution_points" {
            continue;
        }
        let body: Value = serde_json::from_slice(&r.body).expect("distribution JSON");
        for s in body["series"].as_array().into_iter().flatten() {
            if s["metric"] == metric {
                let tags: Vec<String> = s["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect();
                for p in s["points"].as_array().into_iter().flatten() {
                    for v in p[1].as_array().into_iter().flatten() {
                        out.push((v.as_f64().unwrap_or(f64::NAN), tags.clone()));
                    }
                }
            }
        }
    }
    out
}

/// A successful run of `task_definition` (an ARN with revision) in cluster `batch`, created 20
/// minutes before it stopped at `stopped_at`.
fn success(id: &str, task_definition: &str, started_by: &str, stopped_at: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("events/task-job-success.json")).expect("sample");
    let mut e: Value = serde_json::from_str(&text).expect("sample JSON");
    let stopped: chrono::DateTime<chrono::Utc> = stopped_at.parse().expect("time");
    let at = |minutes: i64| (stopped - chrono::Duration::minutes(minutes)).to_rfc3339();
    e["id"] = json!(id);
    e["time"] = json!(stopped_at);
    let d = &mut e["detail"];
    d["taskDefinitionArn"] = json!(task_definition);
    d["clusterArn"] = json!("arn:aws:ecs:eu-west-1:123456789012:cluster/batch");
    d["taskArn"] = json!(format!(
        "arn:aws:ecs:eu-west-1:123456789012:task/batch/{id}"
    ));
    d["startedBy"] = json!(started_by);
    d["group"] = json!("family:job");
    d["createdAt"] = json!(at(20));
    d["pullStartedAt"] = json!(at(19));
    d["pullStoppedAt"] = json!(at(18));
    d["startedAt"] = json!(at(18));
    d["stoppingAt"] = json!(at(0));
    d["executionStoppedAt"] = json!(at(0));
    d["stoppedAt"] = json!(stopped_at);
    d["version"] = json!(5);
    e
}

/// The periodic check as EventBridge sends it, at `time`.
fn check(id: &str, time: &str) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:123456789012:rule/ecs-notifier-MissedRunCheck"],
        "detail": {}
    })
}

async fn invoke(lambda: &mut Lambda, event: &Value) -> Value {
    let id = event["id"].as_str().expect("id").to_string();
    let reported = lambda.invoke(&format!("req-{id}"), event, &id).await;
    if let Reported::Error { body, .. } = &reported {
        panic!("{id}: the invocation failed: {body}");
    }
    expect_response(&id, &reported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_run_alerts_once_and_a_run_on_time_does_not() {
    tokio::time::timeout(TEST_TIMEOUT, scenario())
        .await
        .expect("the scenario finishes in time");
}

async fn scenario() {
    let moto = Moto::start().await;
    support::create_state_table(&moto.endpoint, TABLE).await;
    let config = support::sdk_config(&moto.endpoint).await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    support::seed_cluster(&ecs, "batch").await;
    let app = [ContainerSeed::new(
        "app",
        "public.ecr.aws/docker/library/busybox:1.36",
    )];
    // An hourly job with its interval in a tag, pinging @here when it misses a run.
    let hourly = support::seed_task_definition(
        &ecs,
        "hourly-sync",
        &app,
        &[
            ("ecs-notifier:expect-every", "1h"),
            ("ecs-notifier:mention", "here"),
        ],
    )
    .await;
    // A nightly job whose timing is its EventBridge Scheduler schedule's.
    let nightly = support::seed_task_definition(
        &ecs,
        "nightly-etl",
        &app,
        &[("ecs-notifier:expect-every", "schedule")],
    )
    .await;
    let scheduler = aws_sdk_scheduler::Client::new(&config);
    scheduler
        .create_schedule()
        .name("nightly-etl-at-three")
        .schedule_expression("cron(0 3 * * ? *)")
        .flexible_time_window(
            FlexibleTimeWindow::builder()
                .mode(FlexibleTimeWindowMode::Off)
                .build()
                .expect("window"),
        )
        .target(
            Target::builder()
                .arn("arn:aws:ecs:eu-west-1:123456789012:cluster/batch")
                .role_arn("arn:aws:iam::123456789012:role/nightly-etl-scheduler-role")
                .ecs_parameters(
                    EcsParameters::builder()
                        .task_definition_arn(&nightly)
                        .build()
                        .expect("ecs parameters"),
                )
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("CreateSchedule");

    let (slack, datadog) = sinks().await;
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let env = [
        ("SLACK_WEBHOOK_URL", webhook.as_str()),
        ("DD_API_KEY", "dd-test-key"),
        ("DD_API_URL", dd.as_str()),
        ("STATE_TABLE", TABLE),
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_REGION", support::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("ENRICHMENT", "on"),
        ("LOG_LINES", "0"),
        ("EXPECT_GRACE", "15m"),
    ];
    let mut lambda = Lambda::spawn(&env).await;

    // 1. Runs: hourly-sync at 01:05; nightly-etl at 03:20 the day before, launched by its
    //    schedule (ECS cuts startedBy to 36 characters: the schedule is found by prefix).
    invoke(
        &mut lambda,
        &success(
            "run-hourly-1",
            &hourly,
            "events-rule/hourly-sync",
            "2026-11-22T01:05:00Z",
        ),
    )
    .await;
    invoke(
        &mut lambda,
        &success(
            "run-nightly-1",
            &nightly,
            "chronos-schedule/nightly-etl-at-thr",
            "2026-11-21T03:20:00Z",
        ),
    )
    .await;
    assert!(
        slack_texts(&slack, 0).await.is_empty(),
        "successes post nothing"
    );

    // 2. 02:19: hourly-sync is due by 02:20 (01:05 + 1h + 15m): nothing yet.
    let (s0, d0) = (requests(&slack).await.len(), requests(&datadog).await.len());
    let report = invoke(&mut lambda, &check("check-0219", "2026-11-22T02:19:00Z")).await;
    assert_eq!(report["kind"], "check", "{report}");
    assert_eq!(report["cause"], "2 job(s), 0 overdue", "{report}");
    assert!(
        slack_texts(&slack, s0).await.is_empty(),
        "nothing is overdue at 02:19"
    );
    let ages = series_points(&datadog, d0, "ecs.job.last_success_age").await;
    let hourly_age = ages
        .iter()
        .find(|(_, tags)| tags.contains(&"task_family:hourly-sync".to_string()))
        .expect("an age for hourly-sync");
    assert_eq!(hourly_age.0, 74.0 * 60.0, "01:05 to 02:19");
    assert!(
        hourly_age.1.contains(&"ecs_cluster_name:batch".to_string()),
        "{ages:?}"
    );
    let nightly_age = ages
        .iter()
        .find(|(_, tags)| tags.contains(&"task_family:nightly-etl".to_string()))
        .expect("an age for nightly-etl");
    assert_eq!(
        nightly_age.0,
        (22.0 * 60.0 + 59.0) * 60.0,
        "03:20 to 02:19 the next day"
    );
    assert!(
        nightly_age
            .1
            .contains(&"schedule:default/nightly-etl-at-three".to_string()),
        "{ages:?}"
    );
    let overdue = series_points(&datadog, d0, "ecs.job.overdue").await;
    assert!(overdue.iter().all(|(v, _)| *v == 0.0), "{overdue:?}");

    // 3. 02:21: hourly-sync missed its run: one alert, with the mention its tags ask for.
    let s1 = requests(&slack).await.len();
    let d1 = requests(&datadog).await.len();
    let report = invoke(&mut lambda, &check("check-0221", "2026-11-22T02:21:00Z")).await;
    assert_eq!(report["cause"], "2 job(s), 1 overdue", "{report}");
    let posted = slack_texts(&slack, s1).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    let alert = &posted[0];
    for says in [
        "Missed run: hourly-sync",
        "should have finished a run by 2026-11-22 02:20 UTC",
        "2026-11-22 01:05 UTC (1h16m ago)",
        "every 1h",
        "<!here>",
    ] {
        assert!(alert.contains(says), "the alert says {says}: {alert}");
    }
    let missed = distribution_points(&datadog, d1, "ecs.job.missed_runs").await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0].0, 1.0, "{missed:?}");
    assert!(missed[0].1.contains(&"task_family:hourly-sync".to_string()));
    let overdue = series_points(&datadog, d1, "ecs.job.overdue").await;
    assert!(
        overdue.contains(&(
            1.0,
            vec![
                "ecs_cluster_name:batch".to_string(),
                "task_family:hourly-sync".to_string(),
                // Where the job runs, as every metric says it.
                "aws_account:123456789012".to_string(),
                "region:eu-west-1".to_string(),
            ]
        )),
        "{overdue:?}"
    );

    // 4. 02:26: still missed, but that miss was told: no second alert.
    let s2 = requests(&slack).await.len();
    invoke(&mut lambda, &check("check-0226", "2026-11-22T02:26:00Z")).await;
    assert!(
        slack_texts(&slack, s2).await.is_empty(),
        "one alert per missed run"
    );

    // 5. A run at 02:30, then 03:36: hourly-sync is on time; nightly-etl was due by 03:35
    //    (its 03:00 run, 20 minutes long, plus 15 minutes).
    invoke(
        &mut lambda,
        &success(
            "run-hourly-2",
            &hourly,
            "events-rule/hourly-sync",
            "2026-11-22T02:30:00Z",
        ),
    )
    .await;
    let s3 = requests(&slack).await.len();
    let report = invoke(&mut lambda, &check("check-0336", "2026-11-22T03:36:00Z")).await;
    assert_eq!(report["cause"], "2 job(s), 1 overdue", "{report}");
    let posted = slack_texts(&slack, s3).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    for says in [
        "Missed run: nightly-etl",
        "cron(0 3 * * ? *)",
        "EventBridge Scheduler default/nightly-etl-at-three",
        "by 2026-11-22 03:35 UTC",
    ] {
        assert!(
            posted[0].contains(says),
            "the alert says {says}: {}",
            posted[0]
        );
    }
    assert!(!posted[0].contains("hourly-sync"), "{}", posted[0]);

    let output = lambda.stop().await;
    let text = format!("{}\n{}", output.stdout.join("\n"), output.stderr.join("\n"));
    assert!(
        !text.contains("not recorded"),
        "every run was recorded:\n{text}"
    );
    assert!(
        !text.contains("not tracked"),
        "every job was tracked:\n{text}"
    );
}
