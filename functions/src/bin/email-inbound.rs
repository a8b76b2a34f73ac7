//! Lambda function `email-inbound`: see `functions::routes::CONSUMERS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    functions::runtime::serve_queue(functions::replies::inbound).await
}
