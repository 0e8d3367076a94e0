//! Why ECS could not place a task, in plain words: the `reason` of a placement failure
//! (`RESOURCE:MEMORY`, `AGENT`, `RESOURCE:FARGATE` on Fargate Spot, capacity provider reasons).

/// A placement failure reason explained: a few words for a sentence, and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// Completes "ECS cannot place tasks: …".
    pub short: &'static str,
    /// What it means and what to do.
    pub long: &'static str,
}

const fn said(short: &'static str, long: &'static str) -> Explanation {
    Explanation { short, long }
}

/// Explains a placement failure reason (as ECS writes it in Service Action events, RunTask
/// failures and stopped reasons; a `TaskFailedToStart: ` prefix is ignored). `spot`: the task
/// was to run on the `FARGATE_SPOT` capacity provider. `None` for a reason not documented.
pub fn explain(reason: &str, spot: bool) -> Option<Explanation> {
    let upper = reason.trim().to_ascii_uppercase();
    let upper = upper
        .strip_prefix("TASKFAILEDTOSTART:")
        .unwrap_or(&upper)
        .trim();
    Some(match upper {
        "RESOURCE:FARGATE" if spot => said(
            "Fargate Spot has no capacity for them",
            "Fargate Spot had no spare capacity for the task (capacity provider FARGATE_SPOT). Add FARGATE to the service's capacity provider strategy as a fallback (a base of 1 or a weight on FARGATE), so tasks still start when Spot capacity runs out.",
        ),
        "RESOURCE:FARGATE" => said(
            "Fargate has no capacity for them",
            "Fargate had no capacity for the task in the chosen Availability Zones. It usually passes; subnets in more Availability Zones help.",
        ),
        "RESOURCE:CPU" => said(
            "no container instance has enough free CPU",
            "No container instance has enough free CPU for the task: it asks for more CPU units than the instances have left, or than the instance type has. Add instances or capacity provider capacity, use larger instances, or lower the task's CPU.",
        ),
        "RESOURCE:MEMORY" => said(
            "no container instance has enough free memory",
            "No container instance has enough free memory for the task: it asks for more than the instances have left, or than the instance type has. Add instances or capacity provider capacity, use larger instances, or lower the task's memory reservation.",
        ),
        "RESOURCE:GPU" => said(
            "no container instance has the GPUs they ask for",
            "No container instance has the GPUs the task asks for. Add GPU instances to the cluster or its capacity provider, or lower the task's GPU count.",
        ),
        "RESOURCE:ENI" => said(
            "no container instance has a free network interface",
            "No container instance has a free network interface attachment point for an awsvpc task (each instance type allows only a few, the primary one included). Use larger instances, turn on ENI trunking (awsvpcTrunking), or add instances.",
        ),
        _ if upper.starts_with("RESOURCE:PORTS") => said(
            "the host ports they need are taken",
            "The host ports the task needs are already in use on every container instance, or an instance reached its limit of 100 reserved host ports. Use dynamic host ports (hostPort 0 in bridge mode, or awsvpc), or add instances.",
        ),
        "AGENT" => said(
            "the ECS agent of the container instance is disconnected",
            "The ECS agent of the chosen container instance is disconnected, so ECS did not place the task there. Check the instance's agent: its log, and that it reaches the ECS endpoints.",
        ),
        "ATTRIBUTE" => said(
            "no container instance has an attribute they require",
            "The task definition requires a container instance attribute that no instance has (a placement constraint, or a capability such as ecs.capability.task-eni for awsvpc). Check the task definition's requirements against the instances.",
        ),
        "LOCATION" => said(
            "the container instance is in another Availability Zone",
            "The container instance is in a different Availability Zone from the task's subnets. Give the service subnets in the instances' zones.",
        ),
        "NO ACTIVE INSTANCES" => said(
            "the capacity provider has no active instances",
            "The capacity provider has no active container instances: its Auto Scaling group is at zero or its instances have not registered yet. Check the group's desired and maximum capacity, and managed scaling.",
        ),
        "EMPTY CAPACITY PROVIDER" => said(
            "the capacity provider has no instances",
            "The capacity provider has no instances registered to the cluster: its Auto Scaling group is empty, or its instances join another cluster (ECS_CLUSTER in the agent's configuration).",
        ),
        _ if upper.starts_with("MEMBEROF PLACEMENT CONSTRAINT") => said(
            "no container instance meets their placement constraints",
            "No container instance meets the task's placement constraints (a memberOf expression). Check the constraints against the instances' attributes.",
        ),
        _ if upper.starts_with("RESOURCE:") => said(
            "the container instances lack a resource they ask for",
            "The container instances lack a resource the task asks for. Add instances or capacity provider capacity.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_reasons_are_explained() {
        let spot = explain("RESOURCE:FARGATE", true).unwrap();
        assert!(spot.long.contains("Add FARGATE"), "{}", spot.long);
        assert_ne!(explain("RESOURCE:FARGATE", false).unwrap(), spot);
        for reason in [
            "RESOURCE:CPU",
            "RESOURCE:MEMORY",
            "RESOURCE:GPU",
            "RESOURCE:ENI",
            "RESOURCE:PORTS_TCP",
            "AGENT",
            "ATTRIBUTE",
            "LOCATION",
            "TaskFailedToStart: NO ACTIVE INSTANCES",
            "TaskFailedToStart: EMPTY CAPACITY PROVIDER",
            "TaskFailedToStart: MemberOf placement constraint unsatisfied",
            "resource:memory",
        ] {
            assert!(explain(reason, false).is_some(), "{reason}");
        }
        let shorts: std::collections::BTreeSet<&str> = [
            "RESOURCE:CPU",
            "RESOURCE:MEMORY",
            "RESOURCE:GPU",
            "RESOURCE:ENI",
            "AGENT",
        ]
        .iter()
        .map(|r| explain(r, false).unwrap().short)
        .collect();
        assert_eq!(shorts.len(), 5, "each reason says its own thing");
        assert_eq!(explain("SOMETHING NEW", false), None);
    }
}
