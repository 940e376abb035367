//! Which spooled records Kinesis already took, kept across a restart so that a restart resends
//! only what may be missing.
//!
//! Kinesis takes records out of order (a failed entry is resent later, behind newer ones), so
//! "taken" is not one number: everything before `low` was taken, and of the records from `low`
//! up to `read_next` all but those still `in_flight` were taken too.
//!
//! It is saved after each PutRecords call, so saving must cost next to nothing: two slot files,
//! `acked.0` and `acked.1`, overwritten in place in turn, each a header (magic, generation,
//! length, CRC-32) and the state as JSON; the valid slot with the higher generation is the
//! state. Overwriting in place is one `pwrite`, where replacing a file by rename made ext4 write
//! the new file out at once (its `auto_da_alloc` guard), at every call. A save cut short (a
//! SIGKILL between pages, a power cut) leaves that slot failing its CRC and the other one, one
//! call older, in force: a few records are sent twice, none is skipped. No fsync either: a
//! process crash keeps what was written (the kernel has it), a power cut can leave the state
//! behind the truth, which again only means duplicates.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

const SLOT_FILES: [&str; 2] = ["acked.0", "acked.1"];
/// The single file replaced by rename that earlier versions wrote; read when no slot exists.
const LEGACY_FILE: &str = "acked.json";
const MAGIC: [u8; 4] = *b"ACK1";
/// Magic, generation (u64), payload length (u32), CRC-32 of generation and payload (u32).
const HEADER_BYTES: usize = 4 + 8 + 4 + 4;

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

#[derive(Debug)]
pub struct AckedFile {
    dir: PathBuf,
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    /// Opened at the first save.
    files: Option<[File; 2]>,
    /// The generation of the state in force; the next save writes one more.
    generation: u64,
}

impl AckedFile {
    pub fn new(dir: &Path) -> AckedFile {
        AckedFile {
            dir: dir.to_owned(),
            slots: Mutex::default(),
        }
    }

