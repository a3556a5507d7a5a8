//! Media anchoring for H.323 calls: the H.245 rewrite that puts the relay between the two
//! legs, the counterpart of [`crate::anchor`]'s SDP rewrite (being written).

use std::sync::Arc;

use exp_h460::gateway::{Peer, Side};

use crate::anchor::MediaLegStatus;
use crate::media_io::MediaRelay;

/// Per-call H.323 media streams of one program.
pub struct H323Media {
    #[allow(dead_code)]
    media: Arc<MediaRelay>,
    #[allow(dead_code)]
    keepalive_payload_type: u8,
}

impl H323Media {
    /// Anchoring on `media`.
    pub fn new(media: Arc<MediaRelay>, keepalive_payload_type: u8) -> Self {
        H323Media {
            media,
            keepalive_payload_type,
        }
    }

    /// Rewrites one tunnelled H.245 message.
    pub fn h245(
        &mut self,
        _call: u64,
        _from: Side,
        _from_peer: &Peer,
        _to_peer: &Peer,
        message: &[u8],
    ) -> Result<Vec<u8>, String> {
        Ok(message.to_vec())
    }

    /// Frees a call's streams.
    pub fn end(&mut self, _call: u64) {}

    /// A call's media legs for status.
    pub fn legs(&self, _call: u64) -> Vec<MediaLegStatus> {
        Vec::new()
    }
}
