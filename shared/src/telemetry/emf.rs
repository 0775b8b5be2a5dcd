//! CloudWatch Embedded Metric Format: a `metrics` recorder that keeps what each
//! invocation records apart and writes it as one JSON document on stdout when the
//! invocation ends, before its response goes back to Lambda. CloudWatch Logs turns
//! the document into metrics; no API call and no extension is involved.
//!
//! Written here rather than taken from `metrics_cloudwatch_embedded`: that crate
//! aggregates every invocation of the environment into one global set and writes a
//! document per label set at each flush, so with `AWS_LAMBDA_MAX_CONCURRENCY > 1`
//! one invocation's document would carry another's counts and request id. Here an
//! invocation's metrics live in a task-local set of its own.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::{Map, Value, json};

use super::MetricsSettings;
use super::bag::{Bag, Taken, entry, lock};
use super::metric::COLD_START;

/// The EMF specification's limits: metrics per directive, values per metric.
const MAX_METRICS: usize = 100;
const MAX_VALUES: usize = 100;

tokio::task_local! {
    static CURRENT: Arc<Bag>;
}

/// The most correlation ids one document names: a batch holds at most 10 SQS
/// records, and a document must stay well under CloudWatch's 1 MB event limit.
const MAX_CORRELATIONS: usize = 100;

/// Notes that the current invocation (if one is being measured) handles work
/// correlated by `id`, so its document names it; outside one it does nothing.
pub(super) fn note_correlation(id: &str) {
    let _ = CURRENT.try_with(|bag| {
        let mut ids = lock(&bag.correlations);
        if ids.len() < MAX_CORRELATIONS && !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    });
}

/// The recorder installed on Lambda: metrics go to the current invocation's set,
/// or, when recorded outside any (at init, or in a task spawned off an invocation),
/// to a set carried by the next invocation's document.
#[derive(Clone)]
pub struct EmfRecorder {
    shared: Arc<Shared>,
}

struct Shared {
    settings: MetricsSettings,
    function_name: String,
    outside: Arc<Bag>,
    units: Mutex<HashMap<KeyName, Unit>>,
    cold: AtomicBool,
}

impl EmfRecorder {
    /// A recorder for `function_name` (Lambda's `AWS_LAMBDA_FUNCTION_NAME`).
    pub fn new(settings: MetricsSettings, function_name: impl Into<String>) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings,
                function_name: function_name.into(),
                outside: Arc::default(),
                units: Mutex::new(HashMap::new()),
                cold: AtomicBool::new(true),
            }),
        }
    }

    /// The set a metric recorded now belongs to.
    fn current(&self) -> Arc<Bag> {
        CURRENT
            .try_with(Arc::clone)
            .unwrap_or_else(|_| self.shared.outside.clone())
    }

    /// Runs `invocation` with a metric set of its own, then writes the set as EMF on
    /// stdout (with `properties` as searchable fields of the document). The first
    /// invocation also counts `ColdStart`.
    pub async fn measure<F: Future>(&self, properties: Properties, invocation: F) -> F::Output {
        let (output, documents) = self.measured(properties, invocation).await;
        write_lines(&documents);
        output
    }

    /// What `measure` writes, returned instead.
    async fn measured<F: Future>(
        &self,
        properties: Properties,
        invocation: F,
    ) -> (F::Output, Vec<Value>) {
        let bag = Arc::new(Bag::default());
        if self.shared.cold.swap(false, Ordering::Relaxed) {
            entry(&bag.counters, &Key::from_static_name(COLD_START))
                .fetch_add(1, Ordering::Relaxed);
        }
        let output = CURRENT.scope(bag.clone(), invocation).await;
        (output, self.documents(&bag, &properties, now_millis()))
    }

    /// The documents of `bag` and of whatever was recorded outside an invocation.
    fn documents(&self, bag: &Bag, properties: &Properties, timestamp: u64) -> Vec<Value> {
        let mut taken = bag.take();
        let outside = self.shared.outside.take();
        taken.counters.extend(outside.counters);
        taken.gauges.extend(outside.gauges);
        taken.histograms.extend(outside.histograms);
        let correlations = std::mem::take(&mut taken.correlations);
        // Held while the documents are built: describing a metric is rare (init).
        let units = lock(&self.shared.units);
        Documents::new(&self.shared, properties, timestamp, &units)
            .correlated_by(correlations)
            .build(taken)
    }
}

