//! The floor `make bench` compares ecs-notifier against: an empty Rust Lambda function that
//! echoes its payload, on the same runtime (`lambda_runtime`, a current-thread tokio runtime,
//! the default tracing subscriber) and built with the same release profile:
//!
//! ```sh
//! cargo build --release --example empty_lambda   # target/release/examples/empty_lambda
//! ```

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            lambda_runtime::tracing::init_default_subscriber();
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
                Ok::<_, Error>(event.payload)
            }))
            .await
        })
}
