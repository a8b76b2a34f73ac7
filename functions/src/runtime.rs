//! What every Lambda `main` does: tracing, configuration and clients once per cold start, then
//! the handler for each invocation.

use std::convert::Infallible;
use std::future::Future;

use lambda_http::{Body, Request, Response, service_fn};
use mailing::App;

use crate::http::{HttpResult, error_response};

/// JSON logs for CloudWatch; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    tracing_subscriber::util::SubscriberInitExt::init(log_subscriber(std::io::stdout));
}

/// The functions' logs as Lambda writes them, to `writer` (a test reads them back).
pub fn log_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Builds the app from the environment, failing the cold start with the missing variable's name.
pub async fn app() -> Result<&'static App, lambda_http::Error> {
    let app = App::from_env().await?;
    // One app per process, alive as long as the process: leaking it gives handlers a `'static`
    // reference without an `Arc` clone per invocation.
    Ok(Box::leak(Box::new(app)))
}

/// Expected failures become their 4xx response; only a broken response is a Lambda error.
pub fn respond(result: HttpResult) -> Response<Body> {
    result.unwrap_or_else(|error| error_response(&error))
}

/// The id API Gateway gave the request, if it came through one.
pub fn request_id(request: &Request) -> Option<String> {
    match lambda_http::RequestExt::request_context_ref(request) {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => {
            context.request_id.clone()
        }
        _ => None,
    }
}

/// The handler's `response`, computed as the request `id` (its audit records name it).
pub async fn answer(
    id: Option<String>,
    response: impl Future<Output = HttpResult>,
) -> Response<Body> {
    respond(match id {
        Some(id) => mailing::request_id::scope(id, response).await,
        None => response.await,
    })
}

/// Serves one HTTP handler on the Lambda runtime.
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = HttpResult> + Send,
{
    init_tracing();
    let app = app().await?;
    lambda_http::run(service_fn(|request: Request| {
        let id = request_id(&request);
        let response = handler(app, request);
        async move { Ok::<_, Infallible>(answer(id, response).await) }
    }))
    .await
}

/// Serves `routes` (one function answering several methods of a path, from
/// `routes::routes_of`), by method and path as API Gateway matched them.
pub async fn serve_routes(
    routes: &'static [crate::routes::Route],
) -> Result<(), lambda_http::Error> {
    serve_http(move |app, request: Request| {
        let route_key = lambda_http::RequestExt::request_context_ref(&request).and_then(
            |context| match context {
                lambda_http::request::RequestContext::ApiGatewayV2(context) => {
                    context.route_key.clone()
                }
                _ => None,
            },
        );
        let route = routes.iter().find(|route| {
            route_key.as_deref() == Some(format!("{} {}", route.method, route.path).as_str())
        });
        async move {
            match route {
                Some(route) => (route.handler)(app, request).await,
                None => Err(mailing::ApiError::not_found("route")),
            }
        }
    })
    .await
}

/// Serves one SQS consumer on the Lambda runtime.
pub async fn serve_queue<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(
        &'static App,
        lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
    ) -> Fut,
    Fut: Future<
            Output = Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error>,
        > + Send
        + 'static,
{
    init_tracing();
    let app = app().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<_>| {
            boxed(mailing::request_id::scope(
                event.context.request_id.clone(),
                handler(app, event),
            ))
        },
    ))
    .await
}

/// Serves one function of any other event (custom resource, schedule) on the Lambda runtime.
pub async fn serve_event<E, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: serde::de::DeserializeOwned,
    F: Fn(&'static App, lambda_runtime::LambdaEvent<E>) -> Fut,
    Fut: Future<Output = Result<(), lambda_runtime::Error>> + Send + 'static,
{
    init_tracing();
    let app = app().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        |event: lambda_runtime::LambdaEvent<E>| {
            boxed(mailing::request_id::scope(
                event.context.request_id.clone(),
                handler(app, event),
            ))
        },
    ))
    .await
}

/// The invocation's future behind one allocation: a consumer's future nests every service it
/// awaits, and laying that type out inside `main`'s own future overflows rustc's query depth
/// (seen on `ses-events` built from scratch). Erasing it here costs one box per invocation.
fn boxed<T>(
    future: impl Future<Output = T> + Send + 'static,
) -> std::pin::Pin<Box<dyn Future<Output = T> + Send>> {
    Box::pin(future)
}

/// A queue batch as consumers that read bodies take it: (message id, body) pairs.
pub fn bodies(
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Vec<(String, String)> {
    event
        .payload
        .records
        .into_iter()
        .map(|record| {
            (
                record.message_id.unwrap_or_default(),
                record.body.unwrap_or_default(),
            )
        })
        .collect()
}

/// The answer naming the messages to retry (SQS partial batch failures).
pub fn failures(ids: Vec<String>) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for id in ids {
        response.add_failure(id);
    }
    response
}
