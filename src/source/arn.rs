//! Names pulled out of ECS ARNs: cluster, task id, service, task definition family and revision.

/// The resource part of an ARN (`cluster/prod` in `arn:aws:ecs:…:cluster/prod`), or the input
/// itself when it is not an ARN.
fn resource(arn: &str) -> &str {
    if arn.starts_with("arn:") {
        arn.splitn(6, ':').nth(5).unwrap_or(arn)
    } else {
        arn
    }
}

/// The last `/`-separated segment of an ARN's resource.
pub fn last_segment(arn: &str) -> &str {
    let res = resource(arn);
    res.rsplit('/').next().unwrap_or(res)
}

/// `etl:7` from a task definition ARN; a `family:rev` or `family` given as is.
pub fn task_definition(arn: &str) -> &str {
    last_segment(arn)
}

/// `prod` from `arn:aws:ecs:eu-west-1:123:cluster/prod`.
pub fn cluster_name(arn: &str) -> &str {
    last_segment(arn)
}

/// The task id from `…:task/<cluster>/<id>` (or the old `…:task/<id>`).
pub fn task_id(arn: &str) -> &str {
    last_segment(arn)
}

/// The cluster of a task ARN in the new format `…:task/<cluster>/<id>`.
pub fn task_cluster(arn: &str) -> Option<&str> {
    let rest = resource(arn).strip_prefix("task/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster).filter(|c| !c.is_empty())
}

/// The cluster of a container instance ARN in the new format `…:container-instance/<cluster>/<id>`.
pub fn instance_cluster(arn: &str) -> Option<&str> {
    let rest = resource(arn).strip_prefix("container-instance/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster).filter(|c| !c.is_empty())
}

/// The cluster of a daemon ARN `…:daemon/<cluster>/<name>`.
pub fn daemon_cluster(arn: &str) -> Option<&str> {
    let rest = resource(arn).strip_prefix("daemon/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster).filter(|c| !c.is_empty())
}

/// The service of a service deployment ARN `…:service-deployment/<cluster>/<service>/<id>`.
pub fn deployment_service(arn: &str) -> Option<&str> {
    let rest = resource(arn).strip_prefix("service-deployment/")?;
    rest.split('/').nth(1).filter(|s| !s.is_empty())
}

/// The service name from `…:service/<cluster>/<name>` (or the old `…:service/<name>`).
pub fn service_name(arn: &str) -> Option<&str> {
    let res = resource(arn);
    res.strip_prefix("service/")
        .map(|rest| rest.rsplit('/').next().unwrap_or(rest))
        .filter(|name| !name.is_empty())
}

/// The cluster of a service ARN in the new format `…:service/<cluster>/<name>`.
pub fn service_cluster(arn: &str) -> Option<&str> {
    let rest = resource(arn).strip_prefix("service/")?;
    let (cluster, _) = rest.split_once('/')?;
    Some(cluster).filter(|c| !c.is_empty())
}

/// Family and revision from `…:task-definition/<family>:<revision>`.
pub fn family_revision(arn: &str) -> (&str, Option<u32>) {
    let name = last_segment(arn);
    match name.rsplit_once(':') {
        Some((family, rev)) => match rev.parse() {
            Ok(rev) => (family, Some(rev)),
            Err(_) => (name, None),
        },
        None => (name, None),
    }
}

/// The account field of an ARN (`123456789012`).
pub fn account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(3)
        .filter(|a| !a.is_empty())
}

/// The region field of an ARN (`eu-west-1`).
pub fn region(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(2)
        .filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_arns() {
        assert_eq!(
            cluster_name("arn:aws:ecs:eu-west-1:123456789012:cluster/prod"),
            "prod"
        );
        assert_eq!(
            task_id("arn:aws:ecs:eu-west-1:123456789012:task/prod/0f1e2d"),
            "0f1e2d"
        );
        assert_eq!(
            task_id("arn:aws:ecs:eu-west-1:123456789012:task/0f1e2d"),
            "0f1e2d"
        );
        assert_eq!(
            service_name("arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout-api"),
            Some("checkout-api")
        );
        assert_eq!(
            service_name("arn:aws:ecs:eu-west-1:1:service/legacy"),
            Some("legacy")
        );
        assert_eq!(service_name("arn:aws:ecs:eu-west-1:1:cluster/prod"), None);
        assert_eq!(
            service_cluster("arn:aws:ecs:eu-west-1:1:service/prod/api"),
            Some("prod")
        );
        assert_eq!(service_cluster("arn:aws:ecs:eu-west-1:1:service/api"), None);
        assert_eq!(
            family_revision("arn:aws:ecs:eu-west-1:1:task-definition/report-job:42"),
            ("report-job", Some(42))
        );
        assert_eq!(family_revision("report-job"), ("report-job", None));
        assert_eq!(
            region("arn:aws:ecs:us-east-1:1:cluster/x"),
            Some("us-east-1")
        );
        assert_eq!(region("not-an-arn"), None);
        assert_eq!(cluster_name(""), "");
    }
}
