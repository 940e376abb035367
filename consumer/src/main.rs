//! The Lambda bootstrap: configuration and clients once at init, then the Runtime API loop.

use lambda_runtime::{LambdaEvent, service_fn};
use twitter_consumer::{App, Config, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    twitter_consumer::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            // One line, and a non-zero exit: Lambda reports it as the init error.
            eprintln!("twitter-consumer: {error}");
            std::process::exit(2);
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
