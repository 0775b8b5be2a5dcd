//! What metrics cost: the worker with metrics on against the same worker with
//! `SKIFF_METRICS=off`, in the same run. Its batch of one poison message records
//! `BatchItemFailures` in every invocation (so every invocation writes an EMF
//! document) and calls no backend, so the difference is the metrics' alone. The two
//! sides alternate, twice each, so a drift of the machine falls on both.

use std::fmt::Write;

use crate::config::BenchConfig;
use crate::measure::{self, BenchError, Cold, Request};
use crate::report::verdict;
use crate::scenarios::{binary, sqs_event};
use crate::stats::summarize;
use crate::subject::Subject;

/// The targets: what metrics may add.
const WARM_P99_TARGET_MS: f64 = 0.05;
const COLD_TARGET: f64 = 0.05;

/// Both sides' samples.
pub struct MetricsFigures {
    pub warm_on: Vec<std::time::Duration>,
    pub warm_off: Vec<std::time::Duration>,
    pub cold_on: Cold,
    pub cold_off: Cold,
}

fn poison() -> Request {
    sqs_event(
        "batch of 1 poison message (BatchItemFailures, no backend call)",
        vec!["not a message".into()],
    )
}

pub async fn run(
    config: &BenchConfig,
    offline_env: &[(String, String)],
) -> Result<MetricsFigures, BenchError> {
    let on = binary(config, "worker", offline_env);
    let mut off_env = offline_env.to_vec();
    off_env.push(("SKIFF_METRICS".into(), "off".into()));
    let off = Subject {
        name: "worker-metrics-off",
        ..binary(config, "worker", &off_env)
    };
    let n = config.warm_invocations;
    let request = [poison()];
    let (mut warm_on, mut warm_off) = (Vec::new(), Vec::new());
    let mut cold_on: Option<Cold> = None;
    let mut cold_off: Option<Cold> = None;
    for _ in 0..2 {
        for (subject, warm, cold) in [
            (&on, &mut warm_on, &mut cold_on),
            (&off, &mut warm_off, &mut cold_off),
        ] {
            let (figures, _) = measure::warm(subject, &[], &request, n / 2).await?;
            for (_, samples) in figures.routes {
                warm.extend(samples);
            }
            let spawned = measure::cold(subject, &request[0], config.cold_spawns / 2 + 1).await?;
            match cold {
                Some(cold) => {
                    cold.samples.extend(spawned.samples);
                    cold.peak_rss_kib = cold.peak_rss_kib.max(spawned.peak_rss_kib);
                }
                None => *cold = Some(spawned),
            }
        }
    }
    Ok(MetricsFigures {
        warm_on,
        warm_off,
        cold_on: cold_on.ok_or("no cold start with metrics on")?,
        cold_off: cold_off.ok_or("no cold start with metrics off")?,
    })
}

/// The section of the report, with its two targets.
pub fn write(out: &mut String, figures: &MetricsFigures) -> Result<(), BenchError> {
    let (on, off) = (summarize(&figures.warm_on), summarize(&figures.warm_off));
    let (cold_on, cold_off) = (
        summarize(&figures.cold_on.samples),
        summarize(&figures.cold_off.samples),
    );
    writeln!(
        out,
        "\n## Metrics overhead\n\nThe worker with metrics on (one EMF document per \
         invocation) against the same worker with `SKIFF_METRICS=off`, on a batch of one \
         poison message: it counts `BatchItemFailures` in every invocation and calls no \
         backend. {} warm invocations and {} cold starts per side, the sides \
         alternating. Milliseconds.\n",
        on.count, cold_on.count
    )?;
    writeln!(
        out,
        "| | metrics on | metrics off | added | target | verdict |\n| --- | --- | --- | --- | --- | --- |"
    )?;
    let added_p99 = on.p99 - off.p99;
    writeln!(
        out,
        "| warm p50 | {:.3} | {:.3} | {:.3} | | |",
        on.p50,
        off.p50,
        on.p50 - off.p50
    )?;
    writeln!(
        out,
        "| warm p99 | {:.3} | {:.3} | {added_p99:.3} | ≤ {WARM_P99_TARGET_MS} ms | {} |",
        on.p99,
        off.p99,
        verdict(added_p99 <= WARM_P99_TARGET_MS)
    )?;
    let added_cold = cold_on.p50 / cold_off.p50 - 1.0;
    writeln!(
        out,
        "| cold start p50 | {:.2} | {:.2} | {:+.1} % | ≤ {:.0} % | {} |",
        cold_on.p50,
        cold_off.p50,
        added_cold * 100.0,
        COLD_TARGET * 100.0,
        verdict(added_cold <= COLD_TARGET)
    )?;
    Ok(())
}
