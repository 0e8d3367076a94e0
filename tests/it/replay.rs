//! An archive replay through the built binary under the Lambda Runtime API emulator: a day's
//! failures (the burst of incidents.rs, delivered live first, and a crash loop that never
//! reached the function) replayed from an EventBridge archive, each event carrying the
//! top-level `replay-name`. With `REPLAY=digest` (the default) one Slack message tells the
//! replay; with `REPLAY=quiet`, nothing. Either way Datadog counts nothing again.

use crate::backlog::durations_counted;
use crate::incidents::{base_env, burst, later, recording, send, stops_counted, texts};
use crate::support;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use support::lambda::Lambda;

const REPLAY: &str = "replay-day-2026-12-01";

/// The day's failures as the archive holds them: the burst and its OOM (41 events), then 8
/// crashes of one service, 20 s apart, two minutes later.
fn the_day(t0: DateTime<Utc>) -> Vec<Value> {
    let mut events = burst(t0);
    for i in 0..8 {
        let at = (t0 + chrono::Duration::seconds(200 + 20 * i as i64)).to_rfc3339();
        let mut e = support::crash(500 + i);
        e["time"] = json!(at);
        e["detail"]["stoppedAt"] = json!(at);
        events.push(e);
    }
    events
}

/// `event` as a replay delivers it: the same event, with the replay's name at the top level.
fn replayed(event: &Value) -> Value {
    let mut e = event.clone();
    e["replay-name"] = json!(REPLAY);
    e
}

/// Delivers the burst live (as it happened, then the event that ends its window), then replays
/// the day; after the replay has settled, an ordinary event. Returns the Slack posts and
/// Datadog's stops and durations of the replay and after it.
async fn replay_with(setting: Option<&str>) -> (Vec<Value>, usize, usize) {
    let (slack, slack_seen) = recording(false).await;
    let (datadog, dd_seen) = recording(false).await;
    let webhook = format!("{}/services/T000/B000/XXXX", slack.uri());
    let dd = datadog.uri();
    let mut env = base_env(&webhook, &dd, false);
    env.push(("BACKLOG_AFTER_SECONDS", "2"));
    if let Some(setting) = setting {
        env.push(("REPLAY", setting));
    }
    let mut lambda = Lambda::spawn(&env).await;
    let t0 = Utc::now() - chrono::Duration::days(4);
    for (i, event) in burst(t0).iter().enumerate() {
        send(&mut lambda, &format!("req-live-{i}"), event).await;
    }
    send(&mut lambda, "req-live-later", &later(t0)).await;
    let live = (
        slack_seen.all().len(),
        stops_counted(&dd_seen),
        durations_counted(&dd_seen),
    );
    for (i, event) in the_day(t0).iter().enumerate() {
        send(&mut lambda, &format!("req-replay-{i}"), &replayed(event)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut ordinary = support::sample("task-running.json");
    ordinary["id"] = json!("00000000-0000-4000-8000-0000000a11ce");
    send(&mut lambda, "req-after", &ordinary).await;
    lambda.stop().await;
    let posts: Vec<Value> = slack_seen.all().into_iter().map(|(_, _, b)| b).collect();
    let posts = posts[live.0..].to_vec();
    let (stops, durations) = (
        stops_counted(&dd_seen) - live.1,
        durations_counted(&dd_seen) - live.2,
    );
    println!(
        "REPLAY={}: the live burst posted {} messages, counted {} stops; the replay of {} \
         events posted {} messages, counted {stops} stops and {durations} durations again",
        setting.unwrap_or("(default)"),
        live.0,
        live.1,
        the_day(t0).len(),
        posts.len(),
    );
    (posts, stops, durations)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_a_day_is_one_digest_and_counts_nothing_twice() {
    let (posts, stops, durations) = replay_with(None).await;
    assert_eq!(posts.len(), 1, "one digest: {posts:#?}");
    let digest = texts(&posts[0]);
    assert!(digest.contains(REPLAY), "{digest}");
    assert!(digest.contains("49"), "the events it replayed: {digest}");
    assert!(digest.contains("image_pull"), "{digest}");
    assert!(digest.contains("out_of_memory"), "{digest}");
    assert_eq!((stops, durations), (0, 0), "nothing counted again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_replay_posts_nothing_and_counts_nothing_twice() {
    let (posts, stops, durations) = replay_with(Some("quiet")).await;
    assert!(posts.is_empty(), "{posts:#?}");
    assert_eq!((stops, durations), (0, 0), "nothing counted again");
}
