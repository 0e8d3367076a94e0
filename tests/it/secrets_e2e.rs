//! End to end, secrets read from AWS: the built binary under the Lambda Runtime API emulator
//! (tests/support/lambda.rs) reads its Slack webhook URL, Slack bot token and Datadog API key at
//! start from a real `moto_server` (Secrets Manager and SSM Parameter Store), and nothing it
//! writes (stdout, stderr) or reports to the Runtime API (`/response`, `/error`, `/init/error`)
//! contains a secret value, whole or in part:
//!
//! - webhook mode and Slack app mode, each over every file in events/, a duplicate delivery and
//!   inputs that are not ECS events, with Slack and Datadog (wiremock) failing part of the time
//!   so that error messages and `/error` reports carry the sinks' own words;
//! - both sinks hanging up on every request (the HTTP client's own errors);
//! - start failures: a secret or parameter that does not exist, a webhook secret that is not a
//!   URL.
//!
//! The secrets are random per run, so no fixed string elsewhere can match them by chance, and
//! the sinks must have received requests authenticated with them, so the search is not
//! vacuous: the secrets were read and in use.
//!
//! Panic messages: the function has no input that makes it panic (its library denies
//! `unwrap`/`expect`, and every handler path returns a `Result`), so a forced panic cannot be
//! provoked from outside without changing src/. What a panic would print goes through the
//! same captured channels: lambda_runtime's catch-panic layer logs `user handler panicked` and
//! reports `Lambda panicked: …` to `/error`; the std panic hook writes `thread '…' panicked at`
//! to stderr. Every run below asserts that no output contains `panicked`, so a panic on any
//! sample, duplicate, bad input or failing sink fails this test, and the secret search covers
//! whatever such a message would say.

use crate::support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::lambda::{Exit, Lambda, Output, Reported};
use support::{requests, sdk_config, Moto, ACCOUNT, REGION};

const DD_ENDPOINTS: [&str; 4] = [
    "/api/v2/series",
    "/api/v1/distribution_points",
    "/api/v1/events",
    "/api/v2/events",
];
/// Datadog's answer to a request it refuses; its text must reach the error message.
const DD_FORBIDDEN: &str = r#"{"errors":["Forbidden"]}"#;
/// The SSM parameter holding the Datadog API key.
const DD_PARAMETER: &str = "/ecs-notifier/dd-api-key";
/// Length of the pieces of a secret searched for on their own (a partial leak).
const PIECE: usize = 12;
/// Longest a function that cannot start may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

// ------------------------------------------------------------------------------------------
// Secrets
// ------------------------------------------------------------------------------------------

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// `len` characters of `alphabet`, different in every call and every run (splitmix64 seeded
/// from the clock, the process id and a counter; no cryptographic strength needed).
fn random(len: usize, alphabet: &[u8]) -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64;
    let mut state = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ CALLS
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            char::from(alphabet[(z % alphabet.len() as u64) as usize])
        })
        .collect()
}

/// The secret values of one test, as stored in moto.
struct Secrets {
    /// `<Slack stand-in>/services/T0/B0/<webhook_part>`.
    webhook_url: String,
    webhook_part: String,
    dd_api_key: String,
    /// The Datadog application key (change events), in app mode's run.
    dd_app_key: String,
    /// `xoxb-<digits>-<digits>-<bot_token_part>`.
    bot_token: String,
    bot_token_part: String,
}

impl Secrets {
    /// Fresh random secrets; the webhook URL points at `slack_uri` (`http://127.0.0.1:PORT`).
    fn new(slack_uri: &str) -> Self {
        let webhook_part = random(24, ALNUM);
        let bot_token_part = random(24, ALNUM);
        Secrets {
            webhook_url: format!("{slack_uri}/services/T0/B0/{webhook_part}"),
            webhook_part,
            dd_api_key: random(32, HEX),
            dd_app_key: random(40, HEX),
            bot_token: format!(
                "xoxb-{}-{}-{bot_token_part}",
                random(12, DIGITS),
                random(13, DIGITS)
            ),
            bot_token_part,
        }
    }

    fn webhook_path(&self) -> String {
        format!("/services/T0/B0/{}", self.webhook_part)
    }