fn now_millis() -> u64 {
    // A clock before 1970 is a broken host; 0 still makes a valid document.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One write per document, so concurrent invocations never interleave lines.
fn write_lines(documents: &[Value]) {
    let mut out = std::io::stdout().lock();
    for document in documents {
        let mut line = document.to_string();
        line.push('\n');
        // A closed stdout loses the metrics, never the invocation.
        let _ = out.write_all(line.as_bytes());
    }
    let _ = out.flush();
}

/// The searchable fields of an invocation's document (not dimensions: a request
/// id as a dimension would make a metric per request).
#[derive(Clone, Debug, Default)]
pub struct Properties {
    /// Lambda's request id.
    pub request_id: Option<String>,
    /// The X-Ray trace id, when the invocation has one.
    pub xray_trace_id: Option<String>,
}

impl Recorder for EmfRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe(key, unit);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(entry(&self.current().counters, key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(entry(&self.current().gauges, key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(entry(&self.current().histograms, key))
    }
}

impl EmfRecorder {
    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            lock(&self.shared.units).insert(key, unit);
        }
    }
}

/// CloudWatch's name for a unit; `None` where it has none (nanoseconds).
fn cloudwatch_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Count => "Count",
        Unit::Percent => "Percent",
        Unit::Seconds => "Seconds",
        Unit::Milliseconds => "Milliseconds",
        Unit::Microseconds => "Microseconds",
        Unit::Nanoseconds => "None",
        Unit::Tebibytes => "Terabytes",
        Unit::Gibibytes => "Gigabytes",
        Unit::Mebibytes => "Megabytes",
        Unit::Kibibytes => "Kilobytes",
        Unit::Bytes => "Bytes",
        Unit::TerabitsPerSecond => "Terabits/Second",
        Unit::GigabitsPerSecond => "Gigabits/Second",
        Unit::MegabitsPerSecond => "Megabits/Second",
        Unit::KilobitsPerSecond => "Kilobits/Second",
        Unit::BitsPerSecond => "Bits/Second",
        Unit::CountPerSecond => "Count/Second",
    }
}

/// Lays an invocation's metrics out as EMF documents: one, unless its metrics use
/// one dimension with two values (a document holds one value per dimension) or
/// exceed the specification's limits.
struct Documents<'a> {
    shared: &'a Shared,
    properties: &'a Properties,
    timestamp: u64,
    units: &'a HashMap<KeyName, Unit>,
    correlations: Vec<String>,
    built: Vec<Draft>,
}

/// A document being filled: its dimension values, and per dimension set, the
/// metrics it declares.
#[derive(Default)]
struct Draft {
    dimensions: BTreeMap<String, String>,
    directives: BTreeMap<Vec<String>, Vec<(String, Value)>>,
    metric_count: usize,
}

impl<'a> Documents<'a> {
    fn new(
        shared: &'a Shared,
        properties: &'a Properties,
        timestamp: u64,
        units: &'a HashMap<KeyName, Unit>,
    ) -> Self {
        Self {
            shared,
            properties,
            timestamp,
            units,
            correlations: Vec::new(),
            built: Vec::new(),
        }
    }

    /// Names the correlation ids of the invocation's work in every document:
    /// `correlation_id` when there is one (a request, or a batch of one
    /// request's messages), `correlation_ids` when a batch mixed several.
    fn correlated_by(mut self, correlations: Vec<String>) -> Self {
        self.correlations = correlations;
        self
    }

    fn build(mut self, taken: Taken) -> Vec<Value> {
        let mut metrics: Vec<(Key, Value)> = Vec::new();
        metrics.extend(taken.counters.into_iter().map(|(k, v)| (k, json!(v))));
        metrics.extend(taken.gauges.into_iter().map(|(k, v)| (k, json!(v))));
        for (key, values) in taken.histograms {
            for chunk in values.chunks(MAX_VALUES) {
                metrics.push((key.clone(), json!(chunk)));
            }
        }
        // Stable order: the same invocation always writes the same document.
        metrics.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in metrics {
            self.place(&key, value);
        }
        self.built.iter().map(|draft| self.render(draft)).collect()
    }

