//! The Lambda function's entry point, and the command line (`render`) for trying events locally.

use std::sync::Arc;

use ecs_notifier::aws::Aws;
use ecs_notifier::config::Config;
use ecs_notifier::enrich::Enricher;
use ecs_notifier::handler::Notifier;
use ecs_notifier::state::Table;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    // In AWS Lambda, the Runtime API to poll is set; outside, a command is needed.
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    if let Some(status) = ecs_notifier::cli::command_line(std::env::args_os(), in_lambda) {
        std::process::exit(status);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let notifier = match start().await {
        Ok(notifier) => notifier,
        Err((kind, err)) => {
            // One clear line naming the setting; values of secrets are never part of the error.
            tracing::error!(error = %err, "the function cannot start");
            report_init_error(kind, &err.to_string()).await;
            return Err(err);
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        notifier
            .handle_invocation(
                &event.payload,
                event.context.deadline(),
                &event.context.invoked_function_arn,
            )
            .await
    }))
    .await
}

/// Reads the configuration and its secrets and builds the notifier, once per process.
async fn start() -> Result<&'static Notifier, (&'static str, lambda_runtime::Error)> {
    let mut config = Config::from_env().map_err(|e| ("Runtime.ConfigError", e.into()))?;
    // AWS is loaded on first use only: here when a secret is stored in AWS, else by the first
    // event that needs enrichment.
    let aws = Arc::new(Aws::new(config.enrich_role.clone()));
    if !config.stored_secrets().is_empty() {
        config
            .resolve_secrets(aws.base().await)
            .await
            .map_err(|e| ("Runtime.SecretError", e.into()))?;
    }
    if config.slack_bot.is_some() {
        tracing::info!("Slack app mode: posting with chat.postMessage");
    } else if config.slack_webhook.is_none() && config.slack_routes.is_empty() {
        tracing::info!("Slack sink off: neither SLACK_WEBHOOK_URL nor SLACK_BOT_TOKEN is set");
    }
    if config.teams.is_on() {
        tracing::info!("Teams sink on: posting Adaptive Cards to Workflows");
    }
    if config.datadog.is_none() {
        tracing::info!("Datadog sink off: DD_API_KEY is not set");
    }
    if !config.enrichment {
        tracing::info!("enrichment off: ENRICHMENT is false");
    }
    // Built once per process and shared by every invocation.
    let enricher = config
        .enrichment
        .then(|| Enricher::with_aws(aws.clone(), config.enrich.clone()));
    let mut notifier =
        Notifier::with_enricher(&config, enricher).map_err(|e| ("Runtime.StartError", e.into()))?;
    notifier = notifier.with_buttons(&config, aws.clone());
    if let Some(name) = &config.state_table {
        notifier = notifier.with_state(Table::new(aws.clone(), name.clone()));
    }
    Ok(Box::leak(Box::new(notifier)))
}

/// Tells Lambda why the function could not start (Runtime API `/runtime/init/error`), so the
/// reason shows in the invocation's error, not only in the logs.
async fn report_init_error(kind: &str, message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    let body = serde_json::json!({ "errorType": kind, "errorMessage": message });
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", kind)
        .json(&body)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    if let Err(err) = sent {
        tracing::warn!(error = %err.without_url(), "could not report the start failure to the Runtime API");
    }
}
