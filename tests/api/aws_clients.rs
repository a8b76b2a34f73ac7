use aws_sdk_s3::primitives::ByteStream;

use crate::support::TestStack;

/// Nothing here can reach AWS: a client that ignored `AWS_ENDPOINT_URL` would fail, and an S3
/// client using virtual-hosted addressing would look up `bucket.127.0.0.1` and fail too.
#[tokio::test]
async fn every_client_reaches_the_emulator_and_s3_addresses_buckets_by_path() {
    let stack = TestStack::new().await;
    let aws = &stack.app().aws;
    let bucket = format!("t-{}", uuid::Uuid::new_v4().simple());
    aws.s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key("imports/a b.csv")
        .body(ByteStream::from_static(b"email\nzoe@example.com\n"))
        .send()
        .await
        .expect("put object");
    let object = aws
        .s3
        .get_object()
        .bucket(&bucket)
        .key("imports/a b.csv")
        .send()
        .await
        .expect("get object");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&bytes[..], b"email\nzoe@example.com\n");

    aws.sqs.list_queues().send().await.expect("SQS answers");
    aws.sesv2
        .list_email_identities()
        .send()
        .await
        .expect("SES v2 answers");
    aws.dynamodb
        .list_tables()
        .send()
        .await
        .expect("DynamoDB answers");
}
