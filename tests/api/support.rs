//! A local stack per test, and a caller that speaks to it through the dev gateway.

use std::path::PathBuf;
use std::time::Duration;

use devstack::auth::{LocalIssuer, random_secret};
pub use devstack::counting::spent;
use devstack::gateway::{Gateway, HttpRequest};
use devstack::stack::LocalStack;
use lambda_http::Body;
use mailing::domain::ArtistId;
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    devstack::repo_root()
}

pub struct TestStack {
    pub gateway: Gateway,
    pub artist: ArtistId,
    pub requests: devstack::counting::RequestCounter,
    pub consumers: Vec<devstack::consumers::LocalConsumer>,
    /// Logical id → local physical name (a table's name, a queue's URL, a topic's ARN).
    pub refs: std::collections::BTreeMap<String, String>,
    /// The functions' environment, as the template gives it (keys included).
    pub environment: std::collections::BTreeMap<String, String>,
    /// The other providers' credentials, to sign their webhooks with.
    pub providers: devstack::providers::LocalProviders,
}

impl TestStack {
    pub async fn new() -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "integration tests need the emulator: run them with infra/dev test"
        );
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let overrides = devstack::stack::local_overrides("http://127.0.0.1:9");
        let stack = LocalStack::start(&repo_root().join("template.yaml"), &prefix, overrides)
            .await
            .expect("the local stack starts");
        Self {
            gateway: Gateway {
                providers: stack.providers.clone(),
                apps: stack.apps,
                issuer: LocalIssuer::new(random_secret()),
            },
            artist: ArtistId::new(),
            requests: stack.requests,
            consumers: stack.consumers,
            refs: stack.provisioned.refs,
            environment: stack.environment,
            providers: stack.providers,
        }
    }

    /// Lets every SQS event source run until its queue is empty, as Lambda would.
    pub async fn drain_queues(&self) -> usize {
        self.drain_queues_of(&self.gateway.apps).await
    }

    /// [`Self::drain_queues`] with the functions seeing `app`'s configuration (each with its
    /// own keys still).
    pub async fn drain_queues_with(&self, app: &mailing::App) -> usize {
        self.drain_queues_of(&self.gateway.apps.with(app.clone()))
            .await
    }

    async fn drain_queues_of(&self, apps: &devstack::apps::FunctionApps) -> usize {
        let mut total = 0;
        for local in &self.consumers {
            total += devstack::consumers::drain(apps, local)
                .await
                .expect("the consumer runs");
        }
        total
    }

    /// Drains every queue but the events queue: the sending path alone.
    pub async fn drain_sending(&self) -> usize {
        let mut total = 0;
        for local in self
            .consumers
            .iter()
            .filter(|c| c.consumer.function != "ses-events")
        {
            total += devstack::consumers::drain(&self.gateway.apps, local)
                .await
                .expect("the consumer runs");
        }
        total
    }

    /// Runs one batch of `function`'s queue, as one invocation of its event source would.
    pub async fn poll_once(&self, function: &str) -> usize {
        let local = self
            .consumers
            .iter()
            .find(|c| c.consumer.function == function)
            .expect("a consumer of the route table");
        devstack::consumers::poll_once(&self.gateway.apps, local, 0)
            .await
            .expect("the consumer runs")
    }

    /// Lets `function`'s queue empty.
    pub async fn drain(&self, function: &str) -> usize {
        let local = self
            .consumers
            .iter()
            .find(|c| c.consumer.function == function)
            .expect("a consumer of the route table");
        devstack::consumers::drain(&self.gateway.apps, local)
            .await
            .expect("the consumer runs")
    }

    /// Claims `domain` for the test's artist with its ownership proof already published, as
    /// an artist who controls its DNS would: the claim is proven at once.
    pub async fn sending_domain(&self, domain: &str) -> Reply {
        self.sending_domain_through(domain, "ses").await
    }

    /// [`Self::sending_domain`], its messages carried by `provider`.
    pub async fn sending_domain_through(&self, domain: &str, provider: &str) -> Reply {
        devstack::dns::publish_proof(self.app(), self.artist, domain)
            .await
            .expect("the DNS stub takes the record");
        let registered = self
            .owner()
            .post(
                "/api/email/domains",
                &serde_json::json!({ "artist_id": self.artist.to_string(), "domain": domain, "provider": provider }),
            )
            .await;
        assert_eq!(
            registered.body["status"], "verified",
            "{:?}",
            registered.body
        );
        registered
    }

    /// Creates a campaign of the test's artist as its owner; answers its URL.
    pub async fn campaign(&self, body: serde_json::Value) -> String {
        let campaigns = format!("/api/artists/{}/campaigns", self.artist);
        let created = self.owner().post(&campaigns, &body).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        format!("{campaigns}/{}", created.body["id"].as_str().unwrap())
    }

    /// A new sending domain of the artist, verified: `{prefix}-{random}.example`.
    pub async fn new_sending_domain(&self, prefix: &str) -> String {
        let domain = format!(
            "{prefix}-{}.example",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let registered = self.sending_domain(&domain).await;
        assert_eq!(registered.status, 201, "{:?}", registered.body);
        domain
    }

    /// The artist's sender profile, with the postal address marketing mail must show.
    pub async fn sender_profile(&self) -> Reply {
        let reply = self
            .owner()
            .put(
                &format!("/api/artists/{}/sender-profile", self.artist),
                &serde_json::json!({
                    "display_name": "Lou Reed Tribute",
                    "postal_address": "Label Nova\n12 rue des Lilas\n75011 Paris, France",
                    "default_language": "fr",
                }),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply
    }

    /// A request as a mail client or a browser makes it (no token, any body), answered with
    /// status, headers and raw body.
    pub async fn raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawReply {
        let response = self
            .gateway
            .handle(HttpRequest {
                method,
                target,
                headers: headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
                body: body.to_vec(),
            })
            .await;
        let status = response.status().as_u16();
        let response_headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let response_body = match response.into_body() {
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            _ => Vec::new(),
        };
        crate::contract::check(&crate::contract::Exchange {
            method,
            target,
            request_headers: headers,
            request_body: body,
            status,
            headers: &response_headers,
            body: &response_body,
        });
        RawReply {
            status,
            headers: response_headers.into_iter().collect(),
            body: response_body,
        }
    }

    /// The stack's app, with every key: what a test's own checks read and write with.
    pub fn app(&self) -> &mailing::App {
        self.gateway.apps.all()
    }

    /// The app `function` runs with (only the keys its environment names), for a test that
    /// calls a handler itself.
    pub fn function(&self, function: &str) -> &mailing::App {
        self.gateway
            .apps
            .of(function)
            .unwrap_or_else(|| panic!("{function} is not in template.yaml"))
    }

    /// A caller holding exactly `scopes`.
    pub fn caller(&self, scopes: &[String]) -> Caller<'_> {
        self.caller_as("user-test", scopes)
    }

    /// Another user (`sub`) holding `scopes`.
    pub fn caller_as(&self, sub: &str, scopes: &[String]) -> Caller<'_> {
        let token = self
            .gateway
            .issuer
            .mint(sub, scopes, Duration::from_secs(600));
        Caller {
            stack: self,
            token: Some(token),
        }
    }

    /// A caller with every team of this test's artist.
    pub fn owner(&self) -> Caller<'_> {
        self.caller(&[format!("artist:{}:*", self.artist)])
    }

    /// A caller with one team of this test's artist.
    pub fn team(&self, role: &str) -> Caller<'_> {
        self.caller(&[format!("artist:{}:{role}", self.artist)])
    }

    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            stack: self,
            token: None,
        }
    }

    pub fn contacts_url(&self) -> String {
        format!("/api/artists/{}/contacts", self.artist)
    }
}

