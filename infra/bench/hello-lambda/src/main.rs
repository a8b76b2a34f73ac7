//! Hello world on the Lambda runtime: answers every event with itself. `infra/dev bench
//! coldstart` builds it with the release profile beside the functions and measures it the same
//! way, as the floor each function's cold start is compared with.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
