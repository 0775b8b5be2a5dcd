//! Application Insights on Azure: a `metrics` recorder whose sets are sent to the
//! resource's ingestion endpoint (`{IngestionEndpoint}/v2.1/track`, the endpoint
//! the Application Insights SDKs and the Azure Monitor OpenTelemetry exporters
//! post to) every interval, one `MetricData` envelope per metric and label set.
//! They land in the `customMetrics` table, with the labels and `service` as
//! `customDimensions`.
//!
//! Written here: no maintained crate sends the `metrics` facade to Application
//! Insights (`opentelemetry-application-insights` needs the OpenTelemetry SDK's
//! own metrics API and a bridge to it, several times the code of this module).
//! The custom handler is a long-running process, so an interval flush (and a last
//! one at shutdown) suits it; nothing is sent per request.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::{Map, Value, json};
use url::Url;

use super::MetricsSettings;
use super::bag::{Bag, entry, lock};
use crate::config::{ConfigError, Env};

/// Where Application Insights takes telemetry when a connection string names no
/// endpoint (the global one).
const DEFAULT_INGESTION: &str = "https://dc.services.visualstudio.com/";
/// A send that takes longer is abandoned; its values go with the next one.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// An Application Insights connection string
/// (`InstrumentationKey=…;IngestionEndpoint=https://…/;…`), as Azure puts it in
/// the `APPLICATIONINSIGHTS_CONNECTION_STRING` app setting.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    instrumentation_key: String,
    ingestion_endpoint: Url,
}

impl ConnectionString {
    /// Parses the `;`-separated `key=value` pairs (keys in any case). The
    /// instrumentation key is required (a GUID); the ingestion endpoint must be
    /// an http(s) URL and defaults to the global one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pairs = HashMap::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not key=value"))?;
            pairs.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let key = pairs
            .remove("instrumentationkey")
            .ok_or("names no InstrumentationKey")?;
        if uuid::Uuid::parse_str(&key).is_err() {
            return Err("its InstrumentationKey is not a GUID".into());
        }
        let endpoint = pairs
            .remove("ingestionendpoint")
            .unwrap_or_else(|| DEFAULT_INGESTION.to_owned());
        let endpoint = Url::parse(&endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http") && url.host().is_some())
            .ok_or("its IngestionEndpoint is not an http(s) URL")?;
        Ok(Self {
            instrumentation_key: key,
            ingestion_endpoint: endpoint,
        })
    }

    /// `{IngestionEndpoint}/v2.1/track`.
    fn track_url(&self) -> Result<Url, url::ParseError> {
        let mut base = self.ingestion_endpoint.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join("v2.1/track")
    }
}

/// The instrumentation key is not a secret, but it lets anyone write into the
/// resource, so it never reaches a log line.
impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("instrumentation_key", &"<redacted>")
            .field("ingestion_endpoint", &self.ingestion_endpoint.as_str())
            .finish()
    }
}

/// Where and how often metrics go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInsightsSettings {
    /// `APPLICATIONINSIGHTS_CONNECTION_STRING`.
    pub connection: ConnectionString,
    /// `SKIFF_METRICS_INTERVAL`: seconds between sends.
    pub interval: Duration,
}

impl AppInsightsSettings {
    /// The interval when `SKIFF_METRICS_INTERVAL` is unset: Application Insights'
    /// own SDKs pre-aggregate over a minute.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

    /// From `env`: `None` when `APPLICATIONINSIGHTS_CONNECTION_STRING` is unset or
    /// empty (no Application Insights resource: metrics are not sent). A bad value
    /// is an error that does not echo it.
    pub fn from<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<Self>, ConfigError> {
        let interval = env.duration_or("SKIFF_METRICS_INTERVAL", Self::DEFAULT_INTERVAL)?;
        let Some(text) = env
            .raw("APPLICATIONINSIGHTS_CONNECTION_STRING")
            .filter(|text| !text.trim().is_empty())
        else {
            return Ok(None);
        };
        let connection = ConnectionString::parse(&text).map_err(|reason| {
            ConfigError::missing("APPLICATIONINSIGHTS_CONNECTION_STRING", reason)
        })?;
        Ok(Some(Self {
            connection,
            interval,
        }))
    }
}

