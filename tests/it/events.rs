//! Every sample event in `events/` against what the spec says it must produce
//! (`tests/expected/events.json`): verdict, cause, trigger, durations, Slack and Datadog output.

use crate::support;

use std::collections::BTreeSet;

use chrono::Utc;
use ecs_notifier::judge::task::verdict::classify;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::source::{events, Event};
use serde_json::Value;

fn samples() -> Vec<(String, Value, Value)> {
    let expected = support::expectations();
    let samples = support::samples();
    let names: BTreeSet<String> = samples.iter().map(|(name, _)| name.clone()).collect();
    let listed: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(
        names, listed,
        "every sample has expectations and vice versa"
    );
    assert!(samples.len() >= 15, "at least 15 samples");
    samples
        .into_iter()
        .map(|(name, event)| {
            let want = expected[&name].clone();
            (name, event, want)
        })
        .collect()
}

/// The one event of a sample: an EventBridge event, or an SQS event with one record.
fn decode_one(name: &str, input: &Value) -> Event {
    let mut all = events(input);
    assert_eq!(all.len(), 1, "{name}: one event per sample");
    all.remove(0).1.unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn seconds(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn close(name: &str, what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 0.0005, "{name}: {what} {g} != {w}"),
        (g, w) => assert_eq!(g, w, "{name}: {what}"),
    }
}