    /// What must never show: every secret whole, the random part of each alone, and every
    /// `PIECE`-character piece of those random parts (a truncated or split leak).
    fn needles(&self) -> Vec<(String, String)> {
        let mut needles = vec![
            (
                "the Slack webhook URL".to_string(),
                self.webhook_url.clone(),
            ),
            ("the Slack bot token".to_string(), self.bot_token.clone()),
        ];
        for (what, random_part) in [
            ("the webhook URL's secret part", &self.webhook_part),
            ("the Datadog API key", &self.dd_api_key),
            ("the Datadog application key", &self.dd_app_key),
            ("the bot token's secret part", &self.bot_token_part),
        ] {
            needles.push((what.to_string(), random_part.clone()));
            let chars: Vec<char> = random_part.chars().collect();
            for piece in chars.windows(PIECE) {
                needles.push((
                    format!("a {PIECE}-character piece of {what}"),
                    piece.iter().collect(),
                ));
            }
        }
        needles
    }
}

/// Where `store` put the secrets in moto: the webhook URL and the bot token in Secrets Manager,
/// the Datadog API key as an SSM SecureString.
struct Stored {
    webhook_arn: String,
    bot_token_arn: String,
    app_key_arn: String,
    /// `arn:aws:ssm:eu-west-1:123456789012:parameter/ecs-notifier/dd-api-key`.
    dd_parameter_arn: String,
}

async fn store(moto: &Moto, secrets: &Secrets) -> Stored {
    let config = sdk_config(&moto.endpoint).await;
    let sm = aws_sdk_secretsmanager::Client::new(&config);
    let ssm = aws_sdk_ssm::Client::new(&config);
    let create = |name: &'static str, value: String| {
        let sm = sm.clone();
        async move {
            sm.create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await
                .unwrap_or_else(|err| panic!("CreateSecret {name}: {err:?}"))
                .arn()
                .unwrap_or_else(|| panic!("CreateSecret {name}: no ARN"))
                .to_string()
        }
    };
    let webhook_arn = create("ecs-notifier/slack-webhook", secrets.webhook_url.clone()).await;
    let bot_token_arn = create("ecs-notifier/slack-bot-token", secrets.bot_token.clone()).await;
    let app_key_arn = create("ecs-notifier/dd-app-key", secrets.dd_app_key.clone()).await;
    ssm.put_parameter()
        .name(DD_PARAMETER)
        .value(&secrets.dd_api_key)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
    Stored {
        webhook_arn,
        bot_token_arn,
        app_key_arn,
        dd_parameter_arn: format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{DD_PARAMETER}"),
    }
}

/// The function's AWS settings: moto for every service, test credentials, nothing of the host.
fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_CONFIG_FILE", "/dev/null".to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
        ("HTTP_TIMEOUT_MS", "2000".to_string()),
    ]
}

