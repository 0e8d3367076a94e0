//! A Lambda Runtime API (2018-06-01) emulator served on 127.0.0.1 (`RuntimeApi`, which the
//! benches' harnesses use too), and the built `ecs-notifier` binary run against it exactly as
//! AWS Lambda runs a custom runtime (`Lambda`), with its output captured.
//!
//! Every wait is bounded: a hang, a crash of the function or a missing result fails the test
//! with the function's captured output instead of blocking it.

use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex as AsyncMutex};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:ecs-notifier";
/// Longest one invocation may take (a failing sink retries for a few seconds).
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Deadline given to each invocation, as Lambda's function timeout.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(20);

/// An event queued for `/next`.
struct Invocation {
    request_id: String,
    body: Vec<u8>,
}

/// What the function reported to the Runtime API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// A `GET /next` arrived (only when the emulator was asked to report them).
    Polled {
        at: std::time::Instant,
    },
    Response {
        request_id: String,
        body: String,
        /// From handing out the event to this response.
        latency: Duration,
    },
    Error {
        request_id: String,
        error_type: String,
        body: String,
    },
    InitError {
        error_type: String,
        body: String,
    },
    /// A request to a path this emulator does not serve.
    Unexpected {
        method: String,
        uri: String,
    },
}

struct Emulator {
    pending: AsyncMutex<mpsc::UnboundedReceiver<Invocation>>,
    reported: mpsc::UnboundedSender<Reported>,
    /// `/next` requests waiting for an event right now (`Lambda::wait_polling`).
    polling: Arc<AtomicUsize>,
    /// Report every `GET /next` as `Reported::Polled` (the benches time init with it).
    report_polls: bool,
    /// The deadline handed out with each event.
    function_timeout: Duration,
    /// When each outstanding invocation was handed out.
    served: Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// Counts one `/next` request as waiting for as long as it lives (its future may be dropped).
struct Polling(Arc<AtomicUsize>);

impl Polling {
    fn start(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Polling(count.clone())
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// `GET /2018-06-01/runtime/invocation/next`: long-polls until an event is queued.
async fn next_invocation(State(emu): State<Arc<Emulator>>) -> Response {
    if emu.report_polls {
        let _ = emu.reported.send(Reported::Polled {
            at: std::time::Instant::now(),
        });
    }
    let invocation = {
        let mut pending = emu.pending.lock().await;
        let _polling = Polling::start(&emu.polling);
        pending.recv().await
    };
    let Some(invocation) = invocation else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = (SystemTime::now() + emu.function_timeout)
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
        .to_string();
    emu.served
        .lock()
        .expect("served")
        .insert(invocation.request_id.clone(), std::time::Instant::now());
    (
        StatusCode::OK,
        [
            (
                "lambda-runtime-aws-request-id",
                invocation.request_id.clone(),
            ),
            ("lambda-runtime-deadline-ms", deadline_ms),
            (
                "lambda-runtime-invoked-function-arn",
                FUNCTION_ARN.to_string(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                    .to_string(),
            ),
            ("content-type", "application/json".to_string()),
        ],
        invocation.body,
    )
        .into_response()
}

/// `POST /2018-06-01/runtime/invocation/{id}/response`.
async fn invocation_response(
    State(emu): State<Arc<Emulator>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let served = emu.served.lock().expect("served").remove(&request_id);
    let _ = emu.reported.send(Reported::Response {
        request_id,
        body: String::from_utf8_lossy(&body).into_owned(),
        latency: served.map(|at| at.elapsed()).unwrap_or_default(),
    });
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

/// `POST /2018-06-01/runtime/invocation/{id}/error`.
async fn invocation_error(
    State(emu): State<Arc<Emulator>>,
    UrlPath(request_id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    emu.served.lock().expect("served").remove(&request_id);
    let _ = emu.reported.send(Reported::Error {
        request_id,
        error_type: header_text(&headers, "lambda-runtime-function-error-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

/// `POST /2018-06-01/runtime/init/error`.
async fn init_error(State(emu): State<Arc<Emulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let _ = emu.reported.send(Reported::InitError {
        error_type: header_text(&headers, "lambda-runtime-function-error-type"),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn unexpected(
    State(emu): State<Arc<Emulator>>,
    method: axum::http::Method,
    uri: Uri,
) -> Response {
    let _ = emu.reported.send(Reported::Unexpected {
        method: method.to_string(),
        uri: uri.to_string(),
    });
    StatusCode::NOT_FOUND.into_response()
}

/// The Runtime API of one function process, on a port of its own.
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, for `AWS_LAMBDA_RUNTIME_API`.
    pub addr: String,
    queue: mpsc::UnboundedSender<Invocation>,
    /// What the function reported, in order.
    pub reported: mpsc::UnboundedReceiver<Reported>,
    polling: Arc<AtomicUsize>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Serves the Runtime API on loopback. Each event is handed out with a deadline
    /// `function_timeout` ahead; `report_polls` reports every `GET /next` as well.
    pub async fn start(function_timeout: Duration, report_polls: bool) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        let (reported_tx, reported) = mpsc::unbounded_channel();
        let polling = Arc::new(AtomicUsize::new(0));
        let emulator = Arc::new(Emulator {
            pending: AsyncMutex::new(pending),
            reported: reported_tx,
            polling: polling.clone(),
            report_polls,
            function_timeout,
            served: Mutex::new(std::collections::HashMap::new()),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .fallback(unexpected)
            .with_state(emulator);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Runtime API emulator");
        let addr = listener.local_addr().expect("emulator address").to_string();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("emulator serves");
        });
        Self {
            addr,
            queue,
            reported,
            polling,
            server,
        }
    }

    /// Queues an event for `/next`; false once the emulator is gone.
    pub fn queue(&self, request_id: &str, body: Vec<u8>) -> bool {
        self.queue
            .send(Invocation {
                request_id: request_id.to_string(),
                body,
            })
            .is_ok()
    }

    /// `/next` requests waiting for an event right now.
    pub fn polling(&self) -> usize {
        self.polling.load(Ordering::SeqCst)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {}
}

/// The `binary` as Lambda starts a custom runtime against `api`: an environment of only what
/// Lambda sets (region eu-west-1, JSON log format), with instance metadata and the host's AWS
/// profile out of reach. Callers add their settings and where the output goes.
pub fn lambda_command(binary: &std::path::Path, api: &RuntimeApi) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "ecs-notifier")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef",
        )
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ecs-notifier")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_DEFAULT_REGION", "eu-west-1")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        // Whatever a caller enables, the function never reaches for instance metadata (a
        // non-loopback address) nor the host's AWS profile.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

// ------------------------------------------------------------------------------------------
// The function under test
// ------------------------------------------------------------------------------------------

/// The binary running against the emulator, with its captured output.
pub struct Lambda {
    child: Child,
    api: RuntimeApi,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    /// `(request id, event id the log line must name)` of every invocation, in order.
    invocations: Vec<(String, String)>,
}

/// Captured output of the function once it is stopped.
pub struct Output {
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// `(request id, event id the log line must name)` of every invocation, in order.
    pub invocations: Vec<(String, String)>,
}

/// How the function ended on its own (`Lambda::exit_within`), and everything it wrote and
/// reported.
pub struct Exit {
    pub status: ExitStatus,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    /// What reached the Runtime API, in order (e.g. an `/init/error`).
    pub reported: Vec<Reported>,
}

fn capture<R>(stream: R, sink: Arc<Mutex<Vec<String>>>) -> JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().expect("log sink").push(line);
        }
    })
}

impl Lambda {
    /// Serves the Runtime API and starts the binary against it. The function's environment holds
    /// only what Lambda sets (region eu-west-1, JSON log format) and `env`, applied in order
    /// (a later pair overrides an earlier one): nothing of the host's.
    pub async fn spawn(env: &[(&str, &str)]) -> Self {
        let api = RuntimeApi::start(FUNCTION_TIMEOUT, false).await;
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_ecs-notifier"));
        let mut child = lambda_command(binary, &api)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the ecs-notifier binary");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            capture(child.stdout.take().expect("stdout piped"), stdout.clone()),
            capture(child.stderr.take().expect("stderr piped"), stderr.clone()),
        ];
        Self {
            child,
            api,
            stdout,
            stderr,
            readers,
            invocations: Vec::new(),
        }
    }

    /// Waits up to `within` until the function is long-polling `/next` (idle, ready for an
    /// event), so that events queued on several functions at once are answered together.
    pub async fn wait_polling(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.api.polling() == 0 {
            self.assert_alive("while waiting for it to poll /next");
            if Instant::now() >= deadline {
                panic!(
                    "the function did not poll /next within {within:?}\n{}",
                    self.output_so_far()
                );
            }
            sleep(Duration::from_millis(5)).await;
        }
    }

    /// Queues an event for `/next` without waiting for its result (for a function about to be
    /// killed mid-invocation).
    pub fn send(&mut self, request_id: &str, payload: &Value, log_event_id: &str) {
        self.invocations
            .push((request_id.to_string(), log_event_id.to_string()));
        assert!(
            self.api.queue(
                request_id,
                serde_json::to_vec(payload).expect("payload serializes")
            ),
            "emulator queue open"
        );
    }

    /// Kills the function wherever it is (as Lambda does on a crash or a timeout) and returns
    /// everything it wrote; unlike `stop`, it may be mid-invocation or already gone.
    pub async fn kill(mut self) -> Output {
        let _ = self.child.start_kill();
        timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("the function exits after kill")
            .expect("wait for the function");
        for reader in self.readers.drain(..) {
            timeout(Duration::from_secs(5), reader)
                .await
                .expect("output readers finish once the process is gone")
                .expect("output reader task");
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().expect("stdout"));
        let stderr = std::mem::take(&mut *self.stderr.lock().expect("stderr"));
        Output {
            stdout,
            stderr,
            invocations: std::mem::take(&mut self.invocations),
        }
    }

    pub fn output_so_far(&self) -> String {
        let out = self.stdout.lock().expect("stdout").join("\n");
        let err = self.stderr.lock().expect("stderr").join("\n");
        format!("--- stdout ---\n{out}\n--- stderr ---\n{err}")
    }

    /// Asserts the process has not exited.
    pub fn assert_alive(&mut self, when: &str) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => panic!(
                "the function exited ({status}) {when}\n{}",
                self.output_so_far()
            ),
            Err(err) => panic!("cannot poll the function process: {err}"),
        }
    }

    /// Delivers one event as Lambda would and returns what the function reported for it.
    /// `log_event_id` is the `event_id` its log line must carry.
    pub async fn invoke(
        &mut self,
        request_id: &str,
        payload: &Value,
        log_event_id: &str,
    ) -> Reported {
        self.invocations
            .push((request_id.to_string(), log_event_id.to_string()));
        assert!(
            self.api.queue(
                request_id,
                serde_json::to_vec(payload).expect("payload serializes")
            ),
            "emulator queue open"
        );
        let deadline = Instant::now() + INVOCATION_TIMEOUT;
        let reported = tokio::select! {
            reported = self.api.reported.recv() => reported.expect("emulator alive"),
            status = self.child.wait() => {
                // Let the readers drain what the process wrote before it died.
                sleep(Duration::from_millis(200)).await;
                panic!(
                    "the function exited ({status:?}) while handling {request_id}\n{}",
                    self.output_so_far()
                )
            }
            _ = tokio::time::sleep_until(deadline) => panic!(
                "no result for invocation {request_id} within {INVOCATION_TIMEOUT:?}\n{}",
                self.output_so_far()
            ),
        };
        match &reported {
            Reported::Response { request_id: id, .. } | Reported::Error { request_id: id, .. }
                if id == request_id => {}
            other => panic!(
                "expected the result of {request_id}, the Runtime API got {other:?}\n{}",
                self.output_so_far()
            ),
        }
        reported
    }

    /// Asserts nothing else reached the Runtime API (no stray result, init error or path).
    pub fn assert_nothing_else_reported(&mut self) {
        if let Ok(extra) = self.api.reported.try_recv() {
            panic!(
                "unexpected report to the Runtime API: {extra:?}\n{}",
                self.output_so_far()
            );
        }
    }

    /// Stops the function (it must still be running) and returns everything it wrote.
    pub async fn stop(mut self) -> Output {
        self.assert_alive("before the end of the test");
        // Give the process a moment to flush the last line, then kill it.
        sleep(Duration::from_millis(100)).await;
        self.assert_nothing_else_reported();
        self.child.start_kill().expect("kill the function");
        timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("the function exits after kill")
            .expect("wait for the function");
        for reader in self.readers.drain(..) {
            timeout(Duration::from_secs(5), reader)
                .await
                .expect("output readers finish once the process is gone")
                .expect("output reader task");
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().expect("stdout"));
        let stderr = std::mem::take(&mut *self.stderr.lock().expect("stderr"));
        Output {
            stdout,
            stderr,
            invocations: std::mem::take(&mut self.invocations),
        }
    }

    /// Waits up to `within` for the function to exit by itself (it must not have been sent an
    /// event), then returns its exit status, everything it wrote and everything it reported.
    pub async fn exit_within(mut self, within: Duration) -> Exit {
        let status = match timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for the function"),
            Err(_) => panic!(
                "the function did not exit within {within:?}\n{}",
                self.output_so_far()
            ),
        };
        for reader in self.readers.drain(..) {
            timeout(Duration::from_secs(5), reader)
                .await
                .expect("output readers finish once the process is gone")
                .expect("output reader task");
        }
        // A report sent just before the exit is in the channel by now: the handlers answer
        // only after sending it, and the function waits for the answer.
        let mut reported = Vec::new();
        while let Ok(report) = self.api.reported.try_recv() {
            reported.push(report);
        }
        let stdout = std::mem::take(&mut *self.stdout.lock().expect("stdout"));
        let stderr = std::mem::take(&mut *self.stderr.lock().expect("stderr"));
        Exit {
            status,
            stdout,
            stderr,
            reported,
        }
    }
}

pub fn expect_response(name: &str, reported: &Reported) -> Value {
    match reported {
        Reported::Response { body, .. } => serde_json::from_str(body)
            .unwrap_or_else(|err| panic!("{name}: response body is not JSON ({err}): {body}")),
        other => {
            panic!("{name}: expected a /response (the event must not be retried), got {other:?}")
        }
    }
}
