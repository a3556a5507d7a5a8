//! Unpredictable tokens (tags, branches, nonces, Call-IDs) without a clock or an RNG inside
//! the protocol code: the runtime seeds a source with random bytes, tests with fixed ones, and
//! every token is a hash of the seed and a counter.

use sha2::{Digest as _, Sha256};

/// A deterministic token source.
#[derive(Clone, Debug)]
pub struct Tokens {
    seed: [u8; 16],
    counter: u64,
}

impl Tokens {
    /// A source seeded with `seed` (random in production).
    pub fn new(seed: [u8; 16]) -> Self {
        Tokens { seed, counter: 0 }
    }

    /// The next token: `len` lower-case hex characters (at most 64).
    pub fn next(&mut self, len: usize) -> String {
        self.counter += 1;
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(self.counter.to_be_bytes());
        let mut s = hex::encode(h.finalize());
        s.truncate(len.min(64));
        s
    }
}
