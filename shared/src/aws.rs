//! AWS clients, each built at most once per cold start, when a request first needs it. Every
//! client honours `AWS_ENDPOINT_URL` (through aws-config); S3 then switches to path-style
//! addressing, which emulators need.

use std::sync::{Arc, OnceLock};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// One client per service, each constructed when a request first needs it: a function that
/// never calls a service does not pay for its client at its cold start.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: OnFirstUse<aws_sdk_dynamodb::Client>,
    pub s3: OnFirstUse<aws_sdk_s3::Client>,
    pub sqs: OnFirstUse<aws_sdk_sqs::Client>,
    pub sesv2: OnFirstUse<aws_sdk_sesv2::Client>,
}

impl Clients {
    /// Loads the shared SDK configuration (the expensive part) from the environment.
    pub async fn from_env() -> Self {
        Self::new(&load_config().await)
    }

    pub fn new(sdk: &SdkConfig) -> Self {
        let (dynamodb, s3, sqs, sesv2) = (sdk.clone(), sdk.clone(), sdk.clone(), sdk.clone());
        Self {
            dynamodb: OnFirstUse::new(move || aws_sdk_dynamodb::Client::new(&dynamodb)),
            s3: OnFirstUse::new(move || aws_sdk_s3::Client::from_conf(s3_config(&s3).build())),
            sqs: OnFirstUse::new(move || aws_sdk_sqs::Client::new(&sqs)),
            sesv2: OnFirstUse::new(move || aws_sdk_sesv2::Client::new(&sesv2)),
        }
    }
}

/// A service client constructed on first use and shared by the clones of its owner. Each
/// construction deserializes the SDK's endpoint partitions and compiles their region patterns,
/// and most functions call one or two of the four services.
#[derive(Clone)]
pub struct OnFirstUse<C> {
    client: Arc<OnceLock<C>>,
    construct: Arc<dyn Fn() -> C + Send + Sync>,
}

impl<C> OnFirstUse<C> {
    pub fn new(construct: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            client: Arc::default(),
            construct: Arc::new(construct),
        }
    }
}

impl<C> std::ops::Deref for OnFirstUse<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.client.get_or_init(|| (self.construct)())
    }
}

impl<C> std::fmt::Debug for OnFirstUse<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnFirstUse")
            .field("constructed", &self.client.get().is_some())
            .finish()
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
/// by default it reads every certificate the image holds — a file and a directory of 147 on
/// Debian, each read and parsed — where Mozilla's roots compiled in cost no file at all. They are
/// the roots AWS's endpoints chain to (Amazon Trust Services, and any other public CA an endpoint
/// may use), and the set Amazon Linux's own bundle is made from; the clients of other providers
/// (`https`) trust the same ones.
fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let roots = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(pem_roots());
    let context = tls::TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("the compiled-in roots make a TLS context");
    SharedHttpClient::new(ConnectorOnFirstRequest(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
    ))
}

/// The SDK's client, but for when it builds its TLS connector. The SDK builds one, parsing every
/// root certificate, each time a service client is constructed (to surface a bad trust store at
/// start-up; five for our four clients, a sixth for the secrets' client) and once more, kept, on
/// the first request: about 0.6 ms each here, which `perf` showed to be most of an init's own CPU.
/// Here only the kept one is built, when a request first needs it; a function that answers
/// without calling AWS parses none. The compiled-in roots cannot be bad, and a unit test reads
/// every one of them back.
#[derive(Debug)]
struct ConnectorOnFirstRequest(SharedHttpClient);

impl HttpClient for ConnectorOnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_sqs::config::ConfigBag;
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    use super::*;

    /// Counts the connectors the SDK asks for, as its own client would build them.
    #[derive(Debug, Default)]
    struct CountingClient(Arc<AtomicUsize>);

    impl HttpClient for CountingClient {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            unreachable!("no request is made")
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            // What the SDK's hyper client does here: build a connector, roots and all.
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    async fn sdk_config(client: SharedHttpClient) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .http_client(client)
            .load()
            .await
    }

    fn construct_every_client(clients: &Clients) {
        let _ = (
            &*clients.dynamodb,
            &*clients.s3,
            &*clients.sqs,
            &*clients.sesv2,
        );
    }

    #[tokio::test]
    async fn constructing_the_service_clients_builds_no_tls_connector_until_a_request_needs_one() {
        let built = Arc::new(AtomicUsize::new(0));
        let counting = || SharedHttpClient::new(CountingClient(built.clone()));
        // The SDK's own behaviour, which the wrapper exists for: a connector built for each
        // client (five for our four), none of them kept.
        construct_every_client(&Clients::new(&sdk_config(counting()).await));
        assert!(built.swap(0, Ordering::SeqCst) >= 4);
        let sdk = sdk_config(SharedHttpClient::new(ConnectorOnFirstRequest(counting()))).await;
        construct_every_client(&Clients::new(&sdk));
        assert_eq!(built.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_service_client_is_constructed_when_first_used_and_once_for_every_clone() {
        // The SDK's own client counts one connector per service client constructed.
        let built = Arc::new(AtomicUsize::new(0));
        let sdk = sdk_config(SharedHttpClient::new(CountingClient(built.clone()))).await;
        // Loading the configuration builds one of its own: count from there.
        let loaded = built.load(Ordering::SeqCst);
        let clients = Clients::new(&sdk);
        let clone = clients.clone();
        assert_eq!(built.load(Ordering::SeqCst), loaded, "none before use");
        let _ = clients.sqs.config();
        let constructed = built.load(Ordering::SeqCst);
        assert!(constructed > loaded);
        let _ = clone.sqs.config();
        let _ = clients.sqs.config();
        assert_eq!(
            built.load(Ordering::SeqCst),
            constructed,
            "one SQS client shared"
        );
        let _ = clone.dynamodb.config();
        assert!(
            built.load(Ordering::SeqCst) > constructed,
            "DynamoDB's on its first use"
        );
    }

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