/// The recorder: every metric goes to one set, which each send empties of what it
/// carried (counters by their growth since the last accepted send).
#[derive(Clone, Default)]
pub struct AppInsightsRecorder {
    bag: Arc<Bag>,
}

impl Recorder for AppInsightsRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(entry(&self.bag.counters, key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(entry(&self.bag.gauges, key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(entry(&self.bag.histograms, key))
    }
}

/// One metric's values since the last send.
#[derive(Clone, Debug, PartialEq)]
struct Point {
    key: Key,
    value: f64,
    count: u64,
    min: Option<f64>,
    max: Option<f64>,
    std_dev: Option<f64>,
}

/// What a send carries, and what to do once it is accepted or refused.
struct Snapshot {
    points: Vec<Point>,
    /// Counters' totals at the snapshot: the baseline once the send is accepted.
    counted: Vec<(Key, u64)>,
    /// Histogram values taken out: put back if the send fails.
    sampled: Vec<(Key, Vec<f64>)>,
}

/// Sends the recorder's sets to Application Insights.
#[derive(Clone)]
pub struct AppInsightsSink {
    recorder: AppInsightsRecorder,
    settings: AppInsightsSettings,
    service: String,
    sent: Arc<Mutex<HashMap<Key, u64>>>,
    http: crate::adapters::azure::HttpsClient,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No answer, or an answer to retry (429, 5xx): the values go with the next send.
    #[error("application insights did not take the metrics ({0}); they go with the next send")]
    Retry(String),
    /// Refused as malformed (400): retrying would not help, so the values are dropped.
    #[error("application insights refused the metrics: {0}")]
    Refused(String),
}

impl AppInsightsSink {
    /// A sink for `settings`, with `metrics.service` as every metric's `service`.
    pub fn new(
        recorder: AppInsightsRecorder,
        metrics: &MetricsSettings,
        settings: AppInsightsSettings,
    ) -> std::io::Result<Self> {
        Ok(Self {
            recorder,
            settings,
            service: metrics.service.clone(),
            sent: Arc::default(),
            http: crate::adapters::azure::https_client()?,
        })
    }

    /// Sends every interval until the process ends. `flush` sends what is left.
    pub fn spawn(&self) -> tokio::task::JoinHandle<()> {
        let sink = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(sink.settings.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if let Err(e) = sink.flush().await {
                    tracing::warn!(error = %e, "metrics not sent");
                }
            }
        })
    }

    /// Sends what was recorded since the last accepted send; returns how many
    /// envelopes went.
    pub async fn flush(&self) -> Result<usize, SendError> {
        let snapshot = self.snapshot();
        if snapshot.points.is_empty() {
            return Ok(0);
        }
        let now = time::OffsetDateTime::now_utc();
        let envelopes = envelopes(
            &snapshot.points,
            &self.settings.connection.instrumentation_key,
            &self.service,
            now,
        );
        let count = envelopes.len();
        match self.post(&Value::Array(envelopes)).await {
            Ok(()) => {
                let mut sent = lock(&self.sent);
                sent.extend(snapshot.counted);
                Ok(count)
            }
            Err(e @ SendError::Refused(_)) => {
                // Counted as sent: the same values would be refused again.
                lock(&self.sent).extend(snapshot.counted);
                Err(e)
            }
            Err(e) => {
                for (key, mut values) in snapshot.sampled {
                    let samples = entry(&self.recorder.bag.histograms, &key);
                    let mut held = lock(&samples.0);
                    values.append(&mut held);
                    *held = values;
                }
                Err(e)
            }
        }
    }

    fn snapshot(&self) -> Snapshot {
        let sent = lock(&self.sent).clone();
        let bag = &self.recorder.bag;
        let mut points = Vec::new();
        let mut counted = Vec::new();
        for (key, cell) in lock(&bag.counters).iter() {
            let total = cell.load(Ordering::Relaxed);
            let growth = total.saturating_sub(sent.get(key).copied().unwrap_or(0));
            if growth > 0 {
                points.push(Point::single(key.clone(), growth as f64));
                counted.push((key.clone(), total));
            }
        }
        for (key, cell) in lock(&bag.gauges).iter() {
            points.push(Point::single(key.clone(), cell.get()));
        }
        let mut sampled = Vec::new();
        for (key, samples) in lock(&bag.histograms).iter() {
            let values = std::mem::take(&mut *lock(&samples.0));
            if let Some(point) = Point::of_samples(key.clone(), &values) {
                points.push(point);
                sampled.push((key.clone(), values));
            }
        }
        // Stable order: the same values always make the same request.
        points.sort_by(|a, b| a.key.cmp(&b.key));
        Snapshot {
            points,
            counted,
            sampled,
        }
    }

    async fn post(&self, body: &Value) -> Result<(), SendError> {
        let url = self
            .settings
            .connection
            .track_url()
            .map_err(|e| SendError::Refused(format!("the ingestion URL: {e}")))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(url.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| SendError::Refused(format!("the request: {e}")))?;
        let response = tokio::time::timeout(SEND_TIMEOUT, self.http.request(request))
            .await
            .map_err(|_| SendError::Retry("no answer in time".into()))?
            .map_err(|e| SendError::Retry(format!("no answer: {e}")))?;
        let status = response.status();
        let text = response
            .into_body()
            .collect()
            .await
            .map(|body| String::from_utf8_lossy(&body.to_bytes()).into_owned())
            .unwrap_or_default();
        match status {
            StatusCode::OK => Ok(()),
            // Partly taken: what it refused is logged, and not sent again.
            StatusCode::PARTIAL_CONTENT => {
                tracing::warn!(answer = %text, "application insights took only part of the metrics");
                Ok(())
            }
            status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                Err(SendError::Retry(format!("{status}")))
            }
            status => Err(SendError::Refused(format!("{status}: {text}"))),
        }
    }
}

