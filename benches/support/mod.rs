//! Shared by the runtime and load harnesses: a Lambda Runtime API emulator on loopback (the
//! protocol AWS uses: `GET /next`, `POST …/response`, `…/error`, `/init/error`) that reports
//! what the function did, and small helpers for the loopback sinks.
// Each harness compiles this module on its own and reads only part of what it reports.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex as AsyncMutex};
use tokio::task::JoinHandle;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:ecs-notifier";
/// The deadline each invocation gets.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// What the function did at the Runtime API, with when it reached the emulator.
#[derive(Debug)]
pub enum Reported {
    /// A `GET /next` arrived (before any event is handed out).
    Polled(Instant),
    /// `/response` of an invocation, with the time since its event was handed out.
    Response {
        request_id: String,
        latency: Duration,
        body: String,
    },
    Error {
        request_id: String,
        body: String,
    },
    InitError {
        body: String,
    },
    /// A request to any other path.
    Unexpected {
        uri: String,
    },
}

struct Emulator {
    pending: AsyncMutex<mpsc::UnboundedReceiver<(String, Vec<u8>)>>,
    reported: mpsc::UnboundedSender<Reported>,
    /// When each outstanding invocation was handed out.
    served: Mutex<HashMap<String, Instant>>,
}

async fn next_invocation(State(emu): State<Arc<Emulator>>) -> Response {
    let _ = emu.reported.send(Reported::Polled(Instant::now()));
    let Some((request_id, body)) = emu.pending.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = (SystemTime::now() + FUNCTION_TIMEOUT)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .to_string();
    let headers = [
        ("lambda-runtime-aws-request-id", request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline_ms),
        ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into()),
        (
            "lambda-runtime-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
        ),
        ("content-type", "application/json".into()),
    ];
    lock(&emu.served).insert(request_id, Instant::now());
    (StatusCode::OK, headers, body).into_response()
}

async fn invocation_response(
    State(emu): State<Arc<Emulator>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let served = lock(&emu.served).remove(&request_id);
    let latency = served.map(|at| at.elapsed()).unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = emu.reported.send(Reported::Response {
        request_id,
        latency,
        body,
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn invocation_error(
    State(emu): State<Arc<Emulator>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> Response {
    lock(&emu.served).remove(&request_id);
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = emu.reported.send(Reported::Error { request_id, body });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn init_error(State(emu): State<Arc<Emulator>>, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let _ = emu.reported.send(Reported::InitError { body });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

async fn unexpected_call(State(emu): State<Arc<Emulator>>, uri: Uri) -> StatusCode {
    let _ = emu.reported.send(Reported::Unexpected {
        uri: uri.to_string(),
    });
    StatusCode::NOT_FOUND
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `series` array of a Datadog request body.
pub fn series_of(body: &[u8]) -> Option<Vec<Value>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    match v.get_mut("series")?.take() {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

/// One emulator per function process, on a port of its own.
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, for `AWS_LAMBDA_RUNTIME_API`.
    pub addr: String,
    /// `(request id, event body)` to hand out.
    pub queue: mpsc::UnboundedSender<(String, Vec<u8>)>,
    pub reported: mpsc::UnboundedReceiver<Reported>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, Error> {
        let (queue, pending) = mpsc::unbounded_channel();
        let (reported_tx, reported) = mpsc::unbounded_channel();
        let emulator = Arc::new(Emulator {
            pending: AsyncMutex::new(pending),
            reported: reported_tx,
            served: Mutex::new(HashMap::new()),
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
            .fallback(unexpected_call)
            .with_state(emulator);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            queue,
            reported,
            server,
        })
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}
