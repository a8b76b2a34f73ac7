//! AWS clients, built once per cold start. Every client honours `AWS_ENDPOINT_URL` (through
//! aws-config); S3 then switches to path-style addressing, which emulators need.

use aws_config::{BehaviorVersion, SdkConfig};

#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sesv2: aws_sdk_sesv2::Client,
}

impl Clients {
    /// Loads the shared SDK configuration (the expensive part) from the environment.
    pub async fn from_env() -> Self {
        Self::new(&aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config(sdk).build()),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sesv2: aws_sdk_sesv2::Client::new(sdk),
        }
    }
}

/// S3's configuration from the shared one: path-style addressing when an endpoint is given.
pub fn s3_config(sdk: &SdkConfig) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some())
}
