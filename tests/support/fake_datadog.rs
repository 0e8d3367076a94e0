//! A fake Datadog API (dashboards, monitors) on loopback, and `scripts/datadog` run against it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::root;

const API_KEY: &str = "test-api-key-0123";
const APP_KEY: &str = "test-app-key-4567";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// A Datadog account as far as the script sees it: dashboards and monitors by id, and what was
/// asked.
#[derive(Default)]
pub struct Fake {
    pub dashboards: Vec<Value>,
    pub monitors: Vec<Value>,
    next_id: u64,
    /// (method, path) of every request.
    pub requests: Vec<(String, String)>,
    /// Requests without both keys.
    pub unauthenticated: usize,
}

/// A request's query string, by name.
type Query = BTreeMap<String, String>;

/// Query parameter `key` as a number, `default` when absent or not one.
fn number(query: &Query, key: &str, default: usize) -> usize {
    query
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Header `name` of `req`, empty when absent.
fn header(req: &Request, name: &str) -> String {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl Fake {
    /// An account with 150 other dashboards (the list spans two pages) and a monitor whose name
    /// contains one of ours (the `name` filter matches parts of names).
    pub fn seeded(our_monitor: &str) -> Self {
        let mut fake = Fake {
            next_id: 1000,
            ..Fake::default()
        };
        for n in 0..150 {
            fake.dashboards.push(
                json!({"id": format!("oth-{n:03}"), "title": format!("Other {n}"),
                                        "layout_type": "ordered", "widgets": []}),
            );
        }
        fake.monitors
            .push(json!({"id": 1, "name": format!("{our_monitor} (old copy)"),
                                  "type": "query alert", "query": "x"}));
        fake
    }

    /// Records `req`, refuses it without both keys, else answers it by route.
    fn respond(&mut self, req: &Request) -> ResponseTemplate {
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        self.requests.push((method.clone(), path.clone()));
        if header(req, "DD-API-KEY") != API_KEY || header(req, "DD-APPLICATION-KEY") != APP_KEY {
            self.unauthenticated += 1;
            return ResponseTemplate::new(403).set_body_json(json!({"errors": ["Forbidden"]}));
        }
        let query: Query = req.url.query_pairs().into_owned().collect();
        let body = serde_json::from_slice::<Value>(&req.body).ok();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["api", "v1", "dashboard"]) => self.list_dashboards(&query),
            ("POST", ["api", "v1", "dashboard"]) => self.create_dashboard(body),
            ("PUT", ["api", "v1", "dashboard", id]) => self.update_dashboard(id, body),
            ("GET", ["api", "v1", "monitor"]) => self.list_monitors(&query),
            ("POST", ["api", "v1", "monitor"]) => self.create_monitor(body),
            ("PUT", ["api", "v1", "monitor", id]) => self.update_monitor(id, body),
            _ => ResponseTemplate::new(404).set_body_json(json!({"errors": ["Not found"]})),
        }
    }

    /// A page of dashboards (`start`, `count`), as summaries.
    fn list_dashboards(&self, query: &Query) -> ResponseTemplate {
        let (start, count) = (number(query, "start", 0), number(query, "count", 100));
        let page: Vec<Value> = self
            .dashboards
            .iter()
            .skip(start)
            .take(count)
            .map(|d| json!({"id": d["id"], "title": d["title"], "url": d["url"]}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "dashboards": page }))
    }

    fn create_dashboard(&mut self, body: Option<Value>) -> ResponseTemplate {
        let Some(mut d) = body else {
            return ResponseTemplate::new(400);
        };
        self.next_id += 1;
        let id = format!("abc-{}", self.next_id);
        d["id"] = json!(id);
        d["url"] = json!(format!("/dashboard/{id}/ecs"));
        self.dashboards.push(d.clone());
        ResponseTemplate::new(200).set_body_json(d)
    }

    fn update_dashboard(&mut self, id: &str, body: Option<Value>) -> ResponseTemplate {
        match (self.dashboards.iter_mut().find(|d| d["id"] == *id), body) {
            (Some(slot), Some(mut d)) => {
                d["id"] = json!(id);
                d["url"] = json!(format!("/dashboard/{id}/ecs"));
                *slot = d.clone();
                ResponseTemplate::new(200).set_body_json(d)
            }
            (None, _) => ResponseTemplate::new(404),
            (_, None) => ResponseTemplate::new(400),
        }
    }

    /// A page (`page`, `page_size`) of the monitors whose name contains `name`, any case.
    fn list_monitors(&self, query: &Query) -> ResponseTemplate {
        let name = query
            .get("name")
            .cloned()
            .unwrap_or_default()
            .to_lowercase();
        let (page, size) = (number(query, "page", 0), number(query, "page_size", 100));
        let found: Vec<Value> = self
            .monitors
            .iter()
            .filter(|m| {
                m["name"]
                    .as_str()
                    .is_some_and(|n| n.to_lowercase().contains(&name))
            })
            .skip(page * size)
            .take(size)
            .cloned()
            .collect();
        ResponseTemplate::new(200).set_body_json(found)
    }

    fn create_monitor(&mut self, body: Option<Value>) -> ResponseTemplate {
        let Some(mut m) = body else {
            return ResponseTemplate::new(400);
        };
        self.next_id += 1;
        m["id"] = json!(self.next_id);
        self.monitors.push(m.clone());
        ResponseTemplate::new(200).set_body_json(m)
    }

    fn update_monitor(&mut self, id: &str, body: Option<Value>) -> ResponseTemplate {
        let id: u64 = id.parse().unwrap_or(0);
        match (self.monitors.iter_mut().find(|m| m["id"] == id), body) {
            (Some(slot), Some(mut m)) => {
                m["id"] = json!(id);
                *slot = m.clone();
                ResponseTemplate::new(200).set_body_json(m)
            }
            (None, _) => ResponseTemplate::new(404),
            (_, None) => ResponseTemplate::new(400),
        }
    }
}

/// A loopback server answering every request as `fake` would.
pub async fn fake_datadog(fake: Arc<Mutex<Fake>>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(move |req: &Request| fake.lock().unwrap().respond(req))
        .mount(&server)
        .await;
    server
}

/// `.venv`'s Python, which has `datadog-api-client`.
fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.is_file(),
        "{} not found: `make tools` installs requirements-dev.txt (datadog-api-client) into .venv",
        venv.display()
    );
    venv
}

/// `scripts/datadog ARGS` with `envs` and none of the host's Datadog settings.
pub fn script(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(python());
    command
        .arg(root().join("scripts/datadog"))
        .args(args)
        .current_dir(root())
        .env_remove("DD_API_KEY")
        .env_remove("DD_APP_KEY")
        .env_remove("DD_SITE")
        .env_remove("DATADOG_API_URL");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run scripts/datadog")
}

/// The output's stdout and stderr, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `scripts/datadog ARGS` with the keys (when `keys`) and the fake's URL, off the async runtime:
/// whether it succeeded, its stdout and stderr.
pub async fn run(uri: &str, args: &[&str], keys: bool) -> (bool, String, String) {
    let uri = uri.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::time::timeout(
        SCRIPT_TIMEOUT,
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut envs = vec![("DATADOG_API_URL", uri.as_str())];
            if keys {
                envs.extend([("DD_API_KEY", API_KEY), ("DD_APP_KEY", APP_KEY)]);
            }
            script(&args, &envs)
        }),
    )
    .await
    .expect("scripts/datadog finishes")
    .expect("scripts/datadog runs");
    let (stdout, stderr) = text(&out);
    (out.status.success(), stdout, stderr)
}
