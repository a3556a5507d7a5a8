//! A fast keyed hasher for the relay tables. Every relayed packet costs one or two hash
//! lookups (5-tuple → allocation, channel or peer → binding); the standard SipHash is built to
//! resist attackers who choose many keys, which here they cannot: only authenticated clients
//! insert keys, and each allocation holds a bounded number of peers. A multiply-rotate hash
//! with a per-server seed and a final mix does the job in a few cycles.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// Hash map with [`FastState`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

const K: u64 = 0x517C_C1B7_2722_0A95;

/// Builds [`FastHasher`]s from a seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastState {
    seed: u64,
}

impl FastState {
    pub(crate) fn new(seed: u64) -> FastState {
        FastState { seed }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher { h: self.seed }
    }
}

/// Multiply-rotate hasher; see the module comment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastHasher {
    h: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.h = (self.h.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(rest) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // MurmurHash3's 64-bit finalizer, so the high bits (hashbrown's control bytes) and the
        // low bits (its bucket index) both depend on every input bit.
        let mut z = self.h;
        z ^= z >> 33;
        z = z.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        z ^= z >> 33;
        z = z.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        z ^ (z >> 33)
    }
}
