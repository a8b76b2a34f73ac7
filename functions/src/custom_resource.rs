//! CloudFormation custom resources: what a request asks, and the answer CloudFormation waits
//! for on the request's presigned URL. An answer is always sent, failure included: without one
//! the stack hangs for an hour.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as CfnRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus as Status,
};
use bytes::Bytes;
use http_body_util::Full;

pub type Request = CfnRequest;

/// Whether the resource is being created or updated (do the work) or deleted.
pub fn is_delete(request: &Request) -> bool {
    matches!(request, CfnRequest::Delete(_))
}

/// Sends `outcome` for `request`: `Ok` with the resource's attributes, or the failure reason.
pub async fn answer(
    request: &Request,
    physical_id: &str,
    outcome: Result<HashMap<String, String>, String>,
) -> anyhow::Result<()> {
    let (url, stack_id, request_id, logical_id) = match request {
        CfnRequest::Create(r) => (
            &r.response_url,
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
        ),
        CfnRequest::Update(r) => (
            &r.response_url,
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
        ),
        CfnRequest::Delete(r) => (
            &r.response_url,
            &r.stack_id,
            &r.request_id,
            &r.logical_resource_id,
        ),
        _ => anyhow::bail!("unknown custom resource request type"),
    };
    let mut response = CloudFormationCustomResourceResponse::default();
    match outcome {
        Ok(data) => {
            response.status = Status::Success;
            response.data = data;
        }
        Err(reason) => {
            response.status = Status::Failed;
            response.reason = Some(reason);
        }
    }
    response.physical_resource_id = physical_id.to_owned();
    response.stack_id = stack_id.clone();
    response.request_id = request_id.clone();
    response.logical_resource_id = logical_id.clone();
    put(url, serde_json::to_vec(&response)?).await
}

/// PUT to the presigned S3 URL; it is signed without a content type, so none is sent.
async fn put(url: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let client = mailing::https::client()?;
    let request = http::Request::put(url)
        .header(http::header::CONTENT_TYPE, "")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)))?;
    let response = client.request(request).await?;
    anyhow::ensure!(
        response.status().is_success(),
        "the response URL answered {}",
        response.status()
    );
    Ok(())
}
