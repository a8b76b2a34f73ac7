//! Lambda function `templates-install`: the `BuiltInTemplates` custom resource of the template.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    functions::runtime::serve_event(functions::templates::install).await
}
