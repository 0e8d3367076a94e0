//! The planner of an AWS Health notice that Fargate tasks will be retired: a warning naming the
//! services and standalone tasks, the date, and what to do; a Datadog event.

use chrono::{DateTime, Utc};

use crate::judge::measure::{cut, event_time, tag};
use crate::judge::measure::{Event as DatadogEvent, Submission};
use crate::judge::notice::{Item, Link, Notice, Section, Severity};
use crate::source::arn;
use crate::source::health::{Affected, HealthEvent};
use crate::source::Envelope;

use super::console;
use super::outgoing::Summary;
use super::plan::{Context, Plan};
use super::tags;
use super::words::stamp;

fn tell(
    envelope: &Envelope,
    health: &HealthEvent,
    now: DateTime<Utc>,
) -> (Summary, Option<Notice>, Submission) {
    let affected = health.affected(&envelope.resources);
    let named = Named::of(&affected);
    let region = health
        .event_region
        .clone()
        .unwrap_or_else(|| envelope.region.clone());
    let subject = named.subject();
    let summary = Summary {
        kind: "retirement",
        verdict: "warning".into(),
        cause: "fargate_retirement".into(),
        subject: subject.clone(),
        reason: None,
    };
    let notice = notice(health, &named, &subject, region);
    let datadog = datadog(envelope, health, &named, &notice, now);
    (summary, Some(notice), datadog)
}

/// What a retirement notice names: services, standalone tasks and anything else, and their
/// clusters (sorted, once each).
struct Named<'a> {
    affected: &'a [Affected],
    services: Vec<&'a Affected>,
    tasks: Vec<&'a Affected>,
    clusters: Vec<&'a str>,
}

impl<'a> Named<'a> {
    fn of(affected: &'a [Affected]) -> Self {
        let services = affected
            .iter()
            .filter(|a| matches!(a, Affected::Service { .. }))
            .collect();
        let tasks = affected
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
        Named {
            affected,
            services,
            tasks,
            clusters,
        }
    }

    /// The one service named, else the clusters.
    fn subject(&self) -> String {
        match (self.services.len(), self.tasks.len()) {
            (1, 0) => match self.services[0] {
                Affected::Service { service, .. } => service.clone(),
                _ => String::new(),
            },
            _ => self.clusters.join(", "),
        }
    }

    /// `2 service(s) and 1 standalone task(s)`.
    fn what(&self) -> String {
        let mut what = Vec::new();
        if !self.services.is_empty() {
            what.push(format!("{} service(s)", self.services.len()));
        }
        if !self.tasks.is_empty() {
            what.push(format!("{} standalone task(s)", self.tasks.len()));
        }
        if what.is_empty() {
            "Fargate tasks".to_string()
        } else {
            what.join(" and ")
        }
    }

    /// `cluster(s) a, b`, or the account when no cluster is named.
    fn scope(&self) -> String {
        if self.clusters.is_empty() {
            "this account".to_string()
        } else {
            format!("cluster(s) {}", self.clusters.join(", "))
        }
    }
}

fn notice(health: &HealthEvent, named: &Named, subject: &str, region: String) -> Notice {
    let when = health
        .starts()
        .map(stamp)
        .unwrap_or_else(|| "a date AWS has not given".into());
    let mut context = Vec::new();
    if let Some(arn) = &health.event_arn {
        context.push(arn.clone());
    }
    Notice {
        severity: Severity::Warning,
        title: format!("Fargate task retirement on {when}: {subject}"),
        summary: format!(
            "AWS will stop the Fargate tasks of {} in {} from {when} to patch their hosts.",
            named.what(),
            named.scope()
        ),
        fields: vec![
            ("Region".into(), region.clone()),
            ("Retirement".into(), when.clone()),
        ],
        sections: sections(health, named),
        links: links(named, &region),
        context,
        mentions: Vec::new(),
    }
}

fn sections(health: &HealthEvent, named: &Named) -> Vec<Section> {
    let mut sections = Vec::new();
    if !named.services.is_empty() {
        let items = named
            .services
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
        sections.push(Section::items("Services", items));
    }
    if !named.tasks.is_empty() {
        let items = named
            .tasks
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
        sections.push(Section::items("Standalone tasks", items));
    }
    sections.extend(others(named.affected));
    sections.push(Section::text(
        "What to do",
        "Before the date, redeploy the services (a new deployment moves them to patched hosts at a time you choose) and restart long-running standalone tasks. Jobs that finish before the date need nothing.",
    ));
    if let Some(text) = health.description() {
        sections.push(Section::code("AWS Health", cut(text, 1500)));
    }
    sections
}

/// The first few things named that are neither a service nor a task.
fn others(affected: &[Affected]) -> Option<Section> {
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
    (!others.is_empty()).then(|| Section::items("Also named", others))
}

/// The first few services' pages in the ECS console.
fn links(named: &Named, region: &str) -> Vec<Link> {
    if !console::is_region(region) {
        return Vec::new();
    }
    named
        .services
        .iter()
        .take(5)
        .filter_map(|a| match a {
            Affected::Service { cluster, service } => Some(Link {
                label: format!("{service} in the ECS console"),
                url: console::service_url(region, cluster, service, "deployments"),
            }),
            _ => None,
        })
        .collect()
}

/// A Datadog event, tagged with the clusters.
fn datadog(
    envelope: &Envelope,
    health: &HealthEvent,
    named: &Named,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Submission {
    let mut tags: Vec<String> = named
        .clusters
        .iter()
        .map(|c| tag(tags::CLUSTER, c))
        .collect();
    tags.push(tag("ecs_event", "AWS_ECS_TASK_PATCHING_RETIREMENT"));
    let dd_event = DatadogEvent::of(
        notice,
        health.event_arn.as_deref().map(arn::last_segment),
        event_time(envelope.time, now),
        tags,
    );
    Submission {
        events: vec![dd_event],
        ..Submission::default()
    }
}

/// Plans a Fargate task retirement notice.
pub fn plan(envelope: &Envelope, health: &HealthEvent, ctx: &Context) -> Plan {
    let (summary, notice, datadog) = tell(envelope, health, ctx.now);
    Plan::new(summary, notice, datadog)
}
