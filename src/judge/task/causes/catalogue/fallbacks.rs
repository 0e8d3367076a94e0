//! Each family's catch-all, for a message whose prefix names the family and whose rest no
//! entry above recognises (Fargate cuts long messages short): a fix that holds for the whole
//! family and names nothing the message does not. A container that could not start is told by
//! its outer prefix (`CannotStartContainerError: ResourceInitializationError: …` is Fargate's
//! wording of a start failure).

use super::*;

pub static ENTRIES: &[Entry] = &[
    Entry {
        id: "pull_other",
        family: Cause::ImagePull,
        on: Match::text(&[]).any(&["cannotpullcontainererror", "cannotpullecrcontainererror"]),
        label: "",
        meaning: "ECS could not pull the container's image; the message says why.",
        fix: "Work through the message: that {} has the image and tag, that the execution role may pull it, and that the task's subnets reach the registry (NAT, public IP or ECR VPC endpoints). Fargate cuts long messages: describe the task for the full reason.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html",
        object: Some(Object::Registry),
        transient: false,
        example: "CannotPullContainerError: ref pull has been retried 1 time(s): failed to copy: httpReadSeeker: failed open: content at https://registry-1.docker.io/v2/library/postgres/manifests/sha256:8b2b71c5a",
        source: "assumed: a Fargate message cut short, as the CannotPullContainer page warns (\"The 1.4 Fargate platform version truncates long error messages\")",
    },
    Entry {
        id: "start_other",
        family: Cause::StartFailure,
        on: Match::text(&[]).any(&["cannotstartcontainererror", "cannotcreatecontainererror"]),
        label: "",
        meaning: "The container runtime could not create or start the container; the message's innermost part says why.",
        fix: "Read the innermost cause of the message (after the last 'caused:' or 'unable to start container process:'); check the task definition's entryPoint, command, user, mount points and memory against the image.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cannot-start-container.html",
        object: None,
        transient: false,
        example: "CannotStartContainerError: ResourceInitializationError: failed to create new container runtime task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: unable to freeze: unknown",
        source: "assumed: runc's container-init failure inside Fargate's prefixes, as the CannotStartContainerError page describes them",
    },
    Entry {
        id: "init_other",
        family: Cause::ResourceInitialization,
        on: Match::text(&["resourceinitializationerror"]),
        label: "",
        meaning: "Before its containers could start, the task could not set up something it needs; the message names what (a secret, a parameter, registry auth, a log group, a volume, an environment file).",
        fix: "Read what the message names, then check that the execution role may read it and that the task's subnets reach the service that holds it (NAT, public IP or VPC endpoints).",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/resource-initialization-error.html",
        object: None,
        transient: false,
        example: "ResourceInitializationError: failed to configure ENI: failed to setup regular eni: netplugin failed with no error message",
        source: "assumed: seen in public code that retries this message, with no page to cite",
    },
    Entry {
        id: "failed_to_start",
        family: Cause::StartFailure,
        on: Match::code("TaskFailedToStart"),
        label: "",
        meaning: "ECS could not start the task; its stop reason says why.",
        fix: "Read the stop reason and each container's reason; the page lists what each one means.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html",
        object: None,
        transient: false,
        example: "InternalError: failed to start the task",
        source: "assumed: the stopped task error codes page lists InternalError without an example that survives its truncation",
    },
];
