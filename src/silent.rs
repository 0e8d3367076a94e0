//! Plans for failures that produce no task event: RunTask refused, a schedule or rule target
//! that could not launch, Fargate task retirement ahead, and scheduled runs that never came.

use chrono::{DateTime, Utc};

use crate::cloudtrail::{explain, ApiCall, Caller};
use crate::console;
use crate::datadog::payload::{cut, event_time, metric_time, tag};
use crate::datadog::{Distribution, Event as DatadogEvent, Series, Submission};
use crate::dlq::TargetFailure;
use crate::event::Envelope;
use crate::expect::format_duration;
use crate::health::{Affected, HealthEvent};
use crate::jobs::{Job, Standing};
use crate::notice::{Body, Item, Link, Notice, Section, Severity};
use crate::plan::{Plan, Summary};
use crate::routing::Route;
use crate::state::HeldBack;

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A RunTask call: an alert when it failed, nothing otherwise.
pub fn plan_run_task(
    envelope: &Envelope,
    call: &ApiCall,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let family = call.family().to_string();
    let mut summary = Summary {
        kind: "run_task",
        verdict: "launched".into(),
        cause: String::new(),
        subject: family.clone(),
    };
    if !call.failed() {
        return (summary, None, Submission::default());
    }
    let cause = call.cause();
    summary.verdict = "failure".into();
    summary.cause = cause.clone();
    let caller = call.user_identity.caller();
    let cluster = call.cluster();
    let td = call.task_definition();
    let failures = &call.response_elements.failures;
    let requested = call.request_parameters.count.unwrap_or(1).max(1);
    let refused = if call.error_code.is_some() {
        requested
    } else {
        failures.len() as i64
    };
    let reason = call
        .error_code
        .as_deref()
        .or(failures.first().and_then(|f| f.reason.as_deref()))
        .unwrap_or("unknown");
    let started = call.response_elements.tasks.len();
    let how_many = if call.error_code.is_some() || started == 0 {
        "could not be launched".to_string()
    } else {
        format!("launched only {started} of {requested} tasks")
    };
    let mut fields = vec![
        ("Cluster".to_string(), cluster.to_string()),
        ("Task definition".to_string(), td.to_string()),
        ("Launched by".to_string(), caller.describe()),
    ];
    if let Some(lt) = &call.request_parameters.launch_type {
        fields.push(("Launch".into(), lt.clone()));
    }
    if let Some(by) = &call.request_parameters.started_by {
        fields.push(("startedBy".into(), by.clone()));
    }
    let mut sections = Vec::new();
    if let Some(code) = &call.error_code {
        let message = call.error_message.as_deref().unwrap_or("");
        sections.push(Section {
            label: "Error".into(),
            body: Body::Code(
                format!("{code}: {message}")
                    .trim_end_matches(": ")
                    .to_string(),
            ),
        });
    }
    if !failures.is_empty() {
        let items = failures
            .iter()
            .take(10)
            .map(|f| Item {
                lead: f.reason.clone().unwrap_or_else(|| "?".into()),
                text: match (&f.detail, &f.arn) {
                    (Some(d), _) if !d.is_empty() => d.clone(),
                    (_, Some(a)) => a.rsplit('/').next().unwrap_or(a).to_string(),
                    _ => String::new(),
                },
            })
            .collect();
        sections.push(Section {
            label: format!("RunTask failures ({})", failures.len()),
            body: Body::Items(items),
        });
    }
    sections.push(Section {
        label: "What it means".into(),
        body: Body::Text(if reason.len() <= 40 {
            format!("{reason}: {}", explain(reason))
        } else {
            explain(reason).to_string()
        }),
    });
    let mut context = Vec::new();
    if let Some(at) = call.event_time.or(envelope.time) {
        context.push(format!("RunTask · {}", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    if let Some(id) = &call.event_id {
        context.push(format!("CloudTrail event {id}"));
    }
    let notice = Notice {
        severity: Severity::Failure,
        title: format!("Task not launched: {family}"),
        summary: format!(
            "Task {td} in cluster {cluster} {how_many}: ECS refused the RunTask call made by {}.",
            caller.describe()
        ),
        fields,
        sections,
        links: Vec::new(),
        context,
        mentions: Vec::new(),
    };
    let tags = vec![
        tag("cluster", cluster),
        tag("task_family", &family),
        tag("launcher", caller.kind()),
        tag("cause", &cause),
    ];
    let ts = metric_time(call.event_time.or(envelope.time), now);
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.task.launch_failures",
            ts,
            refused.max(0) as usize,
            tags,
        )],
        ..Submission::default()
    };
    // AWS Batch places its jobs itself, retrying while capacity is short: a refused placement is
    // its normal waiting (counted, not posted). An API error still alerts.
    let batch = cluster.starts_with("AWSBatch-")
        || matches!(&caller, Caller::Service { name } if name == "batch.amazonaws.com");
    if batch && call.error_code.is_none() {
        summary.verdict = "expected".into();
        return (summary, None, datadog);
    }
    (summary, Some(notice), datadog)
}

