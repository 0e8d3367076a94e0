//! The state table end to end: TWO copies of the built `ecs-notifier` binary, each run as AWS
//! Lambda runs a custom runtime (tests/support/lambda.rs), share one DynamoDB table on a real
//! `moto_server`, with Slack and Datadog replaced by wiremock servers.
//!
//! - The same event delivered to both processes at the same instant (EventBridge and Lambda
//!   deliver at least once) reaches Slack and Datadog once: one process delivers each part, the
//!   other reports it as a duplicate, and neither invocation fails.
//! - Flood control is shared: a crash loop spread over both processes alerts once.
//! - A process killed mid-delivery leaves a claim that lapses at its invocation's deadline: Lambda's
//!   retries of the event fail until then (so Lambda keeps it), and the first one after it
//!   delivers the alert, once; a later redelivery posts nothing.
//!
//! Every wait is bounded: a hang or a crash of a function fails the test with its output.

use crate::support;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use support::lambda::{expect_response, Lambda, Output, Reported};
use support::{crash, Moto};

const TABLE: &str = "ecs-notifier-state";
const SLACK_PATH: &str = "/services/T000/B000/XXXXSECRET";
const DD_KEY: &str = "dd-test-key";
const DD_SERIES: &str = "/api/v2/series";
const DD_DISTRIBUTIONS: &str = "/api/v1/distribution_points";
const DD_EVENTS: &str = "/api/v1/events";
/// How long Slack takes to answer: both processes are mid-delivery at the same time.
const SLACK_DELAY: Duration = Duration::from_millis(200);
/// Longest a function may take to (re)poll `/next` once started or done with an invocation.
const POLL_WITHIN: Duration = Duration::from_secs(10);
/// Longest a whole test may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------------------------------
// Set-up
// ------------------------------------------------------------------------------------------

async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within {TEST_TIMEOUT:?}"))
}

