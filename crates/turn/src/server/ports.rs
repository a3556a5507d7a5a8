//! The relay port pool of one relay address: which ports of the range are in use by an
//! allocation or held by a reservation (RFC 8656 §7.2, EVEN-PORT with the R bit). A bitset of
//! the whole 16-bit port space, so a changed range never loses track of ports still in use,
//! and a search that skips full words, so finding a port stays cheap when the pool is nearly
//! full.

/// Ports in use on one relay address.
pub(crate) struct PortPool {
    used: Box<[u64; 1024]>,
    count: usize,
}

impl PortPool {
    pub(crate) fn new() -> PortPool {
        PortPool {
            used: Box::new([0; 1024]),
            count: 0,
        }
    }

    fn word(&self, port: u16) -> u64 {
        self.used
            .get(usize::from(port / 64))
            .copied()
            .unwrap_or(u64::MAX)
    }

    pub(crate) fn is_free(&self, port: u16) -> bool {
        self.word(port) & (1 << (port % 64)) == 0
    }

    /// Marks `port` used; false if it already was.
    pub(crate) fn take(&mut self, port: u16) -> bool {
        let Some(w) = self.used.get_mut(usize::from(port / 64)) else {
            return false;
        };
        let bit = 1 << (port % 64);
        if *w & bit != 0 {
            return false;
        }
        *w |= bit;
        self.count += 1;
        true
    }

    /// Marks `port` free.
    pub(crate) fn release(&mut self, port: u16) {
        if let Some(w) = self.used.get_mut(usize::from(port / 64)) {
            let bit = 1 << (port % 64);
            if *w & bit != 0 {
                *w &= !bit;
                self.count -= 1;
            }
        }
    }

    /// Ports in use.
    pub(crate) fn in_use(&self) -> usize {
        self.count
    }

    /// The first free port of `min..=max` at or after `start`, wrapping around once. With
    /// `even`, only even ports; with `pair`, the next port must be free and in range too
    /// (RFC 8656 §7.2: EVEN-PORT with R reserves port + 1).
    pub(crate) fn find(
        &self,
        min: u16,
        max: u16,
        start: u16,
        even: bool,
        pair: bool,
    ) -> Option<u16> {
        if min == 0 || min > max {
            return None;
        }
        let span = u32::from(max - min) + 1;
        let start = u32::from(start.clamp(min, max) - min);
        let mut i = 0u32;
        while i < span {
            let off = (start + i) % span;
            let port = min + off as u16;
            if self.word(port) == u64::MAX {
                // Skip the rest of this full word, but not past `max` (where the search wraps).
                let to_word_end = 64 - u32::from(port % 64);
                let to_max = u32::from(max - port) + 1;
                i += to_word_end.min(to_max);
                continue;
            }
            i += 1;
            if !self.is_free(port) || (even && port % 2 != 0) {
                continue;
            }
            if pair && (port == max || !self.is_free(port + 1)) {
                continue;
            }
            return Some(port);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_take_release() {
        let mut p = PortPool::new();
        assert_eq!(p.find(100, 103, 102, false, false), Some(102));
        assert!(p.take(102));
        assert!(!p.take(102));
        assert_eq!(p.find(100, 103, 102, false, false), Some(103));
        assert!(p.take(103));
        assert_eq!(p.find(100, 103, 102, false, false), Some(100));
        assert_eq!(p.find(100, 103, 101, true, true), Some(100));
        assert!(p.take(100) && p.take(101));
        assert_eq!(p.find(100, 103, 100, false, false), None);
        assert_eq!(p.in_use(), 4);
        p.release(101);
        p.release(101);
        assert_eq!(p.in_use(), 3);
        assert_eq!(p.find(100, 103, 103, false, false), Some(101));
        assert_eq!(p.find(100, 103, 103, true, false), None);
        assert_eq!(p.find(1, 0, 0, false, false), None);
        assert_eq!(p.find(65535, 65535, 0, false, false), Some(65535));
        assert_eq!(p.find(65534, 65535, 0, true, true), Some(65534));
    }

    #[test]
    fn full_words_are_skipped_correctly() {
        let mut p = PortPool::new();
        for port in 1024..=2047 {
            p.take(port);
        }
        assert_eq!(p.find(1000, 2100, 1500, false, false), Some(2048));
        assert_eq!(p.find(1000, 2047, 1500, false, false), Some(1000));
        assert_eq!(p.find(1024, 2047, 1500, false, false), None);
    }
}