/// A schedule or rule target's dead-letter message: an alert, always.
pub fn plan_target_failure(
    envelope: &Envelope,
    failure: &TargetFailure,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let name = failure.launcher.name();
    let code = failure.error_code.as_deref().unwrap_or("unknown");
    let subject = failure.family().map(str::to_string).unwrap_or(name.clone());
    let summary = Summary {
        kind: "target_failure",
        verdict: "failure".into(),
        cause: code.to_string(),
        subject: subject.clone(),
    };
    let what = match failure.launcher {
        crate::dlq::Launcher::Schedule { .. } => format!("EventBridge Scheduler schedule {name}"),
        crate::dlq::Launcher::Rule { .. } => format!("EventBridge rule {name}"),
    };
    let job = match (failure.family(), failure.cluster_name()) {
        (Some(f), Some(c)) => format!(" task {f} in cluster {c}"),
        (Some(f), None) => format!(" task {f}"),
        _ => " target".to_string(),
    };
    let mut fields = vec![(
        match failure.launcher {
            crate::dlq::Launcher::Schedule { .. } => "Schedule",
            crate::dlq::Launcher::Rule { .. } => "Rule",
        }
        .to_string(),
        name.clone(),
    )];
    if let Some(td) = &failure.task_definition {
        fields.push((
            "Task definition".into(),
            crate::arn::task_definition(td).to_string(),
        ));
    }
    if let Some(c) = failure.cluster_name() {
        fields.push(("Cluster".into(), c.to_string()));
    }
    if let Some(t) = &failure.target_arn {
        fields.push(("Target".into(), t.clone()));
    }
    if let Some(n) = failure.retry_attempts {
        let after = match &failure.exhausted {
            Some(why) => format!("{n} (gave up: {why})"),
            None => n.to_string(),
        };
        fields.push(("Retries".into(), after));
    }
    let mut sections = vec![Section {
        label: "Error".into(),
        body: Body::Code(match &failure.error_message {
            Some(m) => format!("{code}: {m}"),
            None => code.to_string(),
        }),
    }];
    sections.push(Section {
        label: "What it means".into(),
        body: Body::Text(explain(code).to_string()),
    });
    let mut context = vec![failure.launcher_arn.clone()];
    if let Some(at) = failure.scheduled_time {
        context.insert(0, format!("Scheduled for {}", stamp(at)));
    }
    let notice = Notice {
        severity: Severity::Failure,
        title: format!("Scheduled run not launched: {subject}"),
        summary: format!(
            "The {what} could not launch its{job}: {code}. The run did not happen; its dead-letter queue received the request."
        ),
        fields,
        sections,
        links: Vec::new(),
        context,
        mentions: Vec::new(),
    };
    let mut tags = vec![
        tag("launcher", failure.launcher.kind()),
        tag("schedule", &name),
        tag("cause", code),
    ];
    if let Some(f) = failure.family() {
        tags.push(tag("task_family", f));
    }
    if let Some(c) = failure.cluster_name() {
        tags.push(tag("cluster", c));
    }
    let ts = metric_time(envelope.time, now);
    let datadog = Submission {
        distributions: vec![Distribution::count("ecs.task.launch_failures", ts, 1, tags)],
        ..Submission::default()
    };
    (summary, Some(notice), datadog)
}

