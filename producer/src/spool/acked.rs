//! Which spooled records Kinesis already took, kept across a restart so that a restart resends
//! only what may be missing.
//!
//! Kinesis takes records out of order (a failed entry is resent later, behind newer ones), so
//! "taken" is not one number: everything before `low` was taken, and of the records from `low`
//! up to `read_next` all but those still `in_flight` were taken too. The file is replaced after
//! each PutRecords call without an fsync: a process crash keeps it (the kernel has it), a power
//! cut can leave it behind the truth, which only means a few records are sent twice.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const ACKED_FILE: &str = "acked.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acked {
    /// Every record before this one was taken.
    pub low: u64,
    /// The first record not yet handed to the writer.
    pub read_next: u64,
    /// Handed to the writer and not taken, at or after `low`.
    pub in_flight: BTreeSet<u64>,
}

impl Acked {
    /// Whether Kinesis took record `seq` already.
    pub fn taken(&self, seq: u64) -> bool {
        seq < self.low || (seq < self.read_next && !self.in_flight.contains(&seq))
    }

    /// The first sequence number no record of an earlier run can have.
    pub fn next_seq(&self) -> u64 {
        self.low.max(self.read_next)
    }
}

#[derive(Debug, Clone)]
pub struct AckedFile {
    path: PathBuf,
}

impl AckedFile {
    pub fn new(dir: &Path) -> AckedFile {
        AckedFile {
            path: dir.join(ACKED_FILE),
        }
    }

    /// What the last run recorded. A missing file is a new spool; an unreadable one costs only
    /// duplicates (every record is sent again), so it is logged and ignored.
    pub fn load(&self) -> Acked {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(path = %self.path.display(), %error, "spool acknowledgement file unreadable; every spooled post will be sent again");
                Acked::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Acked::default(),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot read the spool acknowledgement file; every spooled post will be sent again");
                Acked::default()
            }
        }
    }

    /// Replaces the file atomically (a reader never sees half of it).
    pub fn save(&self, acked: &Acked) -> std::io::Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(acked).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_means_before_low_or_read_and_not_in_flight() {
        let acked = Acked {
            low: 10,
            read_next: 15,
            in_flight: [10, 12].into(),
        };
        let taken: Vec<u64> = (5..18).filter(|&s| acked.taken(s)).collect();
        assert_eq!(taken, [5, 6, 7, 8, 9, 11, 13, 14]);
        assert_eq!(acked.next_seq(), 15);
    }

    #[test]
    fn saved_state_loads_back_and_a_damaged_file_means_resend_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = AckedFile::new(dir.path());
        assert_eq!(file.load(), Acked::default());
        let acked = Acked {
            low: 3,
            read_next: 9,
            in_flight: [4, 7].into(),
        };
        file.save(&acked).expect("save");
        assert_eq!(file.load(), acked);
        std::fs::write(dir.path().join(ACKED_FILE), b"{\"low\":").expect("damage");
        assert_eq!(file.load(), Acked::default());
        assert!(!Acked::default().taken(1));
    }
}
