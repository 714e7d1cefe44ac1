//! Replay timing that keeps what must stay exact: the items that move
//! together, and planned shifts per group.
//!
//! Every span and log record carrying a trace id belongs to its trace's
//! group, and every data point to its metric stream's group (resource,
//! scope, metric name and point attributes). A group is named by a 64-bit
//! key; a host plans one shift per key over the whole session (the largest
//! that stamps none of the group's items later than its send time) and
//! passes the shifts of an object's keys with it. Items with no key (logs
//! without a trace id) keep their offsets inside the object, its newest at
//! the send time.
//!
//! Two groups sharing a key (a hash collision) share one shift, the smaller
//! of the two: each stays exact inside and none lands in the future.

/// No group: the item moves with the object's other ungrouped items.
pub const UNGROUPED: u64 = 0;

const TRACE_SEED: u64 = 0x7472_6163_652d_6964;
const STREAM_SEED: u64 = 0x7374_7265_616d_2d6b;
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: every input bit reaches every output bit.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A 64-bit hash of `bytes`, eight at a time. Stable: keys must agree
/// between a planning call and a later replay call, in any instance.
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(MULTIPLIER);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(MULTIPLIER).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    mix(h ^ u64::from_le_bytes(tail))
}

/// Folds `part` into `key`, order mattering.
pub fn combine(key: u64, part: u64) -> u64 {
    mix(key.wrapping_mul(MULTIPLIER) ^ part)
}

fn nonzero(key: u64) -> u64 {
    if key == UNGROUPED { 1 } else { key }
}

/// The group of a trace id; [`UNGROUPED`] unless it is 16 bytes and not all
/// zero (an unset id).
pub fn trace_key(trace_id: &[u8]) -> u64 {
    if trace_id.len() != 16 || trace_id.iter().all(|b| *b == 0) {
        return UNGROUPED;
    }
    nonzero(hash_bytes(TRACE_SEED, trace_id))
}

/// The attributes part of a stream key before any attribute.
pub const ATTRIBUTES_START: u64 = STREAM_SEED;

/// The attributes part of a stream key with one more attribute, given as
/// the [`stream_part`] of its encoded `KeyValue`: order matters.
pub fn add_attribute(part: u64, attribute: u64) -> u64 {
    combine(part, attribute)
}

/// A metric stream's key from the hashes of its parts: the point
/// attributes ([`add_attribute`]), the metric name, the scope and the
/// resource (each its [`stream_part`]).
pub fn stream_key(attributes: u64, name: u64, scope: u64, resource: u64) -> u64 {
    nonzero(combine(combine(combine(attributes, name), scope), resource))
}

/// The newest timestamp of each group in one object, for planning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extents {
    /// `(key, newest non-zero timestamp)`, sorted by key, one per key.
    pub groups: Vec<(u64, u64)>,
    /// The newest non-zero timestamp of the ungrouped items, 0 for none.
    pub ungrouped_newest: u64,
}

impl Extents {
    /// Extents of `(key, timestamp)` pairs.
    pub fn of(stamps: impl IntoIterator<Item = (u64, u64)>) -> Extents {
        let mut extents = Extents::default();
        for (key, time) in stamps {
            if time == 0 {
                continue;
            }
            if key == UNGROUPED {
                extents.ungrouped_newest = extents.ungrouped_newest.max(time);
            } else {
                extents.groups.push((key, time));
            }
        }
        extents.groups.sort_unstable();
        // Sorted by key then time: the last of each run of a key is its newest.
        let mut newest: Vec<(u64, u64)> = Vec::with_capacity(extents.groups.len());
        for (key, time) in extents.groups.drain(..) {
            match newest.last_mut() {
                Some(last) if last.0 == key => last.1 = time,
                _ => newest.push((key, time)),
            }
        }
        extents.groups = newest;
        extents
    }
}

/// Shifts planned for one object's groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    /// `(key, shift in nanoseconds)`, sorted by key. A group missing here
    /// moves with the ungrouped items.
    pub shifts: Vec<(u64, i64)>,
    /// Where the newest ungrouped item lands (unix nanos): the object's send
    /// time.
    pub ungrouped_newest_at: u64,
}

impl Planned {
    fn shift_of(&self, key: u64) -> Option<i64> {
        if key == UNGROUPED {
            return None;
        }
        self.shifts.binary_search_by_key(&key, |(k, _)| *k).ok().map(|at| self.shifts[at].1)
    }
}