/// A Fargate task retirement notice: a warning naming what will be stopped, and when.
pub fn plan_retirement(
    envelope: &Envelope,
    health: &HealthEvent,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let affected = health.affected(&envelope.resources);
    let services: Vec<&Affected> = affected
        .iter()
        .filter(|a| matches!(a, Affected::Service { .. }))
        .collect();
    let tasks: Vec<&Affected> = affected
        .iter()
        .filter(|a| matches!(a, Affected::Task { .. }))
        .collect();
    let mut clusters: Vec<&str> = affected
        .iter()
        .map(Affected::cluster)
        .filter(|c| !c.is_empty())
        .collect();
    clusters.sort();
    clusters.dedup();
    let starts = health.starts();
    let when = starts
        .map(stamp)
        .unwrap_or_else(|| "a date AWS has not given".into());
    let region = health
        .event_region
        .clone()
        .unwrap_or_else(|| envelope.region.clone());
    let subject = match (services.len(), tasks.len()) {
        (1, 0) => match services[0] {
            Affected::Service { service, .. } => service.clone(),
            _ => String::new(),
        },
        _ => clusters.join(", "),
    };
    let summary = Summary {
        kind: "retirement",
        verdict: "warning".into(),
        cause: "fargate_retirement".into(),
        subject: subject.clone(),
    };
    let mut what = Vec::new();
    if !services.is_empty() {
        what.push(format!("{} service(s)", services.len()));
    }
    if !tasks.is_empty() {
        what.push(format!("{} standalone task(s)", tasks.len()));
    }
    let what = if what.is_empty() {
        "Fargate tasks".to_string()
    } else {
        what.join(" and ")
    };
    let mut sections = Vec::new();
    if !services.is_empty() {
        let items = services
            .iter()
            .take(25)
            .filter_map(|a| match a {
                Affected::Service { cluster, service } => Some(Item {
                    lead: service.clone(),
                    text: format!(
                        "cluster {cluster}: the service replaces its tasks when they are stopped"
                    ),
                }),
                _ => None,
            })
            .collect();
        sections.push(Section {
            label: "Services".into(),
            body: Body::Items(items),
        });
    }
    if !tasks.is_empty() {
        let items = tasks
            .iter()
            .take(25)
            .filter_map(|a| match a {
                Affected::Task { cluster, task_id } => Some(Item {
                    lead: task_id.clone(),
                    text: format!("cluster {cluster}: a standalone task; nothing restarts it"),
                }),
                _ => None,
            })
            .collect();
        sections.push(Section {
            label: "Standalone tasks".into(),
            body: Body::Items(items),
        });
    }
    let others: Vec<Item> = affected
        .iter()
        .filter_map(|a| match a {
            Affected::Other(v) => Some(Item {
                lead: v.clone(),
                text: String::new(),
            }),
            _ => None,
        })
        .take(10)
        .collect();
    if !others.is_empty() {
        sections.push(Section {
            label: "Also named".into(),
            body: Body::Items(others),
        });
    }
    sections.push(Section {
        label: "What to do".into(),
        body: Body::Text("Before the date, redeploy the services (a new deployment moves them to patched hosts at a time you choose) and restart long-running standalone tasks. Jobs that finish before the date need nothing.".into()),
    });
    if let Some(text) = health.description() {
        sections.push(Section {
            label: "AWS Health".into(),
            body: Body::Code(cut(text, 1500)),
        });
    }
    let links: Vec<Link> = if console::is_region(&region) {
        services
            .iter()
            .take(5)
            .filter_map(|a| match a {
                Affected::Service { cluster, service } => Some(Link {
                    label: format!("{service} in the ECS console"),
                    url: console::service_url(&region, cluster, service, "deployments"),
                }),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut context = Vec::new();
    if let Some(arn) = &health.event_arn {
        context.push(arn.clone());
    }
    let notice = Notice {
        severity: Severity::Warning,
        title: format!("Fargate task retirement on {when}: {subject}"),
        summary: format!(
            "AWS will stop the Fargate tasks of {what} in {} from {when} to patch their hosts.",
            if clusters.is_empty() {
                "this account".to_string()
            } else {
                format!("cluster(s) {}", clusters.join(", "))
            }
        ),
        fields: vec![
            ("Region".into(), region.clone()),
            ("Retirement".into(), when.clone()),
        ],
        sections,
        links,
        context,
        mentions: Vec::new(),
    };
    let mut tags: Vec<String> = clusters.iter().map(|c| tag("cluster", c)).collect();
    tags.push(tag("ecs_event", "AWS_ECS_TASK_PATCHING_RETIREMENT"));
    let dd_event = DatadogEvent::of(
        &notice,
        health.event_arn.as_deref().map(crate::arn::last_segment),
        event_time(envelope.time, now),
        tags,
    );
    let datadog = Submission {
        events: vec![dd_event],
        ..Submission::default()
    };
    (summary, Some(notice), datadog)
}

fn job_tags(job: &Job) -> Vec<String> {
    let mut tags = vec![
        tag("cluster", &job.cluster),
        tag("task_family", &job.family),
    ];
    if let Some(s) = &job.schedule {
        tags.push(tag("schedule", s));
    }
    tags
}

/// The gauges of every tracked job at a check: `ecs.job.last_success_age` (seconds) and
/// `ecs.job.overdue` (1 or 0).
pub fn plan_ages(jobs: &[(Job, Standing)], now: DateTime<Utc>) -> Submission {
    let ts = now.timestamp();
    let series = jobs
        .iter()
        .flat_map(|(job, standing)| {
            let tags: crate::datadog::payload::Tags = job_tags(job).into();
            [
                Series::gauge(
                    "ecs.job.last_success_age",
                    ts,
                    standing.age.num_seconds() as f64,
                    tags.clone(),
                ),
                Series::gauge(
                    "ecs.job.overdue",
                    ts,
                    if standing.overdue { 1.0 } else { 0.0 },
                    tags,
                ),
            ]
        })
        .collect();
    Submission {
        series,
        ..Submission::default()
    }
}

/// What a flood window held back, told once the window is over and nothing came since (the
/// next alert of the key would have told it otherwise).
pub fn plan_held_back(held: &HeldBack, window: chrono::Duration, now: DateTime<Utc>) -> Plan {
    let until = held.since + window;
    let notice = Notice {
        severity: Severity::Warning,
        title: format!("Held back: {} more like {}", held.count, held.key),
        summary: format!(
            "{} more alerts like the one posted at {} ({}) came before {} and were held back to keep the channel readable. None has come since.",
            held.count,
            held.since.format("%H:%M UTC"),
            held.key,
            until.format("%H:%M UTC")
        ),
        fields: Vec::new(),
        sections: Vec::new(),
        links: Vec::new(),
        context: vec![format!("Flood control · checked {}", stamp(now))],
        mentions: Vec::new(),
    };
    let summary = Summary {
        kind: "held_back",
        verdict: "summary".into(),
        cause: held.count.to_string(),
        subject: held.key.clone(),
    };
    let dedupe = vec![format!("held:{}@{}", held.key, held.since.timestamp())];
    let mut plan = Plan::standalone(
        summary,
        Some(notice),
        Submission::default(),
        dedupe,
        Some(now),
    );
    plan.slack_route = held.route.clone();
    plan.slack_channel = held.channel.clone();
    plan
}

/// A missed-run check of `jobs` as of `now`: an alert per overdue job, and the gauges of all.
pub fn plan_check(
    jobs: Vec<Job>,
    now: DateTime<Utc>,
) -> (Vec<Plan>, Vec<(Job, Standing)>, Submission) {
    let standings: Vec<(Job, Standing)> = jobs
        .into_iter()
        .map(|job| {
            let standing = crate::jobs::standing(&job, now);
            (job, standing)
        })
        .collect();
    let missed = standings
        .iter()
        .filter(|(_, standing)| standing.overdue)
        .map(|(job, standing)| plan_missed(job, standing, now))
        .collect();
    let ages = plan_ages(&standings, now);
    (missed, standings, ages)
}

/// The alert for a job whose run is overdue. Its dedupe key names the missed due time, so each
/// miss alerts once however many checks see it.
pub fn plan_missed(job: &Job, standing: &Standing, now: DateTime<Utc>) -> Plan {
    let due = standing.due.unwrap_or(now);
    let age = format_duration(chrono::Duration::minutes(standing.age.num_minutes()));
    let route = Route::from_tags(job.tag_pairs());
    let since = match job.last_success {
        Some(at) => format!(
            "its last successful run finished {} ({} ago)",
            stamp(at),
            age
        ),
        None => format!(
            "it has not succeeded since ecs-notifier first saw it {} ({} ago)",
            stamp(job.first_seen),
            age
        ),
    };
    let mut fields = vec![
        ("Cluster".to_string(), job.cluster.clone()),
        ("Task definition family".to_string(), job.family.clone()),
        ("Expected".to_string(), job.describe_expectation()),
        ("Grace".to_string(), format_duration(job.grace)),
    ];
    if let (Some(at), Some(result)) = (job.last_run, &job.last_result) {
        fields.push((
            "Last run".into(),
            format!("{result}, stopped {}", stamp(at)),
        ));
    }
    let hint = "Check that the schedule or rule is enabled and its role may still run the task (ecs:RunTask, iam:PassRole); look for \"Task not launched\" and \"Scheduled run not launched\" alerts, and for tasks stuck in PENDING.";
    let notice = Notice {
        severity: Severity::Failure,
        title: format!("Missed run: {}", job.family),
        summary: format!(
            "Job {} in cluster {} should have finished a run by {}: {since}.",
            job.family,
            job.cluster,
            stamp(due)
        ),
        fields,
        sections: vec![Section {
            label: "Where to look".into(),
            body: Body::Text(hint.into()),
        }],
        links: Vec::new(),
        context: vec![format!("Checked {}", stamp(now))],
        mentions: route
            .mentions
            .iter()
            .map(|m| m.token().to_string())
            .collect(),
    };
    let mut tags = job_tags(job);
    tags.push(tag("cause", "missed_run"));
    let datadog = Submission {
        distributions: vec![Distribution::count(
            "ecs.job.missed_runs",
            now.timestamp(),
            1,
            tags,
        )],
        ..Submission::default()
    };
    let key = Job::key(&job.account, &job.region, &job.cluster, &job.family);
    let summary = Summary {
        kind: "missed_run",
        verdict: "failure".into(),
        cause: "missed_run".into(),
        subject: job.family.clone(),
    };
    let dedupe = vec![format!("missed:{key}@{}", due.timestamp())];
    let mut plan = Plan::standalone(summary, Some(notice), datadog, dedupe, Some(now));
    plan.slack_route = route.slack;
    plan.slack_channel = route.slack_channel;
    plan.route_problems = route.problems;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn refused(
        cluster: &str,
        invoked_by: &str,
        error: Option<&str>,
    ) -> (Summary, Option<Notice>, Submission) {
        let mut detail = json!({
            "eventName": "RunTask",
            "userIdentity": {"type": "AssumedRole", "invokedBy": invoked_by,
                             "sessionContext": {"sessionIssuer": {"userName": "role"}}},
            "requestParameters": {"cluster": cluster, "taskDefinition": "job:1"},
            "responseElements": {"tasks": [], "failures": [{"reason": "RESOURCE:CPU"}]}
        });
        if let Some(code) = error {
            detail["errorCode"] = json!(code);
        }
        let call = ApiCall::deserialize(&detail).unwrap();
        plan_run_task(&Envelope::default(), &call, Utc::now())
    }

    #[test]
    fn aws_batch_waiting_for_capacity_is_counted_not_posted() {
        let (s, notice, dd) = refused("AWSBatch-ce-1a2b", "batch.amazonaws.com", None);
        assert_eq!(s.verdict, "expected");
        assert!(notice.is_none());
        assert_eq!(dd.distributions[0].metric, "ecs.task.launch_failures");
        assert!(dd.distributions[0]
            .tags
            .contains(&"launcher:aws_service".to_string()));
        // The same refusal for anyone else alerts; so does an API error for Batch.
        let (s, notice, _) = refused("batch", "events.amazonaws.com", None);
        assert_eq!(s.verdict, "failure");
        assert!(notice.is_some());
        let (s, notice, _) = refused(
            "AWSBatch-ce-1a2b",
            "batch.amazonaws.com",
            Some("AccessDeniedException"),
        );
        assert_eq!(s.verdict, "failure");
        assert!(notice.is_some());
    }
}
