//! The service clients with one interceptor seeing every request: how the benchmarks count
//! requests (`counting`) and record answers (`replay`) through the code Lambda runs.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use mailing::aws::{Clients, OnFirstUse};

/// One service's client from its configuration builder, the interceptor added, constructed on
/// first use as `Clients::new` constructs the functions' own.
macro_rules! intercepted {
    ($client:ty, $sdk:expr, $seen:expr, |$config:ident| $builder:expr) => {{
        let ($config, seen) = ($sdk.clone(), $seen.clone());
        OnFirstUse::new(move || <$client>::from_conf($builder.interceptor(seen.clone()).build()))
    }};
}

pub fn clients(sdk: &SdkConfig, interceptor: impl Intercept + Clone + 'static) -> Clients {
    Clients {
        dynamodb: intercepted!(aws_sdk_dynamodb::Client, sdk, interceptor, |sdk| {
            aws_sdk_dynamodb::config::Builder::from(&sdk)
        }),
        s3: intercepted!(aws_sdk_s3::Client, sdk, interceptor, |sdk| {
            mailing::aws::s3_config(&sdk)
        }),
        sqs: intercepted!(aws_sdk_sqs::Client, sdk, interceptor, |sdk| {
            aws_sdk_sqs::config::Builder::from(&sdk)
        }),
        sesv2: intercepted!(aws_sdk_sesv2::Client, sdk, interceptor, |sdk| {
            aws_sdk_sesv2::config::Builder::from(&sdk)
        }),
    }
}