impl Point {
    fn single(key: Key, value: f64) -> Self {
        Self {
            key,
            value,
            count: 1,
            min: None,
            max: None,
            std_dev: None,
        }
    }

    /// A histogram's values as Application Insights aggregates them: their sum,
    /// count, least, greatest and (population) standard deviation.
    fn of_samples(key: Key, values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let count = values.len() as f64;
        let sum: f64 = values.iter().sum();
        let mean = sum / count;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
        Some(Self {
            key,
            value: sum,
            count: values.len() as u64,
            min: values.iter().copied().reduce(f64::min),
            max: values.iter().copied().reduce(f64::max),
            std_dev: Some(variance.sqrt()),
        })
    }
}

/// The envelopes for `points`: one each, since Application Insights stores only
/// the first data point of a `MetricData`.
fn envelopes(
    points: &[Point],
    instrumentation_key: &str,
    service: &str,
    now: time::OffsetDateTime,
) -> Vec<Value> {
    // RFC 3339 always formats a UTC time; the fallback is never used.
    let time = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    points
        .iter()
        .map(|point| {
            let mut data_point = Map::new();
            data_point.insert("name".into(), json!(point.key.name()));
            data_point.insert("value".into(), json!(point.value));
            data_point.insert("count".into(), json!(point.count));
            for (name, value) in [
                ("min", point.min),
                ("max", point.max),
                ("stdDev", point.std_dev),
            ] {
                if let Some(value) = value {
                    data_point.insert(name.into(), json!(value));
                }
            }
            let mut properties = Map::new();
            properties.insert("service".into(), json!(service));
            for label in point.key.labels() {
                properties.insert(label.key().into(), json!(label.value()));
            }
            json!({
                "name": "Microsoft.ApplicationInsights.Metric",
                "time": time,
                "iKey": instrumentation_key,
                "tags": {
                    "ai.cloud.role": service,
                    "ai.internal.sdkVersion": concat!("skiff:", env!("CARGO_PKG_VERSION")),
                },
                "data": {
                    "baseType": "MetricData",
                    "baseData": {
                        "ver": 2,
                        "metrics": [Value::Object(data_point)],
                        "properties": properties,
                    },
                },
            })
        })
        .collect()
}

