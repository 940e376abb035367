//! The progress line, in the real binary against DynamoDB Local: drawn on stderr when stderr is
//! a terminal (a pseudo-terminal here) for `stats`, `report` and `keywords`, and nowhere else:
//! not in `--json` or `--csv`, not for the short reads, not in a pipe. stdout is the same
//! either way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::File;
use std::io::Read;
use std::process::Stdio;

use common::{Env, corpus, query_command};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

const LINE: &str = " items read (";

/// What a run printed: stdout, and what reached the terminal on stderr.
struct OnTerminal {
    code: Option<i32>,
    stdout: String,
    terminal: String,
}

/// Runs the binary with stderr on a new pseudo-terminal, 100 columns wide, stdout a pipe.
fn run_on_terminal(env: &Env, args: &[&str]) -> OnTerminal {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    tcsetwinsize(
        &master,
        Winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("window size");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = File::options()
        .read(true)
        .write(true)
        .open(name.to_str().expect("utf-8 path"))
        .expect("open the terminal");

    let mut command = query_command(args);
    command
        .envs(env.env())
        .env("TABLE_NAME", &env.table)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(terminal));
    let child = command.spawn().expect("spawn twitter-query");
    // The child holds the only other end now: reading ends when it exits.
    drop(command);
    let mut master = File::from(master);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        // Linux answers EIO once no process holds the terminal: the end, not a failure.
        let _ = master.read_to_end(&mut seen);
        seen
    });
    let output = child.wait_with_output().expect("wait");
    let seen = reader.join().expect("reader");
    OnTerminal {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        terminal: String::from_utf8_lossy(&seen).into_owned(),
    }
}

#[tokio::test]
async fn long_reads_show_a_progress_line_on_a_terminal_and_nowhere_else() {
    let env = Env::start().await;
    let corpus = corpus();
    env.seed(&corpus).await;
    let report = tempfile::tempdir().unwrap();
    let report_path = report.path().join("beta.html");
    let report_path = report_path.to_str().unwrap();

    let long: [(&[&str], &str); 3] = [
        (&["stats", "beta", "--by", "lang"], "reading \"beta\": "),
        (&["keywords"], "reading the keyword index: "),
        (
            &["report", "beta", "--out", report_path],
            "reading \"beta\": ",
        ),
    ];
    for (args, what) in long {
        let shown = run_on_terminal(&env, args);
        assert_eq!(shown.code, Some(0), "{args:?}: {}", shown.terminal);
        assert!(
            shown.terminal.contains(what) && shown.terminal.contains(LINE),
            "{args:?} drew no progress line: {:?}",
            shown.terminal
        );
        // In a pipe: no line, and the same answer on stdout.
        let piped = env.run(args).ok();
        assert_eq!(piped.stderr, "", "{args:?} in a pipe");
        assert_eq!(shown.stdout, piped.text(), "{args:?}: stdout changed");
    }

    let quiet: [&[&str]; 5] = [
        &["stats", "beta", "--by", "lang", "--json"],
        &["stats", "beta", "--by", "lang", "--csv"],
        &["keywords", "--json"],
        &["latest", "beta"],
        &[
            "rate",
            "beta",
            "--since",
            "2026-01-01T21:00:00Z",
            "--until",
            "2026-01-01T22:00:00Z",
        ],
    ];
    for args in quiet {
        let shown = run_on_terminal(&env, args);
        assert_eq!(shown.code, Some(0), "{args:?}: {}", shown.terminal);
        assert!(
            !shown.terminal.contains(LINE),
            "{args:?} drew a progress line: {:?}",
            shown.terminal
        );
        assert!(!shown.stdout.is_empty(), "{args:?} printed nothing");
    }
}
