//! Tracked jobs in the state table: each stopped run of a job tagged `ecs-notifier:expect-every`
//! recorded (its last success, last result), and every job read back for the missed-run check.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::table::{is_condition_failure, n, number, s, text, time, Item, StateError, Table};
use crate::judge::jobs::Job;

/// One run of a tracked job, to record.
#[derive(Debug, Clone)]
pub struct JobRun {
    /// The job as this run describes it (its `last_*` fields are ignored).
    pub job: Job,
    pub at: DateTime<Utc>,
    pub success: bool,
    /// `success`, or the failure's cause.
    pub result: String,
    /// How long the run took.
    pub ran: Duration,
    /// When the table may forget the job if it never runs again.
    pub keep_until: DateTime<Utc>,
}

impl Table {
    /// Records a run of a job marked `ecs-notifier:expect-every`: its expectation and tags, and,
    /// when the run is newer than what the table has, its time and result.
    pub async fn record_job(&self, run: &JobRun) -> Result<(), StateError> {
        let job = &run.job;
        let key = Job::key(&job.account, &job.region, &job.cluster, &job.family);
        let at = run.at.timestamp();
        let tags: HashMap<String, AttributeValue> =
            job.tags.iter().map(|(k, v)| (k.clone(), s(v))).collect();
        let base = |update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
            update
                .table_name(&self.name)
                .key("pk", s(&key))
                .expression_attribute_values(":job", s("job"))
                .expression_attribute_values(":account", s(&job.account))
                .expression_attribute_values(":region", s(&job.region))
                .expression_attribute_values(":cluster", s(&job.cluster))
                .expression_attribute_values(":family", s(&job.family))
                .expression_attribute_values(":expect", s(&job.expect))
                .expression_attribute_values(":tz", s(job.timezone.as_deref().unwrap_or("")))
                .expression_attribute_values(":schedule", s(job.schedule.as_deref().unwrap_or("")))
                .expression_attribute_values(":grace", n(job.grace.num_seconds()))
                .expression_attribute_values(":tags", AttributeValue::M(tags.clone()))
                .expression_attribute_values(":at", n(at))
                .expression_attribute_values(":expires", n(run.keep_until.timestamp()))
        };
        const SETTINGS: &str = "kind = :job, account = :account, #r = :region, #c = :cluster, \
            #f = :family, expect = :expect, tz = :tz, schedule = :schedule, grace = :grace, \
            tags = :tags, first_seen = if_not_exists(first_seen, :at), expires_at = :expires";
        let mut newest = base(self.client().await?.update_item())
            .expression_attribute_names("#r", "region")
            .expression_attribute_names("#c", "cluster")
            .expression_attribute_names("#f", "family")
            .expression_attribute_values(":result", s(&run.result))
            .condition_expression("attribute_not_exists(last_run) OR last_run <= :at");
        newest = if run.success {
            newest
                .update_expression(format!(
                    "SET {SETTINGS}, last_run = :at, last_result = :result, \
                     last_success = :at, last_success_ran = :ran"
                ))
                .expression_attribute_values(":ran", n(run.ran.num_seconds()))
        } else {
            newest.update_expression(format!(
                "SET {SETTINGS}, last_run = :at, last_result = :result"
            ))
        };
        match newest.send().await {
            Ok(_) => return Ok(()),
            Err(err) if is_condition_failure(&err) => {}
            Err(err) => return Err(self.failed("UpdateItem", &err)),
        }
        // An older run delivered late: it can still be the latest success.
        if !run.success {
            return Ok(());
        }
        let late = base(self.client().await?.update_item())
            .expression_attribute_names("#r", "region")
            .expression_attribute_names("#c", "cluster")
            .expression_attribute_names("#f", "family")
            .update_expression(format!(
                "SET {SETTINGS}, last_success = :at, last_success_ran = :ran"
            ))
            .expression_attribute_values(":ran", n(run.ran.num_seconds()))
            .condition_expression("attribute_not_exists(last_success) OR last_success < :at")
            .send()
            .await;
        match late {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure(&err) => Ok(()),
            Err(err) => Err(self.failed("UpdateItem", &err)),
        }
    }

    /// Every job the table tracks.
    pub async fn jobs(&self) -> Result<Vec<Job>, StateError> {
        Ok(self
            .of_kind("job")
            .await?
            .iter()
            .filter_map(job_of)
            .collect())
    }
}

fn job_of(item: &Item) -> Option<Job> {
    Some(Job {
        account: text(item, "account").unwrap_or_default(),
        region: text(item, "region").unwrap_or_default(),
        cluster: text(item, "cluster").unwrap_or_default(),
        family: text(item, "family")?,
        expect: text(item, "expect")?,
        timezone: text(item, "tz"),
        schedule: text(item, "schedule"),
        grace: Duration::seconds(number(item, "grace").unwrap_or(0).max(0)),
        first_seen: time(item, "first_seen")?,
        last_success: time(item, "last_success"),
        last_success_ran: Duration::seconds(number(item, "last_success_ran").unwrap_or(0).max(0)),
        last_run: time(item, "last_run"),
        last_result: text(item, "last_result"),
        tags: item
            .get("tags")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}
