//! Datadog change events (`/api/v2/events`, category `change`): the judge's account of what a
//! deployment changed, as Change Tracking shows it on the service it changed, built without I/O.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::judge::measure::{cut, Change, Event, AGGREGATION_KEY_MAX, EVENT_TEXT_MAX};

/// Longest resource name the API takes.
pub const RESOURCE_NAME_MAX: usize = 128;
/// Most tags on one event.
pub const TAGS_MAX: usize = 100;
/// Longest title.
pub const TITLE_MAX: usize = 500;

#[derive(Serialize)]
struct Body<'a> {
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: Attributes<'a>,
}

#[derive(Serialize)]
struct Attributes<'a> {
    category: &'static str,
    title: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation_key: Option<&'a str>,
    timestamp: String,
    tags: &'a [String],
    attributes: Custom<'a>,
}

#[derive(Serialize)]
struct Custom<'a> {
    changed_resource: Resource,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    impacted_resources: Vec<Resource>,
    author: Author,
    #[serde(skip_serializing_if = "Map::is_empty")]
    new_value: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    prev_value: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    change_metadata: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct Resource {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Author {
    name: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The `/api/v2/events` body of `change`, titled, tagged and timed as its v1 `event`.
pub fn change_body(event: &Event, change: &Change) -> Vec<u8> {
    let at = DateTime::<Utc>::from_timestamp(event.date_happened, 0).unwrap_or_default();
    let tags = &event.tags[..event.tags.len().min(TAGS_MAX)];
    let body = Body {
        data: Data {
            kind: "event",
            attributes: Attributes {
                category: "change",
                title: cut(&event.title, TITLE_MAX),
                message: cut(&event.text, EVENT_TEXT_MAX),
                aggregation_key: event
                    .aggregation_key
                    .as_deref()
                    .filter(|k| k.chars().count() <= AGGREGATION_KEY_MAX),
                timestamp: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                tags,
                attributes: Custom {
                    changed_resource: Resource {
                        name: name(&change.resource),
                        kind: "configuration",
                    },
                    impacted_resources: change
                        .impacted
                        .iter()
                        .filter(|n| !n.trim().is_empty())
                        .map(|n| Resource {
                            name: name(n),
                            kind: "service",
                        })
                        .collect(),
                    // ECS made the change; who asked it to is not in the event.
                    author: Author {
                        name: "Amazon ECS",
                        kind: "system",
                    },
                    new_value: &change.new_value,
                    prev_value: &change.prev_value,
                    change_metadata: &change.metadata,
                },
            },
        },
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A resource name as the API takes it: at most 128 characters, never blank.
fn name(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        "unknown".into()
    } else {
        cut(text, RESOURCE_NAME_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Event {
        Event {
            title: "Deployment completed: web".into(),
            text: "Deployment ecs-svc/1 of service web in cluster prod completed.".into(),
            alert_type: "success",
            aggregation_key: Some("ecs-svc/1".into()),
            date_happened: 1_795_000_000,
            tags: vec!["ecs_service:web".into(), "source:ecs-notifier".into()],
            change: None,
        }
    }

    #[test]
    fn a_change_event_names_what_changed_and_what_it_affects() {
        let mut new_value = Map::new();
        new_value.insert("task_definition".into(), json!("web:42"));
        let change = Change {
            resource: format!("web{}", "x".repeat(200)),
            impacted: vec!["checkout".into(), " ".into()],
            new_value,
            prev_value: Map::new(),
            metadata: Map::new(),
        };
        let body: Value = serde_json::from_slice(&change_body(&event(), &change)).unwrap();
        let a = &body["data"]["attributes"];
        assert_eq!(body["data"]["type"], "event");
        assert_eq!(a["category"], "change");
        assert_eq!(a["timestamp"], "2026-11-18T11:06:40Z");
        assert_eq!(a["aggregation_key"], "ecs-svc/1");
        let c = &a["attributes"];
        assert_eq!(c["changed_resource"]["type"], "configuration");
        assert_eq!(
            c["changed_resource"]["name"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            RESOURCE_NAME_MAX
        );
        assert_eq!(
            c["impacted_resources"],
            json!([{"name": "checkout", "type": "service"}])
        );
        assert_eq!(c["new_value"], json!({"task_definition": "web:42"}));
        assert!(c.get("prev_value").is_none(), "empty maps are left out");
    }
}
