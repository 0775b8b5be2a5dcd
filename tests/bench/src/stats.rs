//! Order statistics over samples (nearest rank), in milliseconds.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

pub fn summarize(samples: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        if ms.is_empty() {
            return f64::NAN;
        }
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        let index = ((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
        ms[index]
    };
    Summary {
        count: ms.len(),
        p50: rank(0.50),
        p90: rank(0.90),
        p99: rank(0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = summarize(&samples);
        assert_eq!((s.count, s.p50, s.p90, s.p99), (100, 50.0, 90.0, 99.0));
        let one = summarize(&[Duration::from_millis(7)]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }
}
