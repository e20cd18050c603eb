//! A throwaway HTTP server for tests of the client side: binds port 0 and serves an
//! axum router on a background task until the test's runtime ends.

use axum::Router;

/// Serves `app` and returns its base URL.
pub(crate) async fn spawn(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}
