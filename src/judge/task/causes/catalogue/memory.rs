//! Out-of-memory kills that ECS names in a container reason.

use super::*;

pub static ENTRIES: &[Entry] = &[
    Entry {
        id: "oom_at_start",
        family: Cause::OutOfMemory,
        on: Match::text(&["container init was oom-killed"]),
        label: "at container start",
        meaning: "The memory limit is so small that the runtime's init process was killed by the OOM killer before the application even started (e.g. 'memory': 4 meaning 4 MiB, not 4 GiB).",
        fix: "Raise the container memory hard limit (and task memory); values are in MiB. Check memory/memoryReservation in the task definition for a unit mistake.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cannot-start-container.html#cannot-start-container-1",
        object: Some(Object::MemoryLimit),
        transient: false,
        example: "CannotStartContainerError: Error response from daemon: OCI runtime create failed: container_linux.go:380: starting container process caused: container init was OOM-killed (memory limit too low?): unknown",
        source: "https://github.com/aws/amazon-ecs-agent/issues/3021",
    },
    Entry {
        id: "oom_killed",
        family: Cause::OutOfMemory,
        on: Match::text(&["outofmemoryerror"]),
        label: "",
        meaning: "Processes in the container used more memory than its limit (container hard limit, or task memory on Fargate) and the kernel OOM killer ended them; exit code is usually 137. The agent reports it whenever Docker flags OOMKilled, so it can come with exit 0 or 1 if a child process was the one killed.",
        fix: "Measure real memory use (Container Insights MemoryUtilized) and raise the container 'memory' hard limit / task memory, leave room for sidecars; fix leaks; keep runtime heap limits (JVM/Node) below the container limit.",
        page: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/out-of-memory.html#container-memory-usage",
        object: Some(Object::MemoryLimit),
        transient: false,
        example: "OutOfMemoryError: Container killed due to memory usage",
        source: "https://repost.aws/knowledge-center/ecs-resolve-outofmemory-errors",
    },
];
