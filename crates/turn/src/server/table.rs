//! The allocation table: allocations in a slab (stable small indexes, reused slots with a
//! generation so stale timers can tell), indexed by client 5-tuple (client → peer path, RFC
//! 8656 §5: one allocation per 5-tuple) and by relay socket (peer → client path), plus the
//! number of allocations per username for the quota. Both relay paths cost one hash lookup
//! here.

use std::collections::HashMap;
use std::sync::Arc;

use super::allocation::Allocation;
use super::hashing::{FastMap, FastState};
use super::io::{ClientKey, RelayId};

struct Slot {
    generation: u32,
    alloc: Option<Allocation>,
}

/// All allocations.
pub(crate) struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_client: FastMap<ClientKey, u32>,
    by_relay: FastMap<RelayId, u32>,
    per_user: HashMap<Arc<str>, usize>,
    len: usize,
}

impl Table {
    pub(crate) fn new(hasher: FastState) -> Table {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            by_client: FastMap::with_hasher(hasher),
            by_relay: FastMap::with_hasher(hasher),
            per_user: HashMap::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn slot_of_client(&self, client: &ClientKey) -> Option<u32> {
        self.by_client.get(client).copied()
    }

    #[inline]
    pub(crate) fn slot_of_relay(&self, relay: RelayId) -> Option<u32> {
        self.by_relay.get(&relay).copied()
    }

    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&Allocation> {
        self.slots.get(slot as usize)?.alloc.as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut Allocation> {
        self.slots.get_mut(slot as usize)?.alloc.as_mut()
    }

    /// The allocation in `slot` if the slot still holds the one of `generation`.
    pub(crate) fn get_current_mut(
        &mut self,
        slot: u32,
        generation: u32,
    ) -> Option<&mut Allocation> {
        let s = self.slots.get_mut(slot as usize)?;
        if s.generation != generation {
            return None;
        }
        s.alloc.as_mut()
    }

    pub(crate) fn generation(&self, slot: u32) -> u32 {
        self.slots.get(slot as usize).map_or(0, |s| s.generation)
    }

    /// Allocations of `username`.
    pub(crate) fn user_count(&self, username: &str) -> usize {
        self.per_user.get(username).copied().unwrap_or(0)
    }

    /// The username as a shared string, reusing the one of the user's other allocations.
    pub(crate) fn shared_username(&self, username: &str) -> Arc<str> {
        match self.per_user.get_key_value(username) {
            Some((k, _)) => Arc::clone(k),
            None => Arc::from(username),
        }
    }

    /// Adds an allocation; the caller has checked that its client and relay are not in use.
    pub(crate) fn insert(&mut self, alloc: Allocation) -> u32 {
        let client = alloc.client;
        let relay = alloc.relay;
        *self
            .per_user
            .entry(Arc::clone(&alloc.username))
            .or_insert(0) += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    s.alloc = Some(alloc);
                }
                i
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    alloc: Some(alloc),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.by_client.insert(client, slot);
        self.by_relay.insert(relay, slot);
        self.len += 1;
        slot
    }

    /// Removes and returns the allocation in `slot`.
    pub(crate) fn remove(&mut self, slot: u32) -> Option<Allocation> {
        let s = self.slots.get_mut(slot as usize)?;
        let alloc = s.alloc.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(slot);
        self.by_client.remove(&alloc.client);
        self.by_relay.remove(&alloc.relay);
        if let Some(n) = self.per_user.get_mut(&alloc.username) {
            *n -= 1;
            if *n == 0 {
                self.per_user.remove(&alloc.username);
            }
        }
        self.len -= 1;
        Some(alloc)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Allocation> {
        self.slots.iter().filter_map(|s| s.alloc.as_ref())
    }
}
