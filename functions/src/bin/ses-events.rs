//! Lambda function `ses-events`: see `functions::routes::CONSUMERS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    functions::runtime::serve_queue(functions::tracking::events).await
}
