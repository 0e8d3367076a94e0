//! Stops that ECS or a person asked for, with every container ending as asked, and the
//! catalogue's last entry, which matches anything.

use super::*;

pub static ENTRIES: &[Entry] = &[
    Entry {
        id: "scaling_activity",
        family: Cause::Deployment,
        on: Match::text(&["scaling activity initiated by"]),
        label: "",
        meaning: "The service stopped the task to replace it in a deployment or to scale in.",
        fix: "Nothing to do.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
        object: None,
        transient: false,
        example: "Scaling activity initiated by (deployment ecs-svc/8262972806176612824)",
        source: "https://github.com/awsdocs/amazon-ecs-developer-guide/blob/master/doc_source/stopped-task-errors.md",
    },
    Entry {
        id: "user_stop",
        family: Cause::UserStop,
        on: Match::code("UserInitiated"),
        label: "",
        meaning: "Someone stopped the task (StopTask, the console, or a tool on their behalf).",
        fix: "Nothing to do; CloudTrail's StopTask event says who.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
        object: None,
        transient: false,
        example: "Task stopped by user",
        source: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
    },
    Entry {
        id: "scheduler_stop",
        family: Cause::Scheduler,
        on: Match::code("ServiceSchedulerInitiated"),
        label: "",
        meaning: "The service scheduler stopped the task.",
        fix: "Nothing to do unless the service's events say otherwise.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
        object: None,
        transient: false,
        example: "Service my-service: task stopped by the service scheduler",
        source: "assumed: the stop code ServiceSchedulerInitiated is documented; a reason worded otherwise than those above is composed",
    },
    UNRECOGNISED,
];

/// The catch-all: a stop nothing above explains.
pub const UNRECOGNISED: Entry = Entry {
    id: "unrecognised",
    family: Cause::Unknown,
    on: Match::text(&[]),
    label: "",
    meaning: "Nothing in the stop reason, the containers' reasons or their exit codes is one ecs-notifier recognises.",
    fix: "Check the stop reason and the containers' logs.",
    page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
    object: None,
    transient: false,
    example: "Essential container in task exited",
    source: "assumed: a stop whose containers carry no exit code",
};
