//! The planning table of `current` replay: for each group (trace or metric
//! stream) the least, over the objects holding it, of its send time minus
//! its newest item, in a fixed amount of memory whatever the session's size.
//!
//! Open addressing over preallocated slots. Once the table is at its largest
//! and a key finds no free slot near its home, the key is folded into its
//! home slot: that slot keeps the least of both values, and the folded key
//! reads it back. Both groups still move by one offset each and neither
//! lands after its send time; they only look less fresh than they could.

/// How far a key may sit from its home slot.
const PROBE_LIMIT: usize = 64;

/// Free slot marker; group keys are never 0.
const EMPTY: u64 = 0;

/// Group key → least slack, bounded.
#[derive(Debug)]
pub struct SlackTable {
    keys: Vec<u64>,
    slacks: Vec<i64>,
    len: usize,
    max_slots: usize,
    folded: u64,
}

impl SlackTable {
    /// A table that grows up to `max_slots` (rounded up to a power of two;
    /// 16 bytes each).
    pub fn new(max_slots: usize) -> SlackTable {
        let max_slots = max_slots.max(PROBE_LIMIT).next_power_of_two();
        let slots = 1024.min(max_slots);
        SlackTable { keys: vec![EMPTY; slots], slacks: vec![0; slots], len: 0, max_slots, folded: 0 }
    }

    /// Keys kept in slots of their own.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Keys that found no slot of their own and share their home slot's value.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// Bytes the slots take.
    pub fn bytes(&self) -> usize {
        self.keys.len() * 16
    }

    fn mask(&self) -> usize {
        self.keys.len() - 1
    }

    fn home(&self, key: u64) -> usize {
        // Keys are hashes already: their low bits are as good as any.
        (key as usize) & self.mask()
    }

    /// Where `key` sits, or the first free slot in its reach.
    fn probe(&self, key: u64) -> Result<usize, Option<usize>> {
        let home = self.home(key);
        for step in 0..PROBE_LIMIT {
            let at = (home + step) & self.mask();
            match self.keys[at] {
                k if k == key => return Ok(at),
                EMPTY => return Err(Some(at)),
                _ => {}
            }
        }
        Err(None)
    }

    /// Records that `key` needs a slack of at most `slack`.
    pub fn lower(&mut self, key: u64, slack: i64) {
        debug_assert_ne!(key, EMPTY);
        loop {
            match self.probe(key) {
                Ok(at) => {
                    self.slacks[at] = self.slacks[at].min(slack);
                    return;
                }
                Err(free) => {
                    let crowded = (self.len + 1) * 8 > self.keys.len() * 7 || free.is_none();
                    if crowded && self.keys.len() < self.max_slots {
                        self.grow();
                        continue;
                    }
                    match free {
                        Some(at) => {
                            self.keys[at] = key;
                            self.slacks[at] = slack;
                            self.len += 1;
                        }
                        None => {
                            let home = self.home(key);
                            self.slacks[home] = self.slacks[home].min(slack);
                            self.folded += 1;
                        }
                    }
                    return;
                }
            }
        }
    }

    /// The slack for `key`: its own, its home slot's when it was folded, or
    /// `None` when it was never recorded.
    pub fn get(&self, key: u64) -> Option<i64> {
        match self.probe(key) {
            Ok(at) => Some(self.slacks[at]),
            Err(Some(_)) => None,
            Err(None) => Some(self.slacks[self.home(key)]),
        }
    }

    fn grow(&mut self) {
        let slots = self.keys.len() * 2;
        let keys = std::mem::replace(&mut self.keys, vec![EMPTY; slots]);
        let slacks = std::mem::replace(&mut self.slacks, vec![0; slots]);
        self.len = 0;
        for (key, slack) in keys.into_iter().zip(slacks).filter(|(k, _)| *k != EMPTY) {
            self.lower(key, slack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_least_slack_per_key_and_grows() {
        let mut table = SlackTable::new(1 << 16);
        for key in 1..=5000u64 {
            table.lower(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, 100);
            table.lower(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, key as i64);
        }
        assert_eq!(table.len(), 5000);
        assert_eq!(table.folded(), 0);
        for key in 1..=5000u64 {
            assert_eq!(table.get(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1), Some((key as i64).min(100)));
        }
        assert_eq!(table.get(2), None);
    }

    #[test]
    fn a_full_table_folds_keys_into_their_home_and_never_raises_a_slack() {
        let mut table = SlackTable::new(1024);
        let keys: Vec<u64> = (1..=4000u64).map(|k| k.wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1).collect();
        for (n, key) in keys.iter().enumerate() {
            table.lower(*key, n as i64);
        }
        assert_eq!(table.bytes(), 1024 * 16, "the table stays at its largest");
        assert!(table.folded() > 0);
        for (n, key) in keys.iter().enumerate() {
            let slack = table.get(*key).expect("every recorded key reads a value");
            assert!(slack <= n as i64, "key {n}: {slack} is above what it needs");
        }
    }
}