/// A Slack webhook answering `ok` after `delay`.
async fn slack(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SLACK_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("ok")
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

/// Datadog accepting everything (202).
async fn datadog() -> MockServer {
    let server = MockServer::start().await;
    for endpoint in [DD_SERIES, DD_DISTRIBUTIONS, DD_EVENTS] {
        Mock::given(method("POST"))
            .and(path(endpoint))
            .respond_with(ResponseTemplate::new(202).set_body_string("{}"))
            .mount(&server)
            .await;
    }
    server
}

/// Starts one function process sharing the state table on `moto`; `extra` is added last (it
/// overrides).
async fn function(
    moto: &Moto,
    slack: &MockServer,
    datadog: &MockServer,
    extra: &[(&str, &str)],
) -> Lambda {
    let webhook = format!("{}{SLACK_PATH}", slack.uri());
    let dd = datadog.uri();
    let mut env: Vec<(&str, &str)> = vec![
        ("SLACK_WEBHOOK_URL", &webhook),
        ("DD_API_KEY", DD_KEY),
        ("DD_API_URL", &dd),
        ("STATE_TABLE", TABLE),
        ("AWS_ENDPOINT_URL", &moto.endpoint),
        ("AWS_REGION", support::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("ENRICHMENT", "off"),
    ];
    env.extend_from_slice(extra);
    Lambda::spawn(&env).await
}

/// Two function processes, both idle on `/next`.
async fn two_functions(
    moto: &Moto,
    slack: &MockServer,
    datadog: &MockServer,
    extra: &[(&str, &str)],
) -> (Lambda, Lambda) {
    let mut a = function(moto, slack, datadog, extra).await;
    let mut b = function(moto, slack, datadog, extra).await;
    a.wait_polling(POLL_WITHIN).await;
    b.wait_polling(POLL_WITHIN).await;
    (a, b)
}

/// Invokes both processes with their event at the same instant: both are idle on `/next`
/// first, so both long polls are answered together.
async fn invoke_both(
    a: &mut Lambda,
    b: &mut Lambda,
    (id_a, event_a): (&str, &Value),
    (id_b, event_b): (&str, &Value),
) -> (Reported, Reported) {
    a.wait_polling(POLL_WITHIN).await;
    b.wait_polling(POLL_WITHIN).await;
    let log_a = event_a["id"].as_str().unwrap_or_default().to_string();
    let log_b = event_b["id"].as_str().unwrap_or_default().to_string();
    tokio::join!(
        a.invoke(id_a, event_a, &log_a),
        b.invoke(id_b, event_b, &log_b)
    )
}

// ------------------------------------------------------------------------------------------
// Samples
// ------------------------------------------------------------------------------------------

/// The samples that post to Slack (`"slack": true` in tests/expected/events.json), by file
/// name, with their expected `kind`.
fn alerting_samples() -> Vec<(String, Value, Value)> {
    let expected = support::expectations();
    let samples: Vec<(String, Value, Value)> = expected
        .iter()
        // An update of another sample's stop posts nothing after it: it has a test of its own;
        // a reply with no thread to go in (webhook mode) posts nothing at all.
        .filter(|(_, e)| {
            e["slack"].as_bool() == Some(true)
                && e.get("update_of").is_none()
                && e["reply_only"] != true
        })
        .map(|(name, e)| (name.clone(), e.clone(), support::sample(name)))
        // Single-event invocations (their response is a report); SQS samples are batches.
        .filter(|(_, _, event)| event.get("Records").is_none())
        .collect();
    assert!(
        samples.len() >= 10,
        "expected the failure samples, got {}",
        samples.len()
    );
    let ids: BTreeSet<&str> = samples
        .iter()
        .map(|(name, _, e)| {
            e["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no event id"))
        })
        .collect();
    assert_eq!(ids.len(), samples.len(), "sample event ids are distinct");
    samples
}

// ------------------------------------------------------------------------------------------
// What the sinks got and what the functions said
// ------------------------------------------------------------------------------------------

/// POSTs each sink received, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    slack: usize,
    series: usize,
    distributions: usize,
    events: usize,
}

impl Counts {
    async fn now(slack: &MockServer, datadog: &MockServer) -> Self {
        let s = slack.received_requests().await.expect("wiremock records");
        let d = datadog.received_requests().await.expect("wiremock records");
        let count = |all: &[Request], p: &str| {
            all.iter()
                .filter(|r| r.method.as_str() == "POST" && r.url.path() == p)
                .count()
        };
        Counts {
            slack: count(&s, SLACK_PATH),
            series: count(&d, DD_SERIES),
            distributions: count(&d, DD_DISTRIBUTIONS),
            events: count(&d, DD_EVENTS),
        }
    }

    fn since(self, before: Counts) -> Counts {
        Counts {
            slack: self.slack - before.slack,
            series: self.series - before.series,
            distributions: self.distributions - before.distributions,
            events: self.events - before.events,
        }
    }
}

/// A list of part names, as a JSON array or as its Rust debug rendering in a log field
/// (`["slack", "datadog.distributions"]`, which is also JSON).
fn parts(value: &Value, what: &str) -> BTreeSet<String> {
    let array = match value {
        Value::Array(_) => value.clone(),
        Value::String(s) => serde_json::from_str(s)
            .unwrap_or_else(|err| panic!("{what}: not a list of parts ({err}): {s}")),
        other => panic!("{what}: not a list of parts: {other}"),
    };
    array
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list: {array}"))
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap_or_else(|| panic!("{what}: not a part name: {p}"))
                .to_string()
        })
        .collect()
}

/// `(delivered, duplicate)` of an invocation's result, which must be a `/response`.
fn reported_parts(what: &str, reported: &Reported) -> (BTreeSet<String>, BTreeSet<String>) {
    let report = expect_response(what, reported);
    (
        parts(&report["delivered"], &format!("{what}: delivered")),
        parts(&report["duplicate"], &format!("{what}: duplicate")),
    )
}