    /// Puts one metric in the first document whose dimension values agree with its
    /// labels and that has room, or starts a new document.
    fn place(&mut self, key: &Key, value: Value) {
        let mut dimensions = vec!["service".to_owned()];
        let mut values = vec![("service".to_owned(), self.shared.settings.service.clone())];
        if key.name() == COLD_START {
            // As Powertools writes it: per function, so a dashboard can tell which.
            dimensions.push("function_name".to_owned());
            values.push((
                "function_name".to_owned(),
                self.shared.function_name.clone(),
            ));
        }
        for label in key.labels() {
            dimensions.push(label.key().to_owned());
            values.push((label.key().to_owned(), label.value().to_owned()));
        }
        dimensions.sort();
        let name = key.name().to_owned();
        let fits = |draft: &Draft| {
            draft.metric_count < MAX_METRICS
                && values
                    .iter()
                    .all(|(k, v)| draft.dimensions.get(k).is_none_or(|have| have == v))
                && !draft
                    .directives
                    .values()
                    .flatten()
                    .any(|(have, _)| *have == name)
        };
        let index = match self.built.iter().position(fits) {
            Some(index) => index,
            None => {
                self.built.push(Draft::default());
                self.built.len() - 1
            }
        };
        let draft = &mut self.built[index];
        draft.dimensions.extend(values);
        draft
            .directives
            .entry(dimensions)
            .or_default()
            .push((name, value));
        draft.metric_count += 1;
    }

    fn render(&self, draft: &Draft) -> Value {
        let mut document = Map::new();
        let directives: Vec<Value> = draft
            .directives
            .iter()
            .map(|(dimensions, metrics)| {
                let declared: Vec<Value> = metrics
                    .iter()
                    .map(|(name, _)| {
                        let unit = self
                            .units
                            .get(&KeyName::from(name.clone()))
                            .map_or("None", |unit| cloudwatch_unit(*unit));
                        json!({ "Name": name, "Unit": unit })
                    })
                    .collect();
                json!({
                    "Namespace": self.shared.settings.namespace.as_str(),
                    "Dimensions": [dimensions],
                    "Metrics": declared,
                })
            })
            .collect();
        document.insert(
            "_aws".into(),
            json!({ "Timestamp": self.timestamp, "CloudWatchMetrics": directives }),
        );
        for (name, value) in &draft.dimensions {
            document.insert(name.clone(), json!(value));
        }
        for (name, value) in draft.directives.values().flatten() {
            document.insert(name.clone(), value.clone());
        }
        let properties = [
            ("function_name", Some(&self.shared.function_name)),
            ("requestId", self.properties.request_id.as_ref()),
            ("xrayTraceId", self.properties.xray_trace_id.as_ref()),
        ];
        for (name, value) in properties {
            if let Some(value) = value {
                document.entry(name).or_insert_with(|| json!(value));
            }
        }
        match self.correlations.as_slice() {
            [] => {}
            [one] => {
                document
                    .entry(super::correlation::FIELD)
                    .or_insert_with(|| json!(one));
            }
            several => {
                document
                    .entry("correlation_ids")
                    .or_insert_with(|| json!(several));
            }
        }
        Value::Object(document)
    }
}

