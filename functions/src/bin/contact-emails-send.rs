//! Lambda function `contact-emails-send`: see `functions::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::runtime::serve_http(functions::emails::send).await
}