/// The fields of the one `event handled` log line of `event_id` in `output`.
fn handled_line(who: &str, output: &Output, event_id: &str) -> serde_json::Map<String, Value> {
    let found: Vec<serde_json::Map<String, Value>> = output
        .stdout
        .iter()
        .chain(&output.stderr)
        .filter_map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => Some(match record.get("fields") {
                Some(Value::Object(fields)) => fields.clone(),
                _ => record,
            }),
            _ => None,
        })
        .filter(|fields| {
            fields.get("event_id").and_then(Value::as_str) == Some(event_id)
                && fields.get("message").and_then(Value::as_str) == Some("event handled")
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{who}: one `event handled` log line for {event_id}:\n{}\n{}",
        output.stdout.join("\n"),
        output.stderr.join("\n")
    );
    found.into_iter().next().expect("one line")
}

/// `(delivered, duplicate)` of the `event handled` log line of `event_id`.
fn logged_parts(
    who: &str,
    output: &Output,
    event_id: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let line = handled_line(who, output, event_id);
    let field = |name: &str| {
        parts(
            line.get(name).unwrap_or(&Value::Null),
            &format!("{who}: log line of {event_id}: {name}"),
        )
    };
    (field("delivered"), field("duplicate"))
}

/// No line either process wrote is a warning about the state table (it must be used, not
/// bypassed).
fn assert_table_used(who: &str, output: &Output) {
    for line in output.stdout.iter().chain(&output.stderr) {
        assert!(
            !line.contains("state table unavailable")
                && !line.contains("could not record the delivery"),
            "{who}: the state table was not usable: {line}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

/// Every alerting sample is delivered to both processes at the same instant; flood control is
/// off, so only the table's delivery claims stand between them and a double post.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_on_two_processes_deliver_once() {
    bounded("concurrent duplicates", async {
        let started = std::time::Instant::now();
        let moto = Moto::start().await;
        support::create_state_table(&moto.endpoint, TABLE).await;
        let slack = slack(SLACK_DELAY).await;
        let datadog = datadog().await;
        let (mut a, mut b) =
            two_functions(&moto, &slack, &datadog, &[("FLOOD_WINDOW_SECONDS", "0")]).await;

        let samples = alerting_samples();
        // (sample, event id, slack delivered by a?)
        let mut rounds: Vec<(String, String, bool)> = Vec::new();
        for (i, (name, expected, event)) in samples.iter().enumerate() {
            let kind = expected["kind"].as_str().unwrap_or_default();
            // What the expectations say reaches Datadog: counts and events.
            let counts = kind == "task_stopped" || kind == "run_task" || expected["metric"].is_string();
            let dd_event =
                kind == "deployment" || kind == "retirement" || expected["dd_event"].is_string();
            let before = Counts::now(&slack, &datadog).await;
            let (ra, rb) = invoke_both(
                &mut a,
                &mut b,
                (&format!("a-{i}"), event),
                (&format!("b-{i}"), event),
            )
            .await;
            let (delivered_a, duplicate_a) = reported_parts(&format!("{name} on a"), &ra);
            let (delivered_b, duplicate_b) = reported_parts(&format!("{name} on b"), &rb);
            let got = Counts::now(&slack, &datadog).await.since(before);
            let all = format!(
                "{name}: a delivered {delivered_a:?} dup {duplicate_a:?}; \
                 b delivered {delivered_b:?} dup {duplicate_b:?}; sinks got {got:?}"
            );

            // Each part went out from exactly one process; the other saw it as a duplicate.
            assert!(
                delivered_a.is_disjoint(&delivered_b),
                "both processes delivered a part: {all}"
            );
            assert_eq!(delivered_a, duplicate_b, "{all}");
            assert_eq!(delivered_b, duplicate_a, "{all}");
            let delivered: BTreeSet<String> = delivered_a.union(&delivered_b).cloned().collect();
            assert!(delivered.contains("slack"), "{all}");
            assert_eq!(delivered.contains("datadog.distributions"), counts, "{all}");
            assert_eq!(delivered.contains("datadog.event"), dd_event, "{all}");

            // ... and the sinks received each once.
            assert_eq!(got.slack, 1, "one Slack post: {all}");
            assert_eq!(got.series, 0, "no {DD_SERIES} post for an event: {all}");
            assert_eq!(
                got.distributions,
                usize::from(counts),
                "one {DD_DISTRIBUTIONS} post per counted event: {all}"
            );
            assert_eq!(
                got.events,
                usize::from(delivered.contains("datadog.event")),
                "{all}"
            );
            let id = event["id"].as_str().expect("event id").to_string();
            rounds.push((name.clone(), id, delivered_a.contains("slack")));
        }

        let (a, b) = (a.stop().await, b.stop().await);
        assert_table_used("a", &a);
        assert_table_used("b", &b);
        // The logs say the same: per event, one `delivered` and one `duplicate` for Slack.
        for (name, id, a_posted) in &rounds {
            let (delivered_a, duplicate_a) = logged_parts("a", &a, id);
            let (delivered_b, duplicate_b) = logged_parts("b", &b, id);
            let slack_in = |set: &BTreeSet<String>| set.contains("slack");
            assert_eq!(
                (
                    slack_in(&delivered_a),
                    slack_in(&duplicate_a),
                    slack_in(&delivered_b),
                    slack_in(&duplicate_b)
                ),
                (*a_posted, !a_posted, !a_posted, *a_posted),
                "{name}: Slack in the log lines: a delivered {delivered_a:?} dup {duplicate_a:?}; \
                 b delivered {delivered_b:?} dup {duplicate_b:?}"
            );
        }
        let total = Counts::now(&slack, &datadog).await;
        assert_eq!(total.slack, samples.len(), "one Slack post per event");
        let a_won = rounds.iter().filter(|(_, _, a)| *a).count();
        eprintln!(
            "{} events delivered concurrently to two processes: Slack posted by a {a_won}, by b {}; \
             {:.1?}",
            rounds.len(),
            rounds.len() - a_won,
            started.elapsed()
        );
    })
    .await;
}

/// With flood control on (the default window) in both processes, ten crashes of one service,
/// delivered two at a time to the two processes, make one Slack alert; Datadog counts all ten.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_loop_spread_over_two_processes_alerts_once() {
    bounded("shared flood window", async {
        let moto = Moto::start().await;
        support::create_state_table(&moto.endpoint, TABLE).await;
        let slack = slack(SLACK_DELAY).await;
        let datadog = datadog().await;
        let (mut a, mut b) = two_functions(&moto, &slack, &datadog, &[]).await;

        let mut alerts = 0;
        let mut suppressed = 0;
        for round in 0..5 {
            let (even, odd) = (crash(2 * round), crash(2 * round + 1));
            let (ra, rb) = invoke_both(
                &mut a,
                &mut b,
                (&format!("a-{round}"), &even),
                (&format!("b-{round}"), &odd),
            )
            .await;
            for (who, reported) in [("a", &ra), ("b", &rb)] {
                let what = format!("round {round} on {who}");
                let report = expect_response(&what, reported);
                let (delivered, duplicate) = reported_parts(&what, reported);
                assert!(duplicate.is_empty(), "{what}: distinct events: {report}");
                assert!(
                    delivered.contains("datadog.distributions"),
                    "{what}: Datadog counts every crash: {report}"
                );
                if delivered.contains("slack") {
                    alerts += 1;
                    assert!(report.get("flood").is_none(), "{what}: {report}");
                } else {
                    suppressed += 1;
                    assert_eq!(report["flood"], "suppressed", "{what}: {report}");
                }
            }
        }
        let got = Counts::now(&slack, &datadog).await;
        assert_eq!(
            (alerts, suppressed, got.slack),
            (1, 9, 1),
            "one alert across both processes; sinks got {got:?}"
        );
        assert_eq!(got.distributions, 10, "one distribution post per crash");
        let (a, b) = (a.stop().await, b.stop().await);
        assert_table_used("a", &a);
        assert_table_used("b", &b);
    })
    .await;
}

/// A process killed while it posts an alert (a crash, Lambda's timeout) leaves its claim in the
/// table. Lambda retries the event; the retry, on another process and within the claim's lease,
/// must not report success without the alert having been delivered: it must deliver it, or fail
/// so that Lambda retries it again (the claim lapses at the dead process's deadline, and a later
/// retry takes it over).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_after_a_process_died_mid_delivery_is_not_lost() {
    bounded("killed mid-delivery", async {
        let moto = Moto::start().await;
        support::create_state_table(&moto.endpoint, TABLE).await;
        // The first Slack post never gets an answer in time; later ones are answered at once.
        let slack = MockServer::start().await;
        let stuck = support::ok().set_delay(Duration::from_secs(60));
        support::answer_in_turn(&slack, Some(SLACK_PATH), vec![(stuck, 1)], support::ok()).await;
        let datadog = datadog().await;
        let extra = [("FLOOD_WINDOW_SECONDS", "0"), ("HTTP_TIMEOUT_MS", "10000")];
        let (mut a, mut b) = two_functions(&moto, &slack, &datadog, &extra).await;

        let event = support::sample("task-oom.json");
        let id = event["id"].as_str().expect("event id").to_string();
        a.send("a-0", &event, &id);
        // Kill a once its Slack post is in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while Counts::now(&slack, &datadog).await.slack == 0 {
            a.assert_alive("before posting to Slack");
            assert!(
                tokio::time::Instant::now() < deadline,
                "a did not post to Slack within 10 s\n{}",
                a.output_so_far()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        a.kill().await;

        // Lambda's retries of the same event, on the other process: an error while the dead
        // process's claim holds (Lambda retries again, later), then a delivery.
        let killed_at = tokio::time::Instant::now();
        let mut attempts = 0;
        let retry = loop {
            attempts += 1;
            let reported = b.invoke(&format!("b-{attempts}"), &event, &id).await;
            match &reported {
                Reported::Error { .. } => {
                    assert!(
                        killed_at.elapsed() < support::lambda::FUNCTION_TIMEOUT + Duration::from_secs(15),
                        "retries still fail well past the dead claim's deadline\n{}",
                        b.output_so_far()
                    );
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Reported::Response { .. } => break reported,
                other => panic!("the retry: {other:?}"),
            }
        };
        let (delivered, _) = reported_parts("the retry that delivered", &retry);
        assert!(delivered.contains("slack"), "{delivered:?}\n{}", b.output_so_far());
        let after = Counts::now(&slack, &datadog).await;
        assert_eq!(
            after.slack, 2,
            "the killed process's unanswered post and the retry's, no more"
        );
        // Exactly once: one more redelivery finds every part delivered.
        let again = b.invoke("b-again", &event, &id).await;
        let (delivered, duplicate) = reported_parts("the redelivery", &again);
        assert!(delivered.is_empty(), "{delivered:?}");
        assert!(duplicate.contains("slack"), "{duplicate:?}");
        let last = Counts::now(&slack, &datadog).await;
        assert_eq!(last.slack, 2, "the redelivery posted again");
        assert_eq!(
            (last.distributions, last.events),
            (after.distributions, after.events),
            "the redelivery sent Datadog again"
        );
        eprintln!("killed mid-delivery: delivered on attempt {attempts} of the retry, {:?} after the kill", killed_at.elapsed());
        b.stop().await;
    })
    .await;
}
