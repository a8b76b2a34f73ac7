//! A local stack per test, and a caller that speaks to it through the dev gateway.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use devstack::auth::{LocalIssuer, random_secret};
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
    pub dynamodb_requests: devstack::counting::RequestCounter,
}

impl TestStack {
    pub async fn new() -> Self {
        assert!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "integration tests need the emulator: run them with infra/dev test"
        );
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let overrides = BTreeMap::from([
            (
                "SIGNING_KEY".to_owned(),
                String::from_utf8(random_secret()).unwrap(),
            ),
            (
                "PUBLIC_BASE_URL".to_owned(),
                "http://127.0.0.1:9".to_owned(),
            ),
        ]);
        let stack = LocalStack::start(&repo_root().join("template.yaml"), &prefix, overrides)
            .await
            .expect("the local stack starts");
        Self {
            gateway: Gateway {
                app: stack.app,
                issuer: LocalIssuer::new(random_secret()),
            },
            artist: ArtistId::new(),
            dynamodb_requests: stack.dynamodb_requests,
        }
    }

    pub fn app(&self) -> &mailing::App {
        &self.gateway.app
    }

    /// A caller holding exactly `scopes`.
    pub fn caller(&self, scopes: &[String]) -> Caller<'_> {
        let token = self
            .gateway
            .issuer
            .mint("user-test", scopes, Duration::from_secs(600));
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

pub struct Caller<'a> {
    stack: &'a TestStack,
    token: Option<String>,
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
}

impl Caller<'_> {
    pub async fn send(&self, method: &str, target: &str, body: Option<&str>) -> Reply {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(token) = &self.token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        let response = self
            .stack
            .gateway
            .handle(HttpRequest {
                method,
                target,
                headers,
                body: body.unwrap_or_default().as_bytes().to_vec(),
            })
            .await;
        let status = response.status().as_u16();
        let body = match response.into_body() {
            Body::Text(text) => serde_json::from_str(&text).expect("responses are JSON"),
            Body::Binary(bytes) => serde_json::from_slice(&bytes).expect("responses are JSON"),
            _ => Value::Null,
        };
        Reply { status, body }
    }

    pub async fn get(&self, target: &str) -> Reply {
        self.send("GET", target, None).await
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
