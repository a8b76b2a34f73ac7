//! The service clients with one interceptor seeing every request: how the benchmarks count
//! requests (`counting`) and record answers (`replay`) through the code Lambda runs.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use mailing::aws::{Clients, OnFirstUse};

pub fn clients(sdk: &SdkConfig, interceptor: impl Intercept + Clone + 'static) -> Clients {
    let (sdk, seen) = (sdk.clone(), interceptor);
    Clients {
        dynamodb: OnFirstUse::new({
            let (sdk, seen) = (sdk.clone(), seen.clone());
            move || {
                aws_sdk_dynamodb::Client::from_conf(
                    aws_sdk_dynamodb::config::Builder::from(&sdk)
                        .interceptor(seen.clone())
                        .build(),
                )
            }
        }),
        s3: OnFirstUse::new({
            let (sdk, seen) = (sdk.clone(), seen.clone());
            move || {
                aws_sdk_s3::Client::from_conf(
                    mailing::aws::s3_config(&sdk)
                        .interceptor(seen.clone())
                        .build(),
                )
            }
        }),
        sqs: OnFirstUse::new({
            let (sdk, seen) = (sdk.clone(), seen.clone());
            move || {
                aws_sdk_sqs::Client::from_conf(
                    aws_sdk_sqs::config::Builder::from(&sdk)
                        .interceptor(seen.clone())
                        .build(),
                )
            }
        }),
        sesv2: OnFirstUse::new(move || {
            aws_sdk_sesv2::Client::from_conf(
                aws_sdk_sesv2::config::Builder::from(&sdk)
                    .interceptor(seen.clone())
                    .build(),
            )
        }),
    }
}