/// What applying a plan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The shift of the object's newest item, 0 when it has none.
    pub newest_shift: i64,
    /// Earliest non-zero and latest timestamp after the rewrite, `(0, 0)`
    /// when there is none.
    pub bounds: (u64, u64),
}

/// Applies `planned` to timestamps that `each` visits (called twice with
/// the same pairs in the same order): each group by its shift, ungrouped
/// items (and groups without a planned shift) by the one offset that puts
/// their newest at `ungrouped_newest_at`. Zero stays zero; arithmetic
/// saturates.
pub fn apply(planned: &Planned, mut each: impl FnMut(&mut dyn FnMut(u64, &mut u64))) -> Applied {
    let mut cached: Option<(u64, Option<i64>)> = None;
    let mut lookup = |key: u64| match cached {
        Some((k, found)) if k == key => found,
        _ => {
            let found = planned.shift_of(key);
            cached = Some((key, found));
            found
        }
    };
    let mut ungrouped_newest = 0;
    each(&mut |key, t| {
        if lookup(key).is_none() {
            ungrouped_newest = ungrouped_newest.max(*t);
        }
    });
    let ungrouped_shift =
        if ungrouped_newest == 0 { 0 } else { i128::from(planned.ungrouped_newest_at) - i128::from(ungrouped_newest) };
    let (mut newest, mut newest_shift) = (0u64, 0i128);
    let (mut min, mut max) = (u64::MAX, 0u64);
    each(&mut |key, t| {
        if *t == 0 {
            return;
        }
        let offset = lookup(key).map_or(ungrouped_shift, i128::from);
        if *t > newest {
            (newest, newest_shift) = (*t, offset);
        }
        *t = shift(*t, offset);
        min = min.min(*t);
        max = max.max(*t);
    });
    Applied { newest_shift: saturate(newest_shift), bounds: if max == 0 { (0, 0) } else { (min, max) } }
}

/// An offset as the `i64` shift reported for it, saturated at the ends.
pub fn saturate(offset: i128) -> i64 {
    i64::try_from(offset).unwrap_or(if offset < 0 { i64::MIN } else { i64::MAX })
}

/// Moves one timestamp by `offset`: zero stays zero, and a set timestamp
/// stays set (never below 1) and never wraps past `u64::MAX`.
pub fn shift(timestamp: u64, offset: i128) -> u64 {
    if timestamp == 0 {
        return 0;
    }
    // Both operands lie within ±2^64, so the i128 sum cannot overflow.
    (i128::from(timestamp) + offset).clamp(1, i128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_trace_ids_are_ungrouped() {
        assert_eq!(trace_key(&[]), UNGROUPED);
        assert_eq!(trace_key(&[0; 16]), UNGROUPED);
        assert_eq!(trace_key(&[1; 8]), UNGROUPED);
        assert_ne!(trace_key(&[1; 16]), trace_key(&[2; 16]));
        assert_ne!(trace_key(&[1; 16]), UNGROUPED);
    }

    #[test]
    fn extents_keep_the_newest_per_key_and_skip_zero() {
        let extents = Extents::of([(5, 10), (3, 7), (5, 30), (UNGROUPED, 4), (UNGROUPED, 9), (3, 0), (8, 0)]);
        assert_eq!(extents.groups, [(3, 7), (5, 30)]);
        assert_eq!(extents.ungrouped_newest, 9);
    }

    #[test]
    fn groups_move_by_their_shift_and_the_rest_by_the_ungrouped_newest() {
        let stamps = [(1u64, 100u64), (1, 150), (2, 120), (UNGROUPED, 90), (UNGROUPED, 0), (3, 140)];
        let mut values: Vec<u64> = stamps.iter().map(|s| s.1).collect();
        let planned = Planned { shifts: vec![(1, 1000), (2, -20)], ungrouped_newest_at: 500 };
        let applied = apply(&planned, |visit| {
            for ((key, _), value) in stamps.iter().zip(values.iter_mut()) {
                visit(*key, value);
            }
        });
        // Key 3 has no planned shift: it moves with the ungrouped items, whose newest (140) lands at 500.
        assert_eq!(values, [1100, 1150, 100, 450, 0, 500]);
        assert_eq!(applied, Applied { newest_shift: 1000, bounds: (100, 1150) });
    }
}