async fn spawn(env: &[(&'static str, String)]) -> Lambda {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Lambda::spawn(&env).await
}

// ------------------------------------------------------------------------------------------
// Everything the function said, and the search
// ------------------------------------------------------------------------------------------

/// Every text the function produced: `(where, text)`.
#[derive(Default)]
struct Said(Vec<(String, String)>);

impl Said {
    fn reported(&mut self, reported: &Reported) {
        let (place, text) = match reported {
            Reported::Polled { .. } => return,
            Reported::Response {
                request_id, body, ..
            } => (format!("/response of {request_id}"), body.clone()),
            Reported::Error {
                request_id,
                error_type,
                body,
            } => (
                format!("/error of {request_id}"),
                format!("{error_type}\n{body}"),
            ),
            Reported::InitError { error_type, body } => {
                ("/init/error".to_string(), format!("{error_type}\n{body}"))
            }
            Reported::Unexpected { method, uri } => (format!("unexpected {method}"), uri.clone()),
        };
        self.0.push((place, text));
    }

    fn lines(&mut self, stream: &str, lines: &[String]) {
        for (i, line) in lines.iter().enumerate() {
            self.0
                .push((format!("{stream} line {}", i + 1), line.clone()));
        }
    }

    fn output(&mut self, output: &Output) {
        self.lines("stdout", &output.stdout);
        self.lines("stderr", &output.stderr);
    }

    fn exit(&mut self, exit: &Exit) {
        self.lines("stdout", &exit.stdout);
        self.lines("stderr", &exit.stderr);
        for reported in &exit.reported {
            self.reported(reported);
        }
    }

    fn any(&self, needle: &str) -> bool {
        self.0.iter().any(|(_, text)| text.contains(needle))
    }

    fn dump(&self) -> String {
        self.0
            .iter()
            .map(|(place, text)| format!("[{place}] {text}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// No secret, whole or in part, and no panic message anywhere.
    fn assert_clean(&self, run: &str, secrets: &Secrets) {
        assert!(!self.0.is_empty(), "{run}: the function said nothing");
        for (what, needle) in secrets.needles() {
            for (place, text) in &self.0 {
                assert!(
                    !text.contains(&needle),
                    "{run}: {what} leaked in {place}:\n{text}"
                );
            }
        }
        for (place, text) in &self.0 {
            assert!(
                !text.contains("panicked"),
                "{run}: a panic in {place}:\n{text}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// Events
// ------------------------------------------------------------------------------------------

/// `(what, payload, event id)`: every file in events/ (by name), a duplicate delivery of one,
/// and inputs that are not ECS events this function handles.
fn every_event() -> Vec<(String, Value, String)> {
    let files = support::sample_files();
    assert!(files.len() >= 20, "events/ holds the samples: {files:?}");
    let mut events: Vec<(String, Value, String)> = files
        .iter()
        .map(|file| {
            let event = support::load(file);
            // The id the function logs: the event's, or a dead letter's.
            let id = ecs_notifier::source::events(&event)
                .first()
                .map(|(id, _)| id.clone())
                .expect("samples hold an event");
            assert!(!id.is_empty(), "{}: samples have an id", file.display());
            let name = file.file_name().expect("name").to_string_lossy();
            (name.into_owned(), event, id)
        })
        .collect();
    let (_, oom, oom_id) = events
        .iter()
        .find(|(name, ..)| name == "task-oom.json")
        .cloned()
        .expect("events/task-oom.json");
    events.push(("task-oom.json delivered again".into(), oom, oom_id));
    events.push((
        "an EC2 event".into(),
        json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
               "detail": {}}),
        String::new(),
    ));
    events.push((
        "a payload that is not an object".into(),
        json!([1, 2]),
        String::new(),
    ));
    events.push((
        "a detail that is not an object".into(),
        json!({"version": "0", "id": "bad-detail-0001", "source": "aws.ecs",
               "detail-type": "ECS Task State Change", "account": ACCOUNT, "region": REGION,
               "time": "2026-11-22T10:00:00Z", "resources": [], "detail": "oops"}),
        "bad-detail-0001".into(),
    ));
    events
}

/// Invokes the function with every event, in order; records every result in `said` and
/// returns the results.
async fn invoke_every_event(lambda: &mut Lambda, said: &mut Said) -> Vec<(String, Reported)> {
    let mut results = Vec::new();
    for (i, (what, payload, event_id)) in every_event().into_iter().enumerate() {
        let reported = lambda
            .invoke(&format!("req-{i:02}"), &payload, &event_id)
            .await;
        said.reported(&reported);
        results.push((what, reported));
    }
    lambda.assert_alive("after every event");
    results
}

fn error_bodies(results: &[(String, Reported)]) -> Vec<&str> {
    results
        .iter()
        .filter_map(|(_, r)| match r {
            Reported::Error { body, .. } => Some(body.as_str()),
            _ => None,
        })
        .collect()
}

/// Every sample's event id shows in the output: the output of every invocation was captured.
fn assert_every_event_logged(run: &str, said: &Said) {
    for (_, _, event_id) in every_event() {
        if !event_id.is_empty() {
            assert_event_logged(run, said, &event_id);
        }
    }
}

fn assert_event_logged(run: &str, said: &Said, event_id: &str) {
    assert!(
        said.any(event_id),
        "{run}: nothing names event {event_id}:\n{}",
        said.dump()
    );
}

// ------------------------------------------------------------------------------------------
// Sinks
// ------------------------------------------------------------------------------------------

/// Datadog: the first keyed request is refused with 403 and a body, the rest accepted. Only
/// requests with the API key match; anything else gets wiremock's 404.
async fn mount_datadog(server: &MockServer, api_key: &str) {
    Mock::given(method("POST"))
        .and(path_regex("^/api/"))
        .and(header("DD-API-KEY", api_key))
        .respond_with(ResponseTemplate::new(403).set_body_string(DD_FORBIDDEN))
        .up_to_n_times(1)
        .mount(server)
        .await;
    for endpoint in DD_ENDPOINTS {
        Mock::given(method("POST"))
            .and(path(endpoint))
            .and(header("DD-API-KEY", api_key))
            .respond_with(ResponseTemplate::new(202).set_body_string("{}"))
            .mount(server)
            .await;
    }
}

/// Datadog got requests, every one with the key, to a known endpoint: the key was in use. With
/// `app_key`, change events went out, each with it; without, none did.
async fn assert_datadog_used(
    run: &str,
    datadog: &MockServer,
    api_key: &str,
    app_key: Option<&str>,
) {
    let all = requests(datadog).await;
    assert!(!all.is_empty(), "{run}: Datadog received no request");
    let mut changes = 0;
    for r in &all {
        let key = r.headers.get("dd-api-key").and_then(|v| v.to_str().ok());
        assert!(
            key == Some(api_key) && DD_ENDPOINTS.contains(&r.url.path()),
            "{run}: unexpected Datadog request {} {} (key sent: {})",
            r.method,
            r.url.path(),
            key == Some(api_key)
        );
        let application = r
            .headers
            .get("dd-application-key")
            .and_then(|v| v.to_str().ok());
        if r.url.path() == "/api/v2/events" {
            changes += 1;
            assert!(
                application.is_some() && application == app_key,
                "{run}: a change event without the application key"
            );
        } else {
            assert!(
                application.is_none(),
                "{run}: the application key sent to {}",
                r.url.path()
            );
        }
    }
    assert_eq!(
        changes > 0,
        app_key.is_some(),
        "{run}: change events sent: {changes}"
    );
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

/// Webhook mode: the webhook URL from Secrets Manager (by ARN), the Datadog API key from SSM
/// (`ssm:/name`), enrichment on against moto. Slack answers 500 six times (the first post runs
/// out of attempts), then 400 `invalid_payload` twice, then `ok`; Datadog refuses one request.
///
/// Logged at TRACE (Lambda's `AWS_LAMBDA_LOG_LEVEL`), a superset of the default INFO: the AWS
/// SDK's own lines about GetSecretValue/GetParameter and the HTTP client's are searched too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_never_shows_a_secret() {
    let started = std::time::Instant::now();
    let run = "webhook mode";
    let moto = Moto::start().await;
    moto.warm_up().await;
    let slack = MockServer::start().await;
    let datadog = MockServer::start().await;
    let secrets = Secrets::new(&slack.uri());
    let stored = store(&moto, &secrets).await;

    let webhook_path = secrets.webhook_path();
    let failing = [(500, "internal_error", 6), (400, "invalid_payload", 2)]
        .map(|(status, body, times)| (ResponseTemplate::new(status).set_body_string(body), times));
    support::answer_in_turn(&slack, Some(&webhook_path), failing.to_vec(), support::ok()).await;
    mount_datadog(&datadog, &secrets.dd_api_key).await;

    let mut env = aws_env(&moto);
    env.extend([
        ("SLACK_WEBHOOK_URL_SECRET_ARN", stored.webhook_arn.clone()),
        ("DD_API_KEY_SECRET_ARN", format!("ssm:{DD_PARAMETER}")),
        ("DD_API_URL", datadog.uri()),
        ("ENRICHMENT", "on".to_string()),
        ("AWS_LAMBDA_LOG_LEVEL", "trace".to_string()),
    ]);
    let mut lambda = spawn(&env).await;
    let mut said = Said::default();
    let results = invoke_every_event(&mut lambda, &mut said).await;
    let output = lambda.stop().await;
    said.output(&output);

    // The secrets were read and used: every Slack request went to the secret URL (anything
    // else would be a 404 from wiremock), and some were accepted.
    let posts = requests(&slack).await;
    for r in &posts {
        assert!(
            r.method.as_str() == "POST" && r.url.path() == webhook_path,
            "{run}: Slack request to an unexpected place: {} {}",
            r.method,
            r.url.path()
        );
    }
    assert!(
        posts.len() > 6 + 2,
        "{run}: Slack got {} posts, not even one past the failing ones",
        posts.len()
    );
    assert_datadog_used(run, &datadog, &secrets.dd_api_key, None).await;

    // Failures produced error messages with the sinks' own words in them.
    let errors = error_bodies(&results);
    for (sink, word) in [
        ("Slack, out of attempts", "internal_error"),
        ("Slack, refused", "invalid_payload"),
        ("Datadog", "Forbidden"),
    ] {
        assert!(
            errors.iter().any(|body| body.contains(word)),
            "{run}: no /error names {sink} (`{word}`): {errors:#?}"
        );
    }
    assert!(
        results
            .iter()
            .any(|(_, r)| matches!(r, Reported::Response { .. })),
        "{run}: no invocation succeeded: {results:#?}"
    );
    assert_every_event_logged(run, &said);
    said.assert_clean(run, &secrets);
    eprintln!(
        "{run}: {} invocations ({} failed), {} Slack posts, {} Datadog requests, {} texts \
         searched, in {:.1?}",
        results.len(),
        errors.len(),
        posts.len(),
        requests(&datadog).await.len(),
        said.0.len(),
        started.elapsed()
    );
}

/// Slack app mode: the bot token from Secrets Manager, the Datadog API key from SSM by
/// parameter ARN, enrichment off. The Web API answers `ratelimited` once, `invalid_auth`
/// twice, then `ok`; it only answers requests that carry `Authorization: Bearer <token>`.
/// Logged at the default level (INFO).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_mode_never_shows_a_secret() {
    let started = std::time::Instant::now();
    let run = "app mode";
    let moto = Moto::start().await;
    let slack = MockServer::start().await;
    let datadog = MockServer::start().await;
    let secrets = Secrets::new(&slack.uri());
    let stored = store(&moto, &secrets).await;

    let bearer = format!("Bearer {}", secrets.bot_token);
    for (answer, times) in [
        (json!({"ok": false, "error": "ratelimited"}), Some(1)),
        (json!({"ok": false, "error": "invalid_auth"}), Some(2)),
        (json!({"ok": true, "channel": "C1", "ts": "1.1"}), None),
    ] {
        let mock = Mock::given(method("POST"))
            .and(path("/api/chat.postMessage"))
            .and(header("authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer));
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&slack).await,
            None => mock.mount(&slack).await,
        }
    }
    // Deployment messages that were posted are edited in place by later state changes.
    Mock::given(method("POST"))
        .and(path("/api/chat.update"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.1"})),
        )
        .mount(&slack)
        .await;
    mount_datadog(&datadog, &secrets.dd_api_key).await;

    let mut env = aws_env(&moto);
    env.extend([
        ("SLACK_BOT_TOKEN_SECRET_ARN", stored.bot_token_arn.clone()),
        ("SLACK_CHANNEL", "alerts".to_string()),
        ("SLACK_API_URL", format!("{}/api", slack.uri())),
        ("DD_API_KEY_SECRET_ARN", stored.dd_parameter_arn.clone()),
        ("DD_APP_KEY_SECRET_ARN", stored.app_key_arn.clone()),
        ("DD_API_URL", datadog.uri()),
        ("ENRICHMENT", "off".to_string()),
    ]);
    let mut lambda = spawn(&env).await;
    let mut said = Said::default();
    let results = invoke_every_event(&mut lambda, &mut said).await;
    let output = lambda.stop().await;
    said.output(&output);

    // The token was read and used: every Web API call carried it, and some were accepted.
    let calls = requests(&slack).await;
    for r in &calls {
        let auth = r.headers.get("authorization").and_then(|v| v.to_str().ok());
        assert!(
            matches!(r.url.path(), "/api/chat.postMessage" | "/api/chat.update")
                && auth == Some(bearer.as_str()),
            "{run}: unexpected Slack request {} {} (token sent: {})",
            r.method,
            r.url.path(),
            auth == Some(bearer.as_str())
        );
        let body: Value = serde_json::from_slice(&r.body).expect("Web API JSON");
        // An edit, and a reply in a thread, go to the channel id chat.postMessage answered with.
        let channel = if r.url.path() == "/api/chat.update" || body.get("thread_ts").is_some() {
            "C1"
        } else {
            "alerts"
        };
        assert_eq!(body["channel"], channel, "{run}: posted to SLACK_CHANNEL");
    }
    assert!(
        calls.len() > 1 + 2,
        "{run}: Slack got {} calls, not even one past the failing ones",
        calls.len()
    );
    assert_datadog_used(
        run,
        &datadog,
        &secrets.dd_api_key,
        Some(&secrets.dd_app_key),
    )
    .await;

    let errors = error_bodies(&results);
    for (sink, word) in [("Slack", "invalid_auth"), ("Datadog", "Forbidden")] {
        assert!(
            errors.iter().any(|body| body.contains(word)),
            "{run}: no /error names {sink} (`{word}`): {errors:#?}"
        );
    }
    assert_every_event_logged(run, &said);
    said.assert_clean(run, &secrets);
    eprintln!(
        "{run}: {} invocations ({} failed), {} Slack calls, {} Datadog requests, {} texts \
         searched, in {:.1?}",
        results.len(),
        errors.len(),
        calls.len(),
        requests(&datadog).await.len(),
        said.0.len(),
        started.elapsed()
    );
}

/// A server that reads each request's head (request line and headers), keeps it, and hangs up
/// without answering: the HTTP client's own errors ("error sending request…"), which are where
/// a URL would show.
struct HangUp {
    uri: String,
    heads: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

impl HangUp {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the hang-up server");
        let uri = format!("http://{}", listener.local_addr().expect("address"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let kept = heads.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match timeout(Duration::from_secs(2), socket.read(&mut chunk)).await {
                            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&chunk[..n]),
                            _ => break,
                        }
                    }
                    kept.lock()
                        .expect("heads")
                        .push(String::from_utf8_lossy(&head).into_owned());
                    // Dropping the socket hangs up without an answer.
                });
            }
        });
        HangUp { uri, heads, server }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("heads").clone()
    }
}

impl Drop for HangUp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Webhook mode with Slack and Datadog both hanging up on every request: each post runs out of
/// attempts on the HTTP client's own error, whose text names the URL unless it is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_up_sinks_never_show_a_secret() {
    let started = std::time::Instant::now();
    let run = "hung-up sinks";
    let moto = Moto::start().await;
    let hang_up = HangUp::start().await;
    let secrets = Secrets::new(&hang_up.uri);
    let stored = store(&moto, &secrets).await;

    let mut env = aws_env(&moto);
    env.extend([
        ("SLACK_WEBHOOK_URL_SECRET_ARN", stored.webhook_arn.clone()),
        ("DD_API_KEY_SECRET_ARN", stored.dd_parameter_arn.clone()),
        ("DD_API_URL", hang_up.uri.clone()),
        ("ENRICHMENT", "off".to_string()),
    ]);
    let mut lambda = spawn(&env).await;
    let mut said = Said::default();
    let (what, oom, oom_id) = every_event()
        .into_iter()
        .find(|(name, ..)| name == "task-oom.json")
        .expect("events/task-oom.json");
    let reported = lambda.invoke("req-hang-up", &oom, &oom_id).await;
    said.reported(&reported);
    let output = lambda.stop().await;
    said.output(&output);

    // The secrets were in use: the posts went to the secret path, with the key.
    let heads = hang_up.heads();
    let webhook_line = format!("POST {} HTTP/1.1", secrets.webhook_path());
    let key_header = format!("dd-api-key: {}", secrets.dd_api_key);
    assert!(
        heads.iter().any(|h| h.starts_with(&webhook_line)),
        "{run}: no Slack post reached the hang-up server: {heads:#?}"
    );
    assert!(
        heads
            .iter()
            .any(|h| h.to_ascii_lowercase().contains(&key_header)),
        "{run}: no Datadog request with the key reached the hang-up server: {heads:#?}"
    );
    match &reported {
        Reported::Error { body, .. } => {
            for part in ["slack: failed after", "datadog.distributions: failed after"] {
                assert!(body.contains(part), "{run}: /error lacks `{part}`: {body}");
            }
        }
        other => panic!("{run}: {what} must fail with both sinks hanging up, got {other:?}"),
    }
    assert_event_logged(run, &said, &oom_id);
    said.assert_clean(run, &secrets);
    eprintln!(
        "{run}: {reported:?}; {} requests hung up on, in {:.1?}",
        heads.len(),
        started.elapsed()
    );
}

/// A function that cannot start: its settings, and what its error must name.
struct StartFailure {
    what: &'static str,
    settings: Vec<(&'static str, String)>,
    /// The setting at fault.
    setting: &'static str,
    /// AWS's error code, or what the value should have been.
    says: &'static str,
}

/// A secret that cannot be read stops the function at start: it exits non-zero after one log
/// line naming the setting and AWS's error code, and shows none of the secrets it did read.
///
/// It also reports the failure to `/runtime/init/error`, so Lambda shows the reason as the
/// invocation's error; that report is searched for secrets too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_that_cannot_be_read_stops_the_start_without_showing_secrets() {
    let started = std::time::Instant::now();
    let moto = Moto::start().await;
    let slack = MockServer::start().await;
    let secrets = Secrets::new(&slack.uri());
    let stored = store(&moto, &secrets).await;
    let not_a_url = Secrets::new(&slack.uri());
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config(&moto.endpoint).await);
    // A webhook secret that holds only the token part of the URL, not a URL: refused, and the
    // value must not be echoed.
    let path_only_arn = sm
        .create_secret()
        .name("ecs-notifier/slack-webhook-path-only")
        .secret_string(format!("T0/B0/{}", not_a_url.webhook_part))
        .send()
        .await
        .expect("CreateSecret")
        .arn()
        .expect("ARN")
        .to_string();

    let missing_secret = format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:missing-AbCdEf");
    let cases = [
        StartFailure {
            what: "a Secrets Manager secret that does not exist",
            settings: vec![
                ("SLACK_WEBHOOK_URL_SECRET_ARN", stored.webhook_arn.clone()),
                ("DD_API_KEY_SECRET_ARN", missing_secret),
            ],
            setting: "DD_API_KEY_SECRET_ARN",
            says: "ResourceNotFoundException",
        },
        StartFailure {
            what: "an SSM parameter that does not exist",
            settings: vec![
                ("SLACK_BOT_TOKEN_SECRET_ARN", stored.bot_token_arn.clone()),
                ("SLACK_CHANNEL", "alerts".to_string()),
                (
                    "DD_API_KEY_SECRET_ARN",
                    "ssm:/ecs-notifier/missing".to_string(),
                ),
            ],
            setting: "DD_API_KEY_SECRET_ARN",
            says: "ParameterNotFound",
        },
        StartFailure {
            what: "a webhook secret that is not a URL",
            settings: vec![
                ("SLACK_WEBHOOK_URL_SECRET_ARN", path_only_arn),
                ("DD_API_KEY_SECRET_ARN", stored.dd_parameter_arn.clone()),
            ],
            setting: "SLACK_WEBHOOK_URL_SECRET_ARN",
            says: "https:// URL",
        },
    ];
    let runs = cases.iter().map(|case| {
        let mut env = aws_env(&moto);
        // Were it to start, nothing would leave the machine.
        env.push(("DD_API_URL", "http://127.0.0.1:9".to_string()));
        env.extend(case.settings.iter().cloned());
        async move {
            let exit = spawn(&env).await.exit_within(EXIT_TIMEOUT).await;
            (case, exit)
        }
    });
    for (case, exit) in futures::future::join_all(runs).await {
        let StartFailure {
            what,
            setting,
            says,
            ..
        } = case;
        let mut said = Said::default();
        said.exit(&exit);
        let all = said.dump();
        assert!(
            !exit.status.success(),
            "{what}: the function must not start, it exited with {}:\n{all}",
            exit.status
        );
        let logged = exit.stdout.iter().any(|line| {
            serde_json::from_str::<Value>(line).is_ok_and(|record| {
                record["level"] == "ERROR" && line.contains(setting) && line.contains(says)
            })
        });
        assert!(
            logged,
            "{what}: no ERROR log line names {setting} and `{says}`:\n{all}"
        );
        assert_eq!(
            exit.reported.len(),
            1,
            "{what}: one report: {:?}",
            exit.reported
        );
        match &exit.reported[0] {
            Reported::InitError { error_type, body } => {
                assert!(error_type.starts_with("Runtime."), "{what}: {error_type}");
                assert!(
                    body.contains(setting) && body.contains(says),
                    "{what}: {body}"
                );
            }
            other => panic!("{what}: a function that cannot start reported {other:?}"),
        }
        said.assert_clean(what, &secrets);
        said.assert_clean(what, &not_a_url);
        eprintln!(
            "{what}: exited with {}; Runtime API reports: {:?}; stderr: {:?}",
            exit.status, exit.reported, exit.stderr
        );
    }
    eprintln!("start failures in {:.1?}", started.elapsed());
}
