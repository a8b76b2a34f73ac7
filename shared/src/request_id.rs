//! The id of the invocation a change happens in (API Gateway's request id, or Lambda's for a
//! queue or a schedule), carried for the whole handler so every audit record it writes names it
//! without each service passing it along.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the invocation `id`.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The invocation's id, when there is one (a test calling a service directly has none).
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_holds_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("req-1".to_owned(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("req-1"));
        assert_eq!(current(), None);
    }
}
