//! A stand-in for an Application Insights ingestion endpoint (`POST /v2.1/track`):
//! no emulator of it exists, so the suite keeps what the Azure app sends, answers
//! the way the service documents (200 with `itemsReceived` and `itemsAccepted`, 400
//! for a body that is not a list of envelopes), and the test checks each envelope
//! against the schema with `skiff::telemetry::app_insights::validate`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

/// The endpoint, running on a thread of its own until the process ends.
#[derive(Clone)]
pub struct IngestionEndpoint {
    pub url: String,
    envelopes: Arc<Mutex<Vec<Value>>>,
}

impl IngestionEndpoint {
    pub fn start() -> Self {
        let envelopes = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/", listener.local_addr().expect("address"));
        let app = Router::new()
            .route("/v2.1/track", post(track))
            .with_state(envelopes.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        Self { url, envelopes }
    }

    /// The connection string naming this endpoint.
    pub fn connection_string(&self) -> String {
        format!(
            "InstrumentationKey=00000000-0000-0000-0000-00000000c0de;IngestionEndpoint={}",
            self.url
        )
    }

    /// Every envelope received so far.
    pub fn envelopes(&self) -> Vec<Value> {
        self.envelopes.lock().expect("envelopes").clone()
    }
}

async fn track(
    State(envelopes): State<Arc<Mutex<Vec<Value>>>>,
    body: Bytes,
) -> (StatusCode, String) {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"itemsReceived": 0, "itemsAccepted": 0, "errors": [{"index": 0, "statusCode": 400, "message": "not a list of envelopes"}]}).to_string(),
        );
    };
    let received = items.len();
    envelopes.lock().expect("envelopes").extend(items);
    (
        StatusCode::OK,
        json!({"itemsReceived": received, "itemsAccepted": received, "errors": []}).to_string(),
    )
}