#[derive(Clone)]
pub struct Caller<'a> {
    stack: &'a TestStack,
    token: Option<String>,
}

#[derive(Debug)]
pub struct RawReply {
    pub status: u16,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// The fields a 422 `validation_failed` names.
    pub fn invalid_fields(&self) -> Vec<&str> {
        self.body["error"]["details"]["fields"]
            .as_array()
            .map(|fields| fields.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default()
    }
}

impl Caller<'_> {
    pub async fn send(&self, method: &str, target: &str, body: Option<&str>) -> Reply {
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(authorization) = &authorization {
            headers.push(("authorization", authorization));
        }
        let response = self
            .stack
            .raw(
                method,
                target,
                &headers,
                body.unwrap_or_default().as_bytes(),
            )
            .await;
        // A download (CSV) comes as its text, so a leak in it is seen as in JSON.
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status: response.status,
            body,
        }
    }

    pub async fn get(&self, target: &str) -> Reply {
        self.send("GET", target, None).await
    }

    /// A `GET` whose answer is not JSON (a CSV download), with `headers` besides the token.
    pub async fn get_raw(&self, target: &str, headers: &[(&str, &str)]) -> RawReply {
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(authorization) = &authorization {
            all.push(("authorization", authorization));
        }
        self.stack.raw("GET", target, &all, b"").await
    }

    pub async fn post(&self, target: &str, body: &Value) -> Reply {
        self.send("POST", target, Some(&body.to_string())).await
    }

    pub async fn put(&self, target: &str, body: &Value) -> Reply {
        self.send("PUT", target, Some(&body.to_string())).await
    }

    pub async fn delete(&self, target: &str) -> Reply {
        self.send("DELETE", target, None).await
    }

    /// Creates a contact and returns its id, failing the test if that does not work.
    pub async fn create_contact(&self, url: &str, body: Value) -> String {
        let reply = self.post(url, &body).await;
        assert_eq!(reply.status, 201, "creating {body}: {:?}", reply.body);
        reply.body["id"].as_str().unwrap().to_owned()
    }
}

/// A plain HTTP/1.1 request to a presigned URL on the emulator (loopback, no TLS), as a browser
/// or curl would send it. Returns the status and the body.
/// A sender profile as `GET` shows it, made a body `PUT` takes (its own fields removed).
pub fn profile_body(profile: &Value) -> Value {
    let mut body = profile.clone();
    for field in ["artist_id", "updated_by", "updated_at", "version"] {
        body.as_object_mut().unwrap().remove(field);
    }
    body
}

pub async fn presigned(method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (host, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    assert!(
        host.starts_with("127.0.0.1:") || host.starts_with("localhost:"),
        "{host}"
    );
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut content = response[split..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &content[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        content = decoded;
    }
    (status, content)
}

/// A one-shot HTTP server on loopback: the URL to send to, and the request it received (head
/// and body), answered with 200.
pub async fn capture_one_request() -> (String, tokio::task::JoinHandle<(String, Vec<u8>)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/response?X-Amz-Signature=abc",
        listener.local_addr().unwrap()
    );
    let handle = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            received.extend_from_slice(&buffer[..n]);
            let Some(split) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&received[..split]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if received.len() >= split + 4 + length || n == 0 {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                return (head, received[split + 4..].to_vec());
            }
        }
    });
    (url, handle)
}