#[test]
fn every_sample_gets_the_specified_verdict() {
    let options = Options::default();
    let mut kinds = BTreeSet::new();
    for (name, input, want) in samples() {
        let event = decode_one(&name, &input);
        let planned = judge(&event, &Enrichment::default(), &options, Utc::now());
        let kind = want["kind"].as_str().unwrap();
        kinds.insert(kind.to_string());
        match (kind, &event) {
            ("task_stopped", Event::Task(_, task)) => {
                let v = classify(task, &Enrichment::default(), &[]);
                assert_eq!(v.outcome.as_str(), want["result"], "{name}: result");
                assert_eq!(v.cause.as_str(), want["cause"], "{name}: cause");
                assert_eq!(v.trigger.kind(), want["trigger"], "{name}: trigger");
                let trigger_name = v.trigger.service().or(v.trigger.schedule());
                assert_eq!(
                    trigger_name,
                    want["trigger_name"].as_str(),
                    "{name}: trigger name"
                );
                close(
                    &name,
                    "run",
                    v.durations.running,
                    seconds(&want["run_seconds"]),
                );
                close(
                    &name,
                    "startup",
                    v.durations.startup,
                    seconds(&want["startup_seconds"]),
                );
                close(
                    &name,
                    "pull",
                    v.durations.pulling,
                    seconds(&want["pull_seconds"]),
                );
                let failed: Vec<(String, i64)> = v
                    .failed_containers
                    .iter()
                    .map(|c| (c.name.clone(), c.exit_code))
                    .collect();
                let want_failed: Vec<(String, i64)> =
                    serde_json::from_value(want["failed_containers"].clone()).unwrap();
                assert_eq!(failed, want_failed, "{name}: failed containers");
                if let Some(want_stopped) = want.get("stopped_by_ecs") {
                    let culprits: Vec<&str> = v.culprits.iter().map(String::as_str).collect();
                    let stopped: Vec<&str> = v
                        .stopped_by_ecs(&culprits)
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    assert_eq!(
                        serde_json::json!(stopped),
                        *want_stopped,
                        "{name}: containers stopped by ECS"
                    );
                }
                says(&name, &planned, &want);
                assert_eq!(
                    planned.notice.is_some(),
                    want["slack"] == true,
                    "{name}: slack"
                );
                // One stop count per task (a distribution value of 1, which Datadog adds up
                // across submitters), tagged with result and cause; no series.
                assert!(planned.datadog.series.is_empty(), "{name}: no series");
                assert_eq!(
                    planned.datadog.count_of("ecs.task.stops"),
                    1,
                    "{name}: one stop counted"
                );
                let stopped = planned
                    .datadog
                    .distributions
                    .iter()
                    .find(|d| d.metric == "ecs.task.stops")
                    .unwrap();
                assert_eq!(stopped.points[0].1, [1.0], "{name}");
                let tags = &stopped.tags;
                has_tags(&name, tags, &want);
                assert!(
                    tags.contains(&format!("result:{}", want["result"].as_str().unwrap())),
                    "{name}: {tags:?}"
                );
                assert!(
                    tags.contains(&format!("cause:{}", want["cause"].as_str().unwrap())),
                    "{name}: {tags:?}"
                );
                assert!(
                    !tags
                        .iter()
                        .any(|t| t.contains(task.task_id()) && !task.task_id().is_empty()),
                    "{name}: task id in tags"
                );
                let has_duration = planned
                    .datadog
                    .distributions
                    .iter()
                    .any(|d| d.metric == "ecs.task.duration");
                assert_eq!(
                    has_duration,
                    !want["run_seconds"].is_null(),
                    "{name}: duration metric"
                );
            }
            ("ignored", Event::Task(_, task)) => {
                assert!(!task.is_stopped(), "{name}");
                assert_eq!(planned.summary.verdict, "ignored", "{name}");
                assert!(
                    planned.notice.is_none() && planned.datadog.is_empty(),
                    "{name}"
                );
            }
            ("deployment", Event::Deployment(_, d)) => {
                assert_eq!(
                    d.event_name.as_deref(),
                    want["event_name"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    planned.notice.is_some(),
                    want["slack"] == true,
                    "{name}: slack"
                );
                assert_eq!(planned.datadog.events.len(), 1, "{name}: one Datadog event");
                let dd = &planned.datadog.events[0];
                assert_eq!(dd.alert_type, want["alert_type"], "{name}: alert type");
                assert_eq!(
                    dd.aggregation_key, d.deployment_id,
                    "{name}: aggregation key"
                );
                assert!(
                    dd.tags
                        .iter()
                        .any(|t| t.starts_with("ecs_service:") && t.len() > 12),
                    "{name}: {:?}",
                    dd.tags
                );
                assert!(
                    dd.tags
                        .iter()
                        .any(|t| t.starts_with("ecs_cluster_name:") && t.len() > 17),
                    "{name}: {:?}",
                    dd.tags
                );
            }
            ("service_action", Event::ServiceAction(env, action)) => {
                assert_eq!(
                    action.event_name.as_deref(),
                    want["event_name"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    planned.notice.is_some(),
                    want["slack"] == true,
                    "{name}: slack"
                );
                assert_eq!(
                    action.service_ref(env).service,
                    want["service"],
                    "{name}: service"
                );
                if let Some(message) = &support::slack(&planned) {
                    assert!(
                        message
                            .texts()
                            .iter()
                            .any(|t| t.contains(want["service"].as_str().unwrap())),
                        "{name}: message names the service"
                    );
                }
                says(&name, &planned, &want);
            }
            (
                "hook" | "instance_health" | "instance_state" | "daemon_action"
                | "daemon_deployment" | "other",
                _,
            ) => {
                let s = &planned.summary;
                assert_eq!(s.kind, kind, "{name}: kind");
                assert_eq!(s.verdict, want["verdict"], "{name}: verdict");
                assert_eq!(s.cause, want["cause"], "{name}: cause");
                assert_eq!(s.subject, want["subject"], "{name}: subject");
                assert_eq!(
                    planned.notice.is_some(),
                    want["slack"] == true,
                    "{name}: slack"
                );
                assert_eq!(
                    planned.placement.reply_only,
                    want["reply_only"] == true,
                    "{name}: only a reply in a thread"
                );
                says(&name, &planned, &want);
                // Counted once, as a distribution value of 1; no series.
                let metric = want["metric"].as_str().unwrap();
                assert!(planned.datadog.series.is_empty(), "{name}: no series");
                assert_eq!(planned.datadog.distributions.len(), 1, "{name}");
                assert_eq!(planned.datadog.count_of(metric), 1, "{name}: {metric}");
                has_tags(&name, &planned.datadog.distributions[0].tags, &want);
                match want["dd_event"].as_str() {
                    Some(alert_type) => {
                        assert_eq!(planned.datadog.events.len(), 1, "{name}: one event");
                        assert_eq!(planned.datadog.events[0].alert_type, alert_type, "{name}");
                    }
                    None => assert!(planned.datadog.events.is_empty(), "{name}: no event"),
                }
                assert_eq!(
                    planned.flood_key.is_some(),
                    want["flood"] == true,
                    "{name}: alerts that repeat are flood-controlled"
                );
                // Besides the event id, a key of what the event tells (a hook's state, an
                // instance's status), so a redelivery under a new id is not told twice.
                let keys = planned.dedupe_keys.len();
                match kind {
                    "daemon_action" | "other" => assert_eq!(keys, 1, "{name}"),
                    _ => assert_eq!(keys, 2, "{name}: {:?}", planned.dedupe_keys),
                }
            }
            ("run_task" | "target_failure" | "retirement" | "check", _) => {
                let s = &planned.summary;
                assert_eq!(s.kind, kind, "{name}: kind");
                assert_eq!(s.verdict, want["verdict"], "{name}: verdict");
                assert_eq!(s.cause, want["cause"], "{name}: cause");
                assert_eq!(s.subject, want["subject"], "{name}: subject");
                assert_eq!(
                    planned.notice.is_some(),
                    want["slack"] == true,
                    "{name}: slack"
                );
                says(&name, &planned, &want);
                match want["launch_failed"].as_f64() {
                    Some(count) => {
                        assert!(planned.datadog.series.is_empty(), "{name}: no series");
                        let counted = &planned.datadog.distributions;
                        assert_eq!(counted.len(), 1, "{name}");
                        assert_eq!(counted[0].metric, "ecs.task.launch_failures", "{name}");
                        assert_eq!(
                            planned.datadog.count_of("ecs.task.launch_failures") as f64,
                            count,
                            "{name}: one value per task not launched"
                        );
                        let launcher =
                            format!("launcher:{}", want["launched_by"].as_str().unwrap());
                        assert!(
                            counted[0].tags.contains(&launcher),
                            "{name}: {:?}",
                            counted[0].tags
                        );
                        assert!(
                            planned.flood_key.is_some(),
                            "{name}: launch failures are flood-controlled"
                        );
                    }
                    None if kind == "retirement" => {
                        assert_eq!(planned.datadog.events.len(), 1, "{name}");
                        assert_eq!(planned.datadog.events[0].alert_type, "warning", "{name}");
                    }
                    None => assert!(planned.datadog.is_empty(), "{name}: {:?}", planned.datadog),
                }
            }
            (kind, _) => panic!(
                "{name}: expected {kind}, decoded {:?}",
                planned.summary.kind
            ),
        }
    }
    assert_eq!(kinds.len(), 14, "samples cover every kind: {kinds:?}");
}

/// The metric carries every tag the expectation's `tags` lists.
fn has_tags(name: &str, tags: &[String], want: &Value) {
    for t in want["tags"].as_array().into_iter().flatten() {
        let t = t.as_str().unwrap();
        assert!(
            tags.iter().any(|have| have == t),
            "{name}: tag {t} in {tags:?}"
        );
    }
}

/// The Slack message says every text the expectation's `says` lists (as escaped mrkdwn).
fn says(name: &str, planned: &ecs_notifier::judge::Outgoing, want: &Value) {
    let text = support::slack(planned)
        .as_ref()
        .map(|m| m.texts().join("\n"))
        .unwrap_or_default();
    for says in want["says"].as_array().into_iter().flatten() {
        let says = ecs_notifier::sinks::slack::mrkdwn::escape(says.as_str().unwrap());
        assert!(text.contains(&says), "{name}: says {says}: {text}");
    }
}

/// Every `<` in a message must open a link this function made itself: the console, or the AWS
/// page of the stop's cause.
fn only_own_links(name: &str, text: &str) {
    for (idx, _) in text.match_indices('<') {
        let rest = &text[idx..];
        let host = rest
            .strip_prefix("<https://")
            .and_then(|r| r.split('/').next());
        assert!(
            host.is_some_and(|h| h.contains(".console.aws")
                || h == "docs.aws.amazon.com"
                || h == "repost.aws"),
            "{name}: unescaped or foreign link in {text}"
        );
    }
}

#[test]
fn messages_are_escaped_and_within_slack_limits() {
    let options = Options {
        notify_on_success: true,
        notify_on_stop_timeout: true,
        ..Options::default()
    };
    let mut messages = 0;
    for (name, input, _) in samples() {
        let event = decode_one(&name, &input);
        let planned = judge(&event, &Enrichment::default(), &options, Utc::now());
        let Some(message) = support::slack(&planned) else {
            continue;
        };
        messages += 1;
        assert_eq!(message.limit_violation(), None, "{name}");
        // And read as Slack reads the body, independently of the renderer's own checks.
        let body = serde_json::to_value(&message).unwrap();
        let problems = support::block_kit::problems(&body, &[]);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        for (i, text) in message.texts().into_iter().enumerate() {
            if i == 1 {
                continue; // the header is plain_text, never parsed as mrkdwn
            }
            only_own_links(&name, text);
            assert!(!text.contains("<!"), "{name}: {text}");
        }
    }
    assert!(messages >= 15, "{messages} messages checked");
}

#[test]
fn failure_alerts_say_what_broke_and_where() {
    for (name, input, want) in samples() {
        if want["result"] != "failure" {
            continue;
        }
        let event = decode_one(&name, &input);
        let Event::Task(_, task) = &event else {
            unreachable!()
        };
        let message = support::slack(&judge(
            &event,
            &Enrichment::default(),
            &Options::default(),
            Utc::now(),
        ))
        .unwrap();
        let all = message.texts().join("\n");
        assert!(all.contains(task.cluster()), "{name}: cluster");
        let (family, revision) = task.family_revision();
        assert!(
            all.contains(&format!("{family}:{}", revision.unwrap())),
            "{name}: family:revision"
        );
        assert!(
            all.contains("console.aws.amazon.com/ecs/v2/clusters/"),
            "{name}: console link"
        );
        assert!(all.contains(task.task_id()), "{name}: task id");
        for (container, code) in
            serde_json::from_value::<Vec<(String, i64)>>(want["failed_containers"].clone()).unwrap()
        {
            assert!(
                all.contains(&format!("`{container}` exited {code}")),
                "{name}: {container} {code}"
            );
        }
        if let Some(reason) = &task.stopped_reason {
            let head: String = ecs_notifier::sinks::slack::mrkdwn::escape(reason)
                .chars()
                .take(40)
                .collect();
            assert!(all.contains(&head), "{name}: stop reason");
        }
        if let Some(trigger) = want["trigger_name"].as_str() {
            assert!(all.contains(trigger), "{name}: trigger name");
        }
    }
}

#[test]
fn success_is_quiet_unless_asked() {
    for (name, input, want) in samples() {
        if want["result"] != "success" {
            continue;
        }
        let event = decode_one(&name, &input);
        assert!(
            judge(
                &event,
                &Enrichment::default(),
                &Options::default(),
                Utc::now()
            )
            .notice
            .is_none(),
            "{name}"
        );
        let loud = judge(
            &event,
            &Enrichment::default(),
            &Options {
                notify_on_success: true,
                ..Options::default()
            },
            Utc::now(),
        );
        assert!(
            support::slack(&loud).unwrap().text.starts_with("Completed"),
            "{name}"
        );
    }
}

#[test]
fn a_refused_launch_and_its_dead_letter_share_a_flood_window() {
    // The schedule's role lost iam:PassRole: CloudTrail records the refused RunTask, and the
    // schedule, its retries spent, sends the run to its dead-letter queue. One problem.
    let samples = samples();
    let key = |file: &str| {
        let (name, input, _) = samples.iter().find(|(n, ..)| n == file).unwrap();
        let event = decode_one(name, input);
        judge(
            &event,
            &Enrichment::default(),
            &Options::default(),
            Utc::now(),
        )
        .flood_key
    };
    let refused = key("cloudtrail-runtask-access-denied.json");
    assert_eq!(
        refused.as_deref(),
        Some("batch/nightly-etl/launch:AccessDeniedException")
    );
    assert_eq!(key("sqs-scheduler-dead-letter.json"), refused);
    // A rule's dead letter that names no task is flood-controlled by rule and error.
    assert_eq!(
        key("sqs-rule-dead-letter.json").as_deref(),
        Some("dlq/invoice-export-hourly/InvalidParameterException")
    );
}

/// `events/README.md` lists every sample, in a table row that names where its shape comes
/// from (a page under one of its sections, or what the row itself says), and nothing else.
#[test]
fn every_sample_names_its_source_in_the_events_readme() {
    let readme = std::fs::read_to_string(support::root().join("events/README.md")).unwrap();
    let samples: BTreeSet<String> = support::samples().into_iter().map(|(n, _)| n).collect();
    let mut listed = BTreeSet::new();
    let mut section_has_page = false;
    for line in readme.lines() {
        if line.starts_with("## ") {
            section_has_page = false;
        }
        if line.starts_with("Page") && line.contains("](https://") {
            section_has_page = true;
        }
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let name = &row[..row.find('`').unwrap()];
        assert!(listed.insert(name.to_string()), "{name} listed twice");
        assert!(
            section_has_page || line.contains("](https://"),
            "{name}: no page named for it"
        );
    }
    assert_eq!(
        listed, samples,
        "events/README.md lists exactly the samples"
    );
}
