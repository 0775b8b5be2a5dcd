//! A set of recorded metrics, kept apart from every other set: what an EMF
//! document or an Application Insights flush is made of.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{GaugeFn, HistogramFn, Key};

/// What was recorded into one set: an invocation's (EMF), or an interval's
/// (Application Insights).
#[derive(Default)]
pub(super) struct Bag {
    pub(super) counters: Mutex<HashMap<Key, Arc<AtomicU64>>>,
    pub(super) gauges: Mutex<HashMap<Key, Arc<GaugeCell>>>,
    pub(super) histograms: Mutex<HashMap<Key, Arc<Samples>>>,
    /// The distinct correlation ids of what the invocation handled (one for a
    /// request, up to one per record for a batch).
    pub(super) correlations: Mutex<Vec<String>>,
}

/// A gauge's last value, as f64 bits.
#[derive(Default)]
pub(super) struct GaugeCell(AtomicU64);

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl GaugeCell {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some(f(f64::from_bits(bits)).to_bits())
            });
    }
    pub(super) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// A histogram's values, in the order recorded.
#[derive(Default)]
pub(super) struct Samples(pub(super) Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        lock(&self.0).push(value);
    }
}

/// A poisoned lock only means a recording thread panicked mid-push; the values
/// it holds are still numbers, so they are used as they are.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn entry<T: Default>(map: &Mutex<HashMap<Key, Arc<T>>>, key: &Key) -> Arc<T> {
    lock(map).entry(key.clone()).or_default().clone()
}

impl Bag {
    /// Empties the set: counters that never moved and histograms without values
    /// are left out.
    pub(super) fn take(&self) -> Taken {
        let counters = std::mem::take(&mut *lock(&self.counters))
            .into_iter()
            .map(|(k, v)| (k, v.load(Ordering::Relaxed)))
            .filter(|(_, v)| *v > 0)
            .collect();
        let gauges = std::mem::take(&mut *lock(&self.gauges))
            .into_iter()
            .map(|(k, v)| (k, v.get()))
            .collect();
        let histograms = std::mem::take(&mut *lock(&self.histograms))
            .into_iter()
            .map(|(k, v)| (k, std::mem::take(&mut *lock(&v.0))))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Taken {
            counters,
            gauges,
            histograms,
            correlations: std::mem::take(&mut *lock(&self.correlations)),
        }
    }
}

/// What [`Bag::take`] took out.
pub(super) struct Taken {
    pub(super) counters: Vec<(Key, u64)>,
    pub(super) gauges: Vec<(Key, f64)>,
    pub(super) histograms: Vec<(Key, Vec<f64>)>,
    pub(super) correlations: Vec<String>,
}
