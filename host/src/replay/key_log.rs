//! The group keys of each object, noted by the planning pass and read back
//! when the object is sent, so the component gets the shifts of exactly the
//! groups it holds. Kept in memory while small, then in an unlinked
//! temporary file: a large session's keys would not fit the replay's memory.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

/// Keys held in memory before they move to a file (8 bytes each).
const MEMORY_KEYS: usize = 64 * 1024;

/// Per-object key lists, appended in object order.
#[derive(Debug)]
pub struct KeyLog {
    /// Where each object's keys start and how many there are.
    index: Vec<(u64, u32)>,
    written: u64,
    backing: Backing,
}

#[derive(Debug)]
enum Backing {
    Memory(Vec<u64>),
    File(BufWriter<File>),
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog { index: Vec::new(), written: 0, backing: Backing::Memory(Vec::new()) }
    }
}

impl KeyLog {
    /// Notes the keys of object `object`, which must follow the last noted.
    /// Objects skipped in between hold no keys.
    pub fn append(&mut self, object: usize, keys: impl ExactSizeIterator<Item = u64>) -> std::io::Result<()> {
        self.index.resize(object, (self.written, 0));
        let count = keys.len();
        self.index.push((self.written, u32::try_from(count).unwrap_or(u32::MAX)));
        if let Backing::Memory(memory) = &mut self.backing {
            memory.extend(keys.take(u32::MAX as usize));
            if memory.len() > MEMORY_KEYS
                && let Some(file) = spill_file(memory)
            {
                self.backing = Backing::File(file);
            }
        } else if let Backing::File(file) = &mut self.backing {
            for key in keys.take(u32::MAX as usize) {
                file.write_all(&key.to_le_bytes())?;
            }
        }
        self.written += count.min(u32::MAX as usize) as u64;
        Ok(())
    }

    /// The keys noted for `object`, empty when none were.
    pub fn read(&mut self, object: usize) -> std::io::Result<Vec<u64>> {
        let Some(&(start, count)) = self.index.get(object) else { return Ok(Vec::new()) };
        match &mut self.backing {
            Backing::Memory(memory) => Ok(memory[start as usize..start as usize + count as usize].to_vec()),
            Backing::File(writer) => {
                writer.flush()?;
                let file = writer.get_mut();
                file.seek(SeekFrom::Start(start * 8))?;
                let mut bytes = vec![0u8; count as usize * 8];
                file.read_exact(&mut bytes)?;
                file.seek(SeekFrom::End(0))?;
                Ok(bytes.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).collect())
            }
        }
    }

    /// Whether the keys live in a file.
    pub fn on_disk(&self) -> bool {
        matches!(self.backing, Backing::File(_))
    }
}

/// A new unlinked file in the temporary directory holding `keys`; `None`
/// (the keys stay in memory) when none can be made.
fn spill_file(keys: &mut Vec<u64>) -> Option<BufWriter<File>> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("otlp-capture-replay-{}-{:016x}.keys", std::process::id(), fastrand::u64(..)));
    let made = File::options().read(true).write(true).create_new(true).open(&path).and_then(|file| {
        // Unlinked at once: the file goes when the replay does, however it ends.
        std::fs::remove_file(&path)?;
        let mut writer = BufWriter::with_capacity(64 * 1024, file);
        for key in keys.iter() {
            writer.write_all(&key.to_le_bytes())?;
        }
        Ok(writer)
    });
    match made {
        Ok(writer) => {
            *keys = Vec::new();
            Some(writer)
        }
        Err(e) => {
            tracing::warn!("cannot keep the replay plan's keys in {} ({e}); keeping them in memory", dir.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_each_objects_keys_from_memory_and_from_the_file() {
        let mut log = KeyLog::default();
        log.append(0, [1u64, 2, 3].into_iter()).unwrap();
        log.append(2, [4u64].into_iter()).unwrap();
        assert!(!log.on_disk());
        assert_eq!(log.read(0).unwrap(), [1, 2, 3]);
        assert_eq!(log.read(1).unwrap(), Vec::<u64>::new());
        assert_eq!(log.read(2).unwrap(), [4]);
        let big: Vec<u64> = (0..MEMORY_KEYS as u64 + 10).collect();
        log.append(3, big.iter().copied()).unwrap();
        log.append(4, [7u64, 8].into_iter()).unwrap();
        assert!(log.on_disk());
        assert_eq!(log.read(0).unwrap(), [1, 2, 3]);
        assert_eq!(log.read(3).unwrap(), big);
        assert_eq!(log.read(4).unwrap(), [7, 8]);
        assert_eq!(log.read(9).unwrap(), Vec::<u64>::new());
    }
}
