//! Lambda function `sender-profile-update`: see `functions::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::runtime::serve_http(functions::sender_profiles::update).await
}
