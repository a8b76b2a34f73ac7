//! Lambda function `contacts-sync`: see `functions::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::runtime::serve_http(functions::sync::start).await
}