/// The units CloudWatch accepts in a metric definition.
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks `document` against the structure the EMF specification requires of a
/// log line that CloudWatch turns into metrics: `_aws` with a millisecond
/// `Timestamp` and `CloudWatchMetrics` directives; each directive with a
/// `Namespace`, dimension sets of at most 30 names and at most 100 metric
/// definitions with a known `Unit`; every dimension a string member of the root,
/// every metric a number or an array of at most 100 numbers there. For an app's
/// tests of its own metrics as much as for Skiff's.
pub fn validate(document: &Value) -> Result<(), String> {
    let root = document.as_object().ok_or("a document is a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("_aws is a required object")?;
    aws.get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is required: milliseconds since the epoch")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is a required array")?;
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("a directive's Namespace is a required string")?;
        if namespace.is_empty() || namespace.len() > 1024 {
            return Err(format!(
                "namespace {namespace:?} must be 1 to 1024 characters"
            ));
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive's Dimensions is a required array")?;
        for set in sets {
            let names = set.as_array().ok_or("a dimension set is an array")?;
            if names.len() > 30 {
                return Err("a dimension set has at most 30 dimensions".into());
            }
            for name in names {
                let name = name.as_str().ok_or("a dimension is named by a string")?;
                if !root.get(name).is_some_and(Value::is_string) {
                    return Err(format!(
                        "dimension {name} is not a string member of the root"
                    ));
                }
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive's Metrics is a required array")?;
        if metrics.len() > MAX_METRICS {
            return Err("a directive has at most 100 metrics".into());
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric's Name is a required string")?;
            if let Some(unit) = metric.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return Err(format!(
                    "metric {name} has unit {unit}, not a CloudWatch unit"
                ));
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= MAX_VALUES && values.iter().all(Value::is_number) => {}
                _ => {
                    return Err(format!(
                        "metric {name} needs a number, or up to 100 numbers, at the root"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> EmfRecorder {
        let settings = MetricsSettings::from(&crate::config::Env::from_pairs(&[(
            "SKIFF_SERVICE_NAME",
            "shop",
        )]))
        .unwrap();
        EmfRecorder::new(settings, "shop-login")
    }

    /// Records through `recorder` as if it were the global one (the tests share a
    /// process, so none of them installs it).
    fn record(recorder: &EmfRecorder, f: impl FnOnce()) {
        metrics::with_local_recorder(recorder, f);
    }

    async fn invocation(recorder: &EmfRecorder, id: &str, logins: u64) -> Vec<Value> {
        let properties = Properties {
            request_id: Some(id.into()),
            ..Properties::default()
        };
        let (_, documents) = recorder
            .measured(properties, async {
                tokio::task::yield_now().await;
                record(recorder, || {
                    metrics::counter!("LoginsSucceeded").increment(logins);
                });
                tokio::task::yield_now().await;
            })
            .await;
        for document in &documents {
            validate(document).unwrap_or_else(|e| panic!("{e}: {document}"));
        }
        documents
    }

    #[tokio::test]
    async fn each_invocation_writes_one_document_of_its_own_counts() {
        let recorder = recorder();
        record(&recorder, crate::telemetry::metric::describe);
        let (a, b) = tokio::join!(
            invocation(&recorder, "req-a", 2),
            invocation(&recorder, "req-b", 5)
        );
        assert_eq!((a.len(), b.len()), (1, 1));
        assert_eq!(a[0]["LoginsSucceeded"], 2);
        assert_eq!(a[0]["requestId"], "req-a");
        assert_eq!(b[0]["LoginsSucceeded"], 5);
        assert_eq!(b[0]["requestId"], "req-b");
        assert_eq!(a[0]["service"], "shop");
        let directives = a[0]["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        let logins = directives
            .iter()
            .find(|d| d["Metrics"][0]["Name"] == "LoginsSucceeded")
            .unwrap();
        assert_eq!(logins["Namespace"], "Skiff");
        assert_eq!(logins["Dimensions"], json!([["service"]]));
        assert_eq!(logins["Metrics"][0]["Unit"], "Count");
    }

    #[tokio::test]
    async fn the_first_invocation_counts_a_cold_start_per_function() {
        let recorder = recorder();
        let first = invocation(&recorder, "1", 1).await;
        let second = invocation(&recorder, "2", 1).await;
        assert_eq!(first[0]["ColdStart"], 1);
        assert_eq!(first[0]["function_name"], "shop-login");
        let cold = first[0]["_aws"]["CloudWatchMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["Metrics"][0]["Name"] == "ColdStart")
            .unwrap();
        assert_eq!(cold["Dimensions"], json!([["function_name", "service"]]));
        assert!(second[0].get("ColdStart").is_none());
    }

    #[tokio::test]
    async fn an_invocation_without_metrics_writes_nothing_and_outside_ones_ride_along() {
        let recorder = recorder();
        let _ = invocation(&recorder, "cold", 0).await;
        let (_, nothing) = recorder.measured(Properties::default(), async {}).await;
        assert!(nothing.is_empty());
        // Recorded at init, outside any invocation: carried by the next document.
        record(&recorder, || metrics::counter!("KeysLoaded").increment(1));
        let next = invocation(&recorder, "next", 1).await;
        assert_eq!(next[0]["KeysLoaded"], 1);
    }

    #[tokio::test]
    async fn two_values_of_one_dimension_make_two_documents() {
        let recorder = recorder();
        let _ = invocation(&recorder, "cold", 0).await;
        let (_, documents) = recorder
            .measured(Properties::default(), async {
                record(&recorder, || {
                    metrics::counter!("BackendErrors", "backend" => "dynamodb").increment(1);
                    metrics::counter!("BackendErrors", "backend" => "redis").increment(2);
                    metrics::counter!("JobsRetried").increment(1);
                });
            })
            .await;
        assert_eq!(documents.len(), 2);
        for document in &documents {
            validate(document).unwrap();
        }
        assert_eq!(documents[0]["backend"], "dynamodb");
        assert_eq!(documents[0]["BackendErrors"], 1);
        assert_eq!(documents[0]["JobsRetried"], 1);
        assert_eq!(documents[1]["backend"], "redis");
        assert_eq!(documents[1]["BackendErrors"], 2);
    }

    #[tokio::test]
    async fn long_histograms_are_split_at_the_specifications_limit() {
        let recorder = recorder();
        let _ = invocation(&recorder, "cold", 0).await;
        let (_, documents) = recorder
            .measured(Properties::default(), async {
                record(&recorder, || {
                    metrics::describe_histogram!("Latency", Unit::Milliseconds, "");
                    for i in 0..250 {
                        metrics::histogram!("Latency").record(f64::from(i));
                    }
                });
            })
            .await;
        let lengths: Vec<usize> = documents
            .iter()
            .map(|d| d["Latency"].as_array().unwrap().len())
            .collect();
        assert_eq!(lengths, [100, 100, 50]);
        assert_eq!(
            documents[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
    }

    #[tokio::test]
    async fn a_document_names_the_correlation_ids_of_the_work_it_measured() {
        use crate::telemetry::correlation::{Correlation, CorrelationId, scope};
        let recorder = recorder();
        let correlated = |id: &'static str| {
            let recorder = recorder.clone();
            scope(
                Correlation::new(CorrelationId::parse(id).unwrap()),
                async move {
                    record(&recorder, || {
                        metrics::counter!("JobsSucceeded").increment(1)
                    });
                },
            )
        };
        let (_, one) = recorder
            .measured(Properties::default(), async {
                correlated("req-1").await;
                correlated("req-1").await;
            })
            .await;
        assert_eq!(one[0]["correlation_id"], "req-1");
        assert!(one[0].get("correlation_ids").is_none());
        let (_, mixed) = recorder
            .measured(Properties::default(), async {
                tokio::join!(correlated("req-2"), correlated("req-3"));
            })
            .await;
        assert_eq!(mixed[0]["correlation_ids"], json!(["req-2", "req-3"]));
        assert!(mixed[0].get("correlation_id").is_none());
        let (_, none) = recorder
            .measured(Properties::default(), async {
                record(&recorder, || {
                    metrics::counter!("JobsSucceeded").increment(1)
                });
            })
            .await;
        assert!(none[0].get("correlation_id").is_none());
        for document in one.iter().chain(&mixed).chain(&none) {
            validate(document).unwrap();
        }
    }

    #[test]
    fn the_validator_refuses_what_cloudwatch_would_drop() {
        let good = json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [
                {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "M", "Unit": "Count"}]}
            ]},
            "service": "s", "M": 1
        });
        validate(&good).unwrap();
        let mut missing_value = good.clone();
        missing_value.as_object_mut().unwrap().remove("M");
        let mut bad_unit = good.clone();
        bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Widgets");
        let mut numeric_dimension = good.clone();
        numeric_dimension["service"] = json!(3);
        let mut no_timestamp = good.clone();
        no_timestamp["_aws"]
            .as_object_mut()
            .unwrap()
            .remove("Timestamp");
        for bad in [missing_value, bad_unit, numeric_dimension, no_timestamp] {
            assert!(validate(&bad).is_err(), "{bad}");
        }
    }
}
