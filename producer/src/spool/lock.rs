//! One producer per spool: an exclusive lock on `DIR/lock`, held for the life of the process and
//! released by the kernel however the process ends (a crash included), so a stale lock never
//! blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::ProducerError;

const LOCK_FILE: &str = "lock";

/// The held lock; dropping it releases the spool.
#[derive(Debug)]
pub struct SpoolLock {
    _file: File,
}

/// Takes the spool's lock, or says which process holds it.
pub fn acquire(dir: &Path) -> Result<SpoolLock, ProducerError> {
    let failed = |detail: String| ProducerError::Spool {
        dir: dir.display().to_string(),
        detail,
    };
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| failed(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(ProducerError::SpoolLocked {
                dir: dir.display().to_string(),
                pid: if pid.is_empty() { "unknown" } else { pid }.to_owned(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(failed(format!("cannot lock: {e}"))),
    }
    // The pid is for the error message of a second producer; the lock itself is the kernel's.
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    if let Err(e) = written {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the pid into the spool lock");
    }
    Ok(SpoolLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = acquire(dir.path()).expect("first");
        let error = acquire(dir.path()).expect_err("second");
        let text = error.to_string();
        assert!(
            text.contains(&std::process::id().to_string()),
            "names the holder: {text}"
        );
        assert!(text.contains("--spool-dir"), "{text}");
        assert_eq!(error.exit_code(), std::process::ExitCode::from(2));
        drop(first);
        assert!(acquire(dir.path()).is_ok(), "free again once released");
    }
}
