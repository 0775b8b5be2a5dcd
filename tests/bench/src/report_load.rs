//! BENCHMARKS.md's load section: one Lambda environment at 1, 4 and 16 invocations
//! in flight, and the local server at 1, 16 and 64 clients next to its `GET
//! /health` floor, with the load targets' verdicts.

use std::fmt::Write as _;

use crate::lambda_load::{BACKEND_DELAY, GET_SESSION as LAMBDA_GET_SESSION, LambdaRow};
use crate::load::{Bounds, LoadRun};
use crate::local_load::{GET_SESSION, HEALTH, LocalLoad};
use crate::measure::BenchError;
use crate::report::{mib, verdict};

/// Everything the load section puts in the report: its tables, and its rows of the
/// targets table.
pub struct LoadFigures {
    pub bounds: Bounds,
    pub lambda: Vec<LambdaRow>,
    pub local: LocalLoad,
}

fn error_cell(run: &LoadRun) -> String {
    match &run.first_error {
        Some(first) if run.errors > 0 => {
            format!("{} (first: `{}`)", run.errors, first.replace('|', "\\|"))
        }
        _ => run.errors.to_string(),
    }
}

pub fn write_tables(out: &mut String, load: &LoadFigures) -> Result<(), BenchError> {
    let Bounds { requests, time } = load.bounds;
    writeln!(
        out,
        "\n## Under load\n\nClosed-loop load from the benchmark's own generator \
         (`tests/bench/src/load.rs`): each client sends its next request when its last \
         one is answered, every answer checked against the contract, until {requests} \
         answers or {:.0} s per cell, whichever comes first. \"Refused\" counts contract \
         answers for a bound that was hit (503 with `Retry-After`); \"errors\" counts \
         everything else. The generator, the server and the backends share the same \
         cores, as do the floors they are compared with.\n",
        time.as_secs_f64()
    )?;
    write_lambda_table(out, &load.lambda)?;
    write_local_table(out, &load.local)
}

/// The Lambda environments' table.
pub fn write_lambda_table(out: &mut String, lambda: &[LambdaRow]) -> Result<(), BenchError> {
    writeln!(
        out,
        "### One Lambda execution environment, many invocations at once\n\nThe function \
         started with `AWS_LAMBDA_MAX_CONCURRENCY` set to the number in flight (unset at \
         1: the classic loop), a fresh environment per row, release builds as deployed. \
         `GET /session` reads a session kept on Redis behind a proxy that holds every \
         answer {} ms (`tests/bench/src/delay_proxy.rs`): a backend that answers in \
         milliseconds, as DynamoDB does, and takes any number of requests at once. \
         `POST /jobs` and the worker's batches use moto, which answers one request at a \
         time, so their rows show the function queueing on moto rather than the \
         function itself; the jobs the `POST /jobs` rows make are the ones the worker \
         runs.\n",
        BACKEND_DELAY.as_millis()
    )?;
    writeln!(
        out,
        "| route | backend | in flight | invocations/s | × at 1 | p50 ms | p99 ms | peak RSS MiB | RSS × at 1 | refused | errors |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    for row in lambda {
        let Some((first, first_rss)) = row.runs.first() else {
            continue;
        };
        for (run, rss) in &row.runs {
            writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {} | {} |",
                row.label,
                row.backend,
                run.clients,
                run.throughput(),
                run.throughput() / first.throughput(),
                run.latency.p50,
                run.latency.p99,
                mib(*rss),
                *rss as f64 / (*first_rss).max(1) as f64,
                run.refused,
                error_cell(run),
            )?;
        }
    }
    Ok(())
}

