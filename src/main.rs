//! The Lambda function's entry point, and `render` for trying events locally.

use std::sync::Arc;

use ecs_notifier::aws::Aws;
use ecs_notifier::config::Config;
use ecs_notifier::enricher::Enricher;
use ecs_notifier::handler::Notifier;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(command) = args.first() {
        match command.as_str() {
            "render" => std::process::exit(ecs_notifier::cli::run(&args[1..])),
            "--version" => {
                println!("ecs-notifier {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            _ => {
                eprintln!("usage: ecs-notifier                       (as a Lambda function)\n       ecs-notifier render [--json] EVENT.json…");
                std::process::exit(2);
            }
        }
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            // One clear line naming the setting; values of secrets are never part of the error.
            tracing::error!(error = %err, "invalid configuration; the function cannot start");
            return Err(err.into());
        }
    };
    // AWS is loaded on first use only: here when a secret is stored in AWS, else by the first
    // event that needs enrichment.
    let aws = Arc::new(Aws::new(config.enrich_role.clone()));
    if !config.stored_secrets().is_empty() {
        if let Err(err) = config.resolve_secrets(aws.base().await).await {
            tracing::error!(error = %err, "cannot read a secret; the function cannot start");
            return Err(err.into());
        }
    }
    if config.slack_bot.is_some() {
        tracing::info!("Slack app mode: posting with chat.postMessage");
    } else if config.slack_webhook.is_none() && config.slack_routes.is_empty() {
        tracing::info!("Slack sink off: neither SLACK_WEBHOOK_URL nor SLACK_BOT_TOKEN is set");
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
        .then(|| Enricher::with_aws(aws.clone(), config.enrich));
    let notifier: &'static Notifier =
        Box::leak(Box::new(Notifier::with_enricher(&config, enricher)?));
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