/// Checks an envelope against the structure the ingestion endpoint requires of a
/// metric (the Application Insights schema's `Envelope`, `MetricData` and
/// `DataPoint`): public, so an app's tests can check what it sends.
pub fn validate(envelope: &Value) -> Result<(), String> {
    let text = |value: &Value, what: &str| -> Result<(), String> {
        match value.as_str() {
            Some(s) if !s.is_empty() => Ok(()),
            _ => Err(format!("{what} must be a non-empty string")),
        }
    };
    text(&envelope["name"], "name")?;
    text(&envelope["iKey"], "iKey")?;
    let time = envelope["time"].as_str().ok_or("time must be a string")?;
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("time {time:?} is not an ISO 8601 time: {e}"))?;
    if let Some(tags) = envelope.get("tags")
        && !tags
            .as_object()
            .is_some_and(|tags| tags.values().all(Value::is_string))
    {
        return Err("tags must map names to strings".into());
    }
    if envelope["data"]["baseType"] != "MetricData" {
        return Err("data.baseType must be MetricData".into());
    }
    let base = &envelope["data"]["baseData"];
    if base["ver"] != 2 {
        return Err("baseData.ver must be 2".into());
    }
    let metrics = base["metrics"]
        .as_array()
        .ok_or("baseData.metrics must be a list")?;
    let [metric] = metrics.as_slice() else {
        return Err("baseData.metrics must hold exactly one data point".into());
    };
    text(&metric["name"], "a data point's name")?;
    if !metric["value"].is_number() {
        return Err("a data point's value must be a number".into());
    }
    for optional in ["count", "min", "max", "stdDev"] {
        if metric.get(optional).is_some_and(|v| !v.is_number()) {
            return Err(format!("a data point's {optional} must be a number"));
        }
    }
    if let Some(properties) = base.get("properties")
        && !properties
            .as_object()
            .is_some_and(|p| p.values().all(Value::is_string))
    {
        return Err("baseData.properties must map names to strings".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00000000-0000-0000-0000-0000000000aa";

    #[test]
    fn connection_strings_need_a_guid_key_and_an_http_endpoint() {
        let parsed = ConnectionString::parse(&format!(
            "InstrumentationKey={KEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://x/"
        ))
        .unwrap();
        assert_eq!(
            parsed.track_url().unwrap().as_str(),
            "https://westeurope-5.in.applicationinsights.azure.com/v2.1/track"
        );
        let default = ConnectionString::parse(&format!("instrumentationkey={KEY}")).unwrap();
        assert_eq!(
            default.track_url().unwrap().as_str(),
            "https://dc.services.visualstudio.com/v2.1/track"
        );
        let under_a_path = ConnectionString::parse(&format!(
            "InstrumentationKey={KEY};IngestionEndpoint=http://127.0.0.1:9/ai"
        ))
        .unwrap();
        assert_eq!(
            under_a_path.track_url().unwrap().as_str(),
            "http://127.0.0.1:9/ai/v2.1/track"
        );
        for bad in [
            "IngestionEndpoint=https://x/".to_owned(),
            "InstrumentationKey=not-a-guid".to_owned(),
            format!("InstrumentationKey={KEY};IngestionEndpoint=ftp://x/"),
            "garbage".to_owned(),
        ] {
            assert!(ConnectionString::parse(&bad).is_err(), "{bad}");
        }
        assert!(!format!("{parsed:?}").contains(KEY));
    }

    #[test]
    fn each_metric_is_one_valid_envelope_with_its_labels_as_properties() {
        let points = vec![
            Point::single(Key::from_name("LoginsFailed"), 5.0),
            Point::single(
                Key::from_parts(
                    "BackendErrors",
                    vec![metrics::Label::new("backend", "table")],
                ),
                2.0,
            ),
            Point::of_samples(Key::from_name("Latency"), &[1.0, 3.0]).unwrap(),
        ];
        let envelopes = envelopes(&points, KEY, "shop", time::OffsetDateTime::UNIX_EPOCH);
        assert_eq!(envelopes.len(), 3);
        for envelope in &envelopes {
            validate(envelope).unwrap_or_else(|e| panic!("{e}: {envelope}"));
            assert_eq!(envelope["iKey"], KEY);
            assert_eq!(
                envelope["data"]["baseData"]["properties"]["service"],
                "shop"
            );
        }
        let errors = &envelopes[1]["data"]["baseData"];
        assert_eq!(errors["metrics"][0]["value"], 2.0);
        assert_eq!(errors["properties"]["backend"], "table");
        let latency = &envelopes[2]["data"]["baseData"]["metrics"][0];
        assert_eq!(
            (
                &latency["value"],
                &latency["count"],
                &latency["min"],
                &latency["max"]
            ),
            (&json!(4.0), &json!(2), &json!(1.0), &json!(3.0))
        );
        assert_eq!(latency["stdDev"], 1.0);
    }

    #[test]
    fn the_validator_refuses_what_the_endpoint_would() {
        let good = envelopes(
            &[Point::single(Key::from_name("M"), 1.0)],
            KEY,
            "s",
            time::OffsetDateTime::UNIX_EPOCH,
        )
        .remove(0);
        validate(&good).unwrap();
        let mut two_points = good.clone();
        two_points["data"]["baseData"]["metrics"] =
            json!([{"name": "a", "value": 1}, {"name": "b", "value": 2}]);
        let mut no_key = good.clone();
        no_key.as_object_mut().unwrap().remove("iKey");
        let mut bad_time = good.clone();
        bad_time["time"] = json!("yesterday");
        let mut numeric_property = good.clone();
        numeric_property["data"]["baseData"]["properties"]["n"] = json!(1);
        let mut wrong_type = good.clone();
        wrong_type["data"]["baseType"] = json!("EventData");
        for bad in [two_points, no_key, bad_time, numeric_property, wrong_type] {
            assert!(validate(&bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_counter_is_sent_by_its_growth_and_a_failed_send_loses_nothing() {
        let recorder = AppInsightsRecorder::default();
        let settings = AppInsightsSettings {
            // Nothing listens on port 9 of loopback: every send fails.
            connection: ConnectionString::parse(&format!(
                "InstrumentationKey={KEY};IngestionEndpoint=http://127.0.0.1:9/"
            ))
            .unwrap(),
            interval: Duration::from_secs(60),
        };
        let metrics = MetricsSettings::from(&crate::config::Env::from_pairs(&[])).unwrap();
        let sink = AppInsightsSink::new(recorder.clone(), &metrics, settings).unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("JobsSucceeded").increment(3);
            metrics::histogram!("Latency").record(2.0);
        });
        assert!(matches!(sink.flush().await, Err(SendError::Retry(_))));
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("JobsSucceeded").increment(1);
        });
        let snapshot = sink.snapshot();
        let jobs = snapshot
            .points
            .iter()
            .find(|p| p.key.name() == "JobsSucceeded");
        assert_eq!(jobs.map(|p| p.value), Some(4.0));
        let latency = snapshot.points.iter().find(|p| p.key.name() == "Latency");
        assert_eq!(latency.map(|p| p.count), Some(1));
        // Accepted: the next send carries only what grew since.
        lock(&sink.sent).extend(snapshot.counted);
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("JobsSucceeded").increment(2);
        });
        let next = sink.snapshot();
        assert_eq!(next.points.len(), 1);
        assert_eq!(next.points[0].value, 2.0);
    }
}
