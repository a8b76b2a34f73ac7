use std::time::Instant;

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let t0 = Instant::now();
    let mut marks = vec![];
    let mut mark = |name: &str, marks: &mut Vec<(String, f64)>| {
        marks.push((name.to_owned(), t0.elapsed().as_secs_f64() * 1e3));
    };
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    let loader = if mode.contains("env") {
        loader
            .region(aws_config::Region::new(
                std::env::var("AWS_REGION").unwrap(),
            ))
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            )
    } else {
        loader
    };
    let sdk = loader.load().await;
    mark("config", &mut marks);
    let _clients = mailing::aws::Clients::new(&sdk);
    mark("clients", &mut marks);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    mark("sm client", &mut marks);
    let _ = sm.get_secret_value().secret_id("nope").send().await;
    mark("first request", &mut marks);
    let _ = sm.get_secret_value().secret_id("nope").send().await;
    mark("second request", &mut marks);
    for (name, at) in marks {
        println!("{name}\t{at:.2}");
    }
}
