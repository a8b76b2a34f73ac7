//! Lambda function `email-unsubscribe`: see `functions::routes::ROUTES` (one route per method).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::runtime::serve_function("email-unsubscribe").await
}
