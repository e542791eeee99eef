//! Small servers for the credential tests: an ECS metadata service, a credentials URI, and a
//! listener that never answers. Each runs on a thread of its own until dropped.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};

/// A server on a loopback port, stopped when dropped.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Requests answered.
    pub hits: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Serves `router`.
pub fn serve(router: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    Served {
        base,
        hits: Arc::new(AtomicUsize::new(0)),
        shutdown: Some(shutdown),
    }
}

/// Credentials JSON as the metadata service and credentials URIs answer them.
pub fn credentials_json(id: &str, secret: &str, token: &str, expiration: &str) -> String {
    serde_json::json!({
        "Code": "Success",
        "AccessKeyId": id,
        "AccessKeySecret": secret,
        "SecurityToken": token,
        "Expiration": expiration,
        "LastUpdated": "2020-01-01T00:00:00Z",
    })
    .to_string()
}

/// An ECS metadata service with one role, `role`, answering `body` for it. `imdsv2`: whether
/// it hands out session tokens (and then requires one).
pub fn metadata_service(role: &'static str, body: String, imdsv2: bool) -> Served {
    const TOKEN: &str = "imds-session-token";
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let allowed = move |headers: &HeaderMap| {
        !imdsv2
            || headers
                .get("X-aliyun-ecs-metadata-token")
                .is_some_and(|value| value == TOKEN)
    };
    let allowed_too = allowed;
    let router = Router::new()
        .route(
            "/latest/api/token",
            put(move |headers: HeaderMap| async move {
                if !imdsv2 {
                    return (StatusCode::FORBIDDEN, String::new());
                }
                assert!(headers.contains_key("X-aliyun-ecs-metadata-token-ttl-seconds"));
                (StatusCode::OK, TOKEN.to_owned())
            }),
        )
        .route(
            "/latest/meta-data/ram/security-credentials/",
            get(move |headers: HeaderMap| async move {
                if allowed(&headers) {
                    (StatusCode::OK, role.to_owned())
                } else {
                    (StatusCode::UNAUTHORIZED, String::new())
                }
            }),
        )
        .route(
            &format!("/latest/meta-data/ram/security-credentials/{role}"),
            get(move |headers: HeaderMap| async move {
                counted.fetch_add(1, Ordering::SeqCst);
                if allowed_too(&headers) {
                    (StatusCode::OK, body)
                } else {
                    (StatusCode::UNAUTHORIZED, String::new())
                }
            }),
        );
    let mut served = serve(router);
    served.hits = hits;
    served
}

/// A credentials URI server answering `body` at `/credentials`.
pub fn credentials_uri(body: String) -> Served {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let router = Router::new().route(
        "/credentials",
        get(move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            body
        }),
    );
    let mut served = serve(router);
    served.hits = hits;
    served
}

/// A listener that accepts connections and never answers; its address as a URL.
pub fn silent_listener() -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().take(8) {
            held.push(connection);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    (base, thread)
}
