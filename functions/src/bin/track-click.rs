//! Lambda function `track-click`: see `functions::routes::ROUTES` (one route per method).

use functions::routes::{Route, routes_of};

static ROUTES: [Route; 3] = routes_of("track-click");

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    functions::runtime::serve_routes(&ROUTES).await
}
