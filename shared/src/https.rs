//! The one outbound HTTP(S) client beyond the AWS SDK's: rustls trusting Mozilla's roots compiled
//! into the binary (the SDK's trust store too, `aws`), HTTP/1.1, `http://` allowed for the local
//! stack's loopback stubs.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Built once per cold start by whoever needs it, never per request. The roots come parsed from
/// their DER, with no file to read (the system's were 148 files on Debian) and no PEM to decode.
pub fn client() -> anyhow::Result<HttpsClient> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A client built on first use and shared by the clones of its owner: a cold start that never
/// calls out never loads the roots.
#[derive(Clone, Default)]
pub struct Lazy(std::sync::Arc<std::sync::OnceLock<HttpsClient>>);

impl std::fmt::Debug for Lazy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("https::Lazy")
    }
}

/// An answer read whole: status, headers and at most the body limit asked.
pub struct Answered {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Lazy {
    fn client(&self) -> anyhow::Result<&HttpsClient> {
        if let Some(client) = self.0.get() {
            return Ok(client);
        }
        let client = client()?;
        Ok(self.0.get_or_init(|| client))
    }

    /// Sends `request` and reads its answer, giving up after `timeout` or past `max_body`
    /// bytes.
    pub async fn call(
        &self,
        request: http::Request<Full<Bytes>>,
        timeout: std::time::Duration,
        max_body: usize,
    ) -> anyhow::Result<Answered> {
        use http_body_util::{BodyExt, Limited};
        let client = self.client()?;
        let exchange = async {
            let response = client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!(e))?
                .to_bytes();
            anyhow::Ok(Answered {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {timeout:?}"))?
    }
}
