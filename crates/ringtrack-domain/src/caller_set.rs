//! Sets of callers, for counting distinct callers over any period exactly without reading
//! calls. Each caller of a business has a small number (1, 2, 3, … in order of their first
//! call); a day's callers are kept as one compact set of those numbers, and the distinct
//! callers of a period are the size of the union of its days' sets.

use std::fmt;

/// The numbers of a day's callers, sorted. Stored as the gaps between them in LEB128
/// varints: about one byte per caller when a business has a few hundred thousand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerSet {
    members: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptCallerSet;

impl fmt::Display for CorruptCallerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a stored caller set is not a valid encoding")
    }
}

impl std::error::Error for CorruptCallerSet {}

impl CallerSet {
    pub fn decode(bytes: &[u8]) -> Result<CallerSet, CorruptCallerSet> {
        let mut members = Vec::with_capacity(bytes.len());
        let mut previous = 0u32;
        let mut value = 0u64;
        let mut shift = 0;
        for &byte in bytes {
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                let member = u64::from(previous) + value;
                previous = u32::try_from(member).map_err(|_| CorruptCallerSet)?;
                if value == 0 && !members.is_empty() {
                    return Err(CorruptCallerSet);
                }
                members.push(previous);
                value = 0;
                shift = 0;
            } else {
                shift += 7;
                if shift > 28 {
                    return Err(CorruptCallerSet);
                }
            }
        }
        if shift != 0 {
            return Err(CorruptCallerSet);
        }
        Ok(CallerSet { members })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.members.len() + 4);
        let mut previous = 0u32;
        for &member in &self.members {
            let mut gap = member - previous;
            previous = member;
            while gap >= 0x80 {
                out.push((gap as u8 & 0x7f) | 0x80);
                gap >>= 7;
            }
            out.push(gap as u8);
        }
        out
    }

    /// Adds a caller; answers whether they were new to the set.
    pub fn insert(&mut self, caller: u32) -> bool {
        match self.members.binary_search(&caller) {
            Ok(_) => false,
            Err(at) => {
                self.members.insert(at, caller);
                true
            }
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// The callers of several days (and loose callers, from parts of days) counted once each.
#[derive(Debug, Default)]
pub struct CallerUnion {
    bits: Vec<u64>,
    count: u64,
}

impl CallerUnion {
    pub fn add(&mut self, caller: u32) {
        let (word, bit) = ((caller / 64) as usize, caller % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if self.bits[word] & mask == 0 {
            self.bits[word] |= mask;
            self.count += 1;
        }
    }

    pub fn add_set(&mut self, set: &CallerSet) {
        for &caller in &set.members {
            self.add(caller);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_through_their_encoding() {
        let mut set = CallerSet::default();
        for caller in [300_000, 1, 2, 129, 16_384, 1, 4_000_000_000] {
            set.insert(caller);
        }
        assert_eq!(set.len(), 6);
        let bytes = set.encode();
        // 1, +1, +127, +16255, +283616, +3999700000: one, one, one, two, three, five bytes.
        assert_eq!(bytes.len(), 13);
        assert_eq!(CallerSet::decode(&bytes).unwrap(), set);
        assert_eq!(CallerSet::decode(&[]).unwrap(), CallerSet::default());
    }

    #[test]
    fn inserting_a_member_again_changes_nothing() {
        let mut set = CallerSet::default();
        assert!(set.insert(7));
        assert!(!set.insert(7));
        assert_eq!(set.encode(), vec![7]);
    }

    #[test]
    fn damaged_encodings_are_refused() {
        // A varint cut short, a repeated member (gap 0), a gap past u32.
        assert_eq!(CallerSet::decode(&[0x85]), Err(CorruptCallerSet));
        assert_eq!(CallerSet::decode(&[5, 0]), Err(CorruptCallerSet));
        assert_eq!(CallerSet::decode(&[0xff, 0xff, 0xff, 0xff, 0x1f]), Err(CorruptCallerSet));
    }

    #[test]
    fn a_union_counts_each_caller_once() {
        let day = |callers: &[u32]| {
            let mut set = CallerSet::default();
            callers.iter().for_each(|&c| {
                set.insert(c);
            });
            set
        };
        let mut union = CallerUnion::default();
        union.add_set(&day(&[1, 2, 3]));
        union.add_set(&day(&[3, 4, 500]));
        union.add(2);
        union.add(64);
        assert_eq!(union.count(), 6);
    }
}
