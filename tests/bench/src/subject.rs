//! A function under test: how to start one execution environment of it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[derive(Clone, Debug)]
pub struct Subject {
    pub name: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub dir: Option<PathBuf>,
    /// The stripped binary measured for size (None for the Python peer).
    pub binary_size: Option<u64>,
}

impl Subject {
    /// Starts the process as Lambda does: a clean environment with the function's
    /// variables and the Runtime API's `host:port` (no scheme, as on Lambda).
    pub fn spawn(&self, runtime_api: std::net::SocketAddr) -> std::io::Result<Child> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", self.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("LANG", "C.UTF-8")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command.spawn()
    }
}

/// Peak resident set size (VmHWM) of a live process, in KiB.
pub fn peak_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time of a live process, user and system, all its threads (the ones that
/// have exited included), read from its CPU-time clock (`clock_getcpuclockid`):
/// nanoseconds, where `/proc/<pid>/stat` counts 10 ms ticks, a 4 % step on the
/// Rust worker's whole measured round.
pub fn cpu_time(child: &Child) -> Option<std::time::Duration> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).ok()?);
    let clock = nix::time::clock_getcpuclockid(pid).ok()?;
    let spent = nix::time::clock_gettime(clock).ok()?;
    Some(std::time::Duration::from(spent))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that has spent less than one 10 ms tick (a fresh `sleep`) shows
    /// the CPU it did spend, and a busy one's time grows between two readings; a
    /// reaped process has no clock to read.
    #[test]
    fn cpu_time_counts_below_a_tick_and_grows_with_work() {
        let mut idle = Command::new("sleep").arg("5").spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let spent = cpu_time(&idle).unwrap();
        assert!(spent > std::time::Duration::ZERO, "{spent:?}");
        idle.kill().unwrap();
        idle.wait().unwrap();
        assert_eq!(cpu_time(&idle), None);

        let mut busy = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap();
        let first = cpu_time(&busy).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let second = cpu_time(&busy).unwrap();
        busy.kill().unwrap();
        busy.wait().unwrap();
        assert!(second > first, "{first:?} then {second:?}");
    }
}
