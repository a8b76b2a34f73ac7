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
        Self::new(&load_config().await)
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

/// The SDK's configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`), with
/// an HTTPS client that trusts the roots compiled into the binary.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

/// The SDK's default client (rustls on aws-lc, the same timeouts and pool) but for its roots:
/// by default it reads every certificate the image holds on its first request — a file and a
/// directory of 147 on Debian, each read and parsed, 6 ms of a cold start here — where Mozilla's
/// roots compiled in cost no file at all. They are the roots AWS's endpoints chain to (Amazon
/// Trust Services, and any other public CA an endpoint may use), and the set Amazon Linux's
/// own bundle is made from; the clients of other providers (`https`) keep the system's roots.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let roots = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem_roots());
    let context = tls::TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("the compiled-in roots make a TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The compiled-in roots as the PEM the SDK's trust store takes.
fn pem_roots() -> Vec<u8> {
    use base64::Engine;
    let mut pem = String::new();
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        pem.push_str(&base64::engine::general_purpose::STANDARD.encode(cert.as_ref()));
        pem.push_str("\n-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// S3's configuration from the shared one: path-style addressing when an endpoint is given.
pub fn s3_config(sdk: &SdkConfig) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some())
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_compiled_in_roots_read_back_whole_and_include_amazon_trust_services() {
        let pem = super::pem_roots();
        let read: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(
            read.iter()
                .zip(webpki_root_certs::TLS_SERVER_ROOT_CERTS)
                .all(|(a, b)| a == b)
        );
        let mut roots = rustls::RootCertStore::empty();
        let (added, refused) = roots.add_parsable_certificates(read);
        assert_eq!(refused, 0);
        assert!(added > 100, "{added} roots");
        // Amazon Trust Services' five (Amazon Root CA 1–4, Starfield Services G2), which AWS's
        // endpoints chain to.
        let subjects: Vec<String> = roots
            .roots
            .iter()
            .map(|anchor| String::from_utf8_lossy(anchor.subject.as_ref()).into_owned())
            .collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(subjects.iter().any(|s| s.contains(name)), "{name}");
        }
    }
}