    /// What the last run recorded. No file at all is a new spool; slots that all fail their
    /// check cost only duplicates (every record is sent again), so that is logged and ignored.
    pub fn load(&self) -> Acked {
        let mut found: Option<(u64, Acked)> = None;
        let mut damaged = false;
        for name in SLOT_FILES {
            let path = self.dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) => match decode_slot(&bytes) {
                    Some((generation, acked)) => {
                        if found.as_ref().is_none_or(|(g, _)| generation > *g) {
                            found = Some((generation, acked));
                        }
                    }
                    None => damaged = true,
                },
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot read a spool acknowledgement slot");
                    damaged = true;
                }
            }
        }
        if let Some((generation, acked)) = found {
            if damaged {
                // The save that was cut short: the state one PutRecords call older is in force.
                tracing::info!(dir = %self.dir.display(), "one spool acknowledgement slot was cut short; using the other");
            }
            self.slots().generation = generation;
            return acked;
        }
        if damaged {
            tracing::warn!(dir = %self.dir.display(), "spool acknowledgement slots unreadable; every spooled post will be sent again");
            return Acked::default();
        }
        self.load_legacy()
    }

    fn load_legacy(&self) -> Acked {
        let path = self.dir.join(LEGACY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(path = %path.display(), %error, "spool acknowledgement file unreadable; every spooled post will be sent again");
                Acked::default()
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Acked::default(),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read the spool acknowledgement file; every spooled post will be sent again");
                Acked::default()
            }
        }
    }

    /// Overwrites the older slot with `acked`, one generation on.
    pub fn save(&self, acked: &Acked) -> std::io::Result<()> {
        let payload = serde_json::to_vec(acked).map_err(std::io::Error::other)?;
        let mut slots = self.slots();
        let first_save = slots.files.is_none();
        if first_save {
            let open = |name: &str| {
                File::options()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(self.dir.join(name))
            };
            slots.files = Some([open(SLOT_FILES[0])?, open(SLOT_FILES[1])?]);
        }
        let generation = slots.generation + 1;
        let slot = usize::from(generation % 2 == 1);
        if let Some(files) = &slots.files {
            files[slot].write_all_at(&encode_slot(generation, &payload), 0)?;
        }
        if first_save {
            // Written: the slots hold the state now, and an old file beside them would mislead.
            let _ = std::fs::remove_file(self.dir.join(LEGACY_FILE));
        }
        slots.generation = generation;
        Ok(())
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn encode_slot(generation: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&slot_crc(generation, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A slot's generation and state, or `None` when it is not a whole, unchanged slot. Bytes after
/// the payload are an older, longer save's tail, and ignored.
fn decode_slot(bytes: &[u8]) -> Option<(u64, Acked)> {
    let header = bytes.get(..HEADER_BYTES)?;
    if header[..4] != MAGIC {
        return None;
    }
    let generation = u64::from_le_bytes(header[4..12].try_into().ok()?);
    let length = usize::try_from(u32::from_le_bytes(header[12..16].try_into().ok()?)).ok()?;
    let crc = u32::from_le_bytes(header[16..20].try_into().ok()?);
    let payload = bytes.get(HEADER_BYTES..HEADER_BYTES.checked_add(length)?)?;
    if slot_crc(generation, payload) != crc {
        return None;
    }
    serde_json::from_slice(payload)
        .ok()
        .map(|acked| (generation, acked))
}

fn slot_crc(generation: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&generation.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
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

    fn state(low: u64, read_next: u64, in_flight: &[u64]) -> Acked {
        Acked {
            low,
            read_next,
            in_flight: in_flight.iter().copied().collect(),
        }
    }

    #[test]
    fn saved_state_loads_back_in_a_new_run_and_saves_go_on_from_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = AckedFile::new(dir.path());
        assert_eq!(file.load(), Acked::default());
        // Longer first, shorter after: the older, longer tail left in a slot is ignored.
        file.save(&state(3, 900, &[4, 7, 100, 200, 300]))
            .expect("save");
        file.save(&state(5, 900, &[7])).expect("save");
        file.save(&state(8, 9, &[])).expect("save");
        assert!(dir.path().join(SLOT_FILES[0]).exists() && dir.path().join(SLOT_FILES[1]).exists());
        let again = AckedFile::new(dir.path());
        assert_eq!(again.load(), state(8, 9, &[]));
        // The next run's saves win over the last run's.
        again.save(&state(9, 12, &[10])).expect("save");
        assert_eq!(AckedFile::new(dir.path()).load(), state(9, 12, &[10]));
    }

    #[test]
    fn a_save_cut_short_leaves_the_one_before_in_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = AckedFile::new(dir.path());
        file.save(&state(3, 9, &[4])).expect("save");
        file.save(&state(6, 9, &[])).expect("save");
        // The newest save is generation 2, in slot 0: cut it at every length, and flip a byte.
        let newest = dir.path().join(SLOT_FILES[0]);
        let whole = std::fs::read(&newest).expect("read");
        for cut in 0..whole.len() {
            std::fs::write(&newest, &whole[..cut]).expect("cut");
            assert_eq!(
                AckedFile::new(dir.path()).load(),
                state(3, 9, &[4]),
                "cut at {cut}"
            );
        }
        let mut flipped = whole.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x20;
        std::fs::write(&newest, &flipped).expect("flip");
        assert_eq!(AckedFile::new(dir.path()).load(), state(3, 9, &[4]));
        // Both damaged: every spooled post goes again, which duplicates and never skips.
        std::fs::write(dir.path().join(SLOT_FILES[1]), b"ACK1").expect("damage");
        assert_eq!(AckedFile::new(dir.path()).load(), Acked::default());
        assert!(!Acked::default().taken(1));
    }

    #[test]
    fn an_earlier_versions_file_is_read_and_then_replaced_by_the_slots() {
        let dir = tempfile::tempdir().expect("tempdir");
        let legacy = dir.path().join(LEGACY_FILE);
        std::fs::write(&legacy, br#"{"low":3,"read_next":9,"in_flight":[4,7]}"#).expect("legacy");
        let file = AckedFile::new(dir.path());
        assert_eq!(file.load(), state(3, 9, &[4, 7]));
        file.save(&state(5, 9, &[7])).expect("save");
        assert!(!legacy.exists());
        assert_eq!(AckedFile::new(dir.path()).load(), state(5, 9, &[7]));
        // A damaged file of an earlier version, and no slot: every spooled post goes again.
        let other = tempfile::tempdir().expect("tempdir");
        std::fs::write(other.path().join(LEGACY_FILE), b"{\"low\":").expect("damage");
        assert_eq!(AckedFile::new(other.path()).load(), Acked::default());
    }
}
