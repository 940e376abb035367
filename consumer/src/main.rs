//! The Lambda bootstrap: configuration and clients once at init, then the Runtime API loop.

use lambda_runtime::{LambdaEvent, service_fn};
use twitter_consumer::runtime_api::{RUNTIME_API_ENV, report_init_error};
use twitter_consumer::{App, Config, handle};

/// A configuration error: the same status the producer's unit treats as "do not restart".
const CONFIGURATION_EXIT_STATUS: i32 = 2;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    twitter_consumer::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            // One line on stderr, the same line to Lambda as the init error (so the console says
            // why), and a non-zero exit.
            let message = error.to_string();
            eprintln!("twitter-consumer: {message}");
            if let Ok(runtime_api) = std::env::var(RUNTIME_API_ENV)
                && let Err(report) = report_init_error(&runtime_api, &message).await
            {
                eprintln!("twitter-consumer: {report}");
            }
            std::process::exit(CONFIGURATION_EXIT_STATUS);
        }
    };
    let sdk_config = aws_config::load_from_env().await;
    let app = App::from_sdk_config(&sdk_config, config);
    // Opening the DynamoDB connection (TLS, credentials) now, beside the first /next poll, takes
    // the slowest part of a cold start off the first batch without delaying the poll itself.
    tokio::spawn({
        let app = app.clone();
        async move { app.warm_up().await }
    });
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(app, event).await
    }))
    .await
}
