//! The planner of the periodic missed-run check: an alert per job whose run is overdue (once per
//! missed due time), and the age gauges of every tracked job.

use chrono::{DateTime, Utc};

use crate::judge::measure::{tag, Tags};
use crate::judge::measure::{Distribution, Series, Submission};
use crate::judge::notice::{Body, Notice, Section, Severity};

use super::job::{standing, Job, Standing};
use crate::config::duration;
use crate::judge::outgoing::{Outgoing, Summary};
use crate::judge::routing::Route;
use crate::judge::tags;
use crate::judge::words::stamp;

fn job_tags(job: &Job) -> Vec<String> {
    let mut tags = vec![
        tag(tags::CLUSTER, &job.cluster),
        tag(tags::TASK_FAMILY, &job.family),
    ];
    // Where the job runs, as every metric of an event says it (`place::Place::tags`).
    if !job.account.is_empty() {
        tags.push(tag(tags::AWS_ACCOUNT, &job.account));
    }
    if !job.region.is_empty() {
        tags.push(tag(tags::REGION, &job.region));
    }
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
            let tags: Tags = job_tags(job).into();
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
pub fn plan(
    jobs: Vec<Job>,
    now: DateTime<Utc>,
) -> (Vec<Outgoing>, Vec<(Job, Standing)>, Submission) {
    let standings: Vec<(Job, Standing)> = jobs
        .into_iter()
        .map(|job| {
            let standing = standing(&job, now);
            (job, standing)
        })
        .collect();
    let missed = standings
        .iter()
        .filter(|(_, standing)| standing.overdue)
        .map(|(job, standing)| missed(job, standing, now))
        .collect();
    let ages = plan_ages(&standings, now);
    (missed, standings, ages)
}

/// The alert for a job whose run is overdue. Its dedupe key names the missed due time, so each
/// miss alerts once however many checks see it.
pub fn missed(job: &Job, standing: &Standing, now: DateTime<Utc>) -> Outgoing {
    let due = standing.due.unwrap_or(now);
    let age = duration::format(chrono::Duration::minutes(standing.age.num_minutes()));
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
        ("Grace".to_string(), duration::format(job.grace)),
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
        mentions: route.mentions.clone(),
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
        reason: None,
    };
    let dedupe = vec![format!("missed:{key}@{}", due.timestamp())];
    let mut plan = Outgoing::standalone(summary, Some(notice), datadog, dedupe, Some(now));
    plan.placement.route = route.slack;
    plan.placement.channel = route.slack_channel;
    plan.route_problems = route.problems;
    plan
}
