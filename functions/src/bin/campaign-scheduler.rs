//! Lambda function `campaign-scheduler`: EventBridge every minute, see `functions::sending`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    functions::runtime::serve_event(functions::sending::schedule_tick).await
}