/// The local server's table and its shared-session line.
pub fn write_local_table(out: &mut String, local: &LocalLoad) -> Result<(), BenchError> {
    writeln!(
        out,
        "\n### The local server\n\nThe release `skiff-local` (SQLite in a throw-away data \
         directory, its in-process worker running the jobs), every client logged in as \
         a user of its own, keep-alive HTTP/1.1 on loopback. `× floor` is the route's \
         throughput over `GET /health`'s at the same number of clients, in this run. \
         Every client is 127.0.0.1, so the per-client login throttle is raised for this \
         run. The server's peak RSS over the whole section: {} MiB.\n",
        mib(local.peak_rss_kib)
    )?;
    writeln!(
        out,
        "| route | clients | answers/s | × floor | p50 ms | p99 ms | p99 ÷ p50 | refused | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    let floor = local.rows.iter().find(|r| r.label == HEALTH);
    for row in &local.rows {
        for (i, run) in row.runs.iter().enumerate() {
            let floor = floor
                .and_then(|f| f.runs.get(i))
                .map_or(f64::NAN, LoadRun::throughput);
            writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} |",
                row.label,
                run.clients,
                run.throughput(),
                run.throughput() / floor,
                run.latency.p50,
                run.latency.p99,
                run.latency.p99 / run.latency.p50,
                run.refused,
                error_cell(run),
            )?;
        }
    }
    match &local.shared_session {
        Ok(summary) => writeln!(
            out,
            "\nOne session written by every client at once: {summary}."
        )?,
        Err(lost) => writeln!(
            out,
            "\nOne session written by every client at once: **lost updates**: {lost}."
        )?,
    }
    Ok(())
}

pub fn write_targets(out: &mut String, load: &LoadFigures) -> Result<(), BenchError> {
    if let Some(row) = load.lambda.iter().find(|r| r.label == LAMBDA_GET_SESSION)
        && let (Some((one, one_rss)), Some((most, most_rss))) = (row.runs.first(), row.runs.last())
    {
        let ratio = most.throughput() / one.throughput();
        writeln!(
            out,
            "| one Lambda environment, {LAMBDA_GET_SESSION} at {} in flight: ≥ 8× its throughput at 1 | {ratio:.2}× | {} |",
            most.clients,
            verdict(ratio >= 8.0)
        )?;
        let rss = *most_rss as f64 / (*one_rss).max(1) as f64;
        writeln!(
            out,
            "| one Lambda environment, {LAMBDA_GET_SESSION} at {} in flight: peak RSS ≤ 2× its peak at 1 | {rss:.2}× ({} MiB) | {} |",
            most.clients,
            mib(*most_rss),
            verdict(rss <= 2.0)
        )?;
    }
    for row in &load.lambda {
        let errors: usize = row.runs.iter().map(|(r, _)| r.errors).sum();
        writeln!(
            out,
            "| one Lambda environment, {}: no answer but contract answers | {errors} other answers | {} |",
            row.label,
            verdict(errors == 0)
        )?;
    }
    let at_most = |label: &str| {
        load.local
            .rows
            .iter()
            .find(|r| r.label == label)
            .and_then(|r| r.runs.last())
    };
    let errors: usize = load
        .local
        .rows
        .iter()
        .filter_map(|r| r.runs.last())
        .map(|r| r.errors)
        .sum();
    let clients = at_most(HEALTH).map_or(0, |r| r.clients);
    writeln!(
        out,
        "| local server at {clients} clients: no answer but contract answers, every route | {errors} other answers | {} |",
        verdict(errors == 0)
    )?;
    if let (Some(session), Some(health)) = (at_most(GET_SESSION), at_most(HEALTH)) {
        let ratio = session.throughput() / health.throughput();
        writeln!(
            out,
            "| local server at {clients} clients: {GET_SESSION} ≥ 0.5× the {HEALTH} floor | {ratio:.2}× | {} |",
            verdict(ratio >= 0.5)
        )?;
    }
    for row in &load.local.rows {
        if let Some(run) = row.runs.last() {
            let spread = run.latency.p99 / run.latency.p50;
            writeln!(
                out,
                "| local server at {clients} clients, {}: p99 ≤ 10× p50 | {spread:.1}× | {} |",
                row.label,
                verdict(spread <= 10.0)
            )?;
        }
    }
    writeln!(
        out,
        "| local server: one session written by every client at once loses no update | {} | {} |",
        match &load.local.shared_session {
            Ok(_) => "none lost".to_owned(),
            Err(lost) => lost.clone(),
        },
        verdict(load.local.shared_session.is_ok())
    )?;
    Ok(())
}
