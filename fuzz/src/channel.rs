//! `channel_decode`: any bytes as a ChannelData datagram (`ChannelData::decode`), and as the
//! start of a TCP byte stream cut into frames the way the runtime cuts it (`frame_len`, then
//! `ChannelData::decode_stream` or `Message::decode` on each frame). Checks that the errors
//! match the bytes, that a decoded frame re-encodes to the same bytes, and that the stream
//! framer never fails on a prefix of a frame it accepts whole (a TCP read can stop anywhere).

use exp_turn::{frame_len, ChannelData, ChannelError, FrameKind, Message, StunError, HEADER_LEN};

/// Valid channel numbers (RFC 5766 §11 range, which the codec accepts).
fn valid_channel(n: u16) -> bool {
    (0x4000..=0x7FFF).contains(&n)
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Runs every check on `data`.
pub fn check(data: &[u8]) {
    check_datagram(data);
    check_stream(data);
}

fn check_datagram(data: &[u8]) {
    match ChannelData::decode(data) {
        Ok(cd) => {
            assert!(valid_channel(cd.channel));
            let declared = usize::from(u16::from_be_bytes([data[2], data[3]]));
            assert_eq!(cd.data.len(), declared);
            assert_eq!(cd.data, &data[4..4 + declared]);
            assert_eq!(cd.to_vec(false).expect("re-encodes"), &data[..4 + declared]);
            let padded = cd.to_vec(true).expect("re-encodes padded");
            assert_eq!(padded.len(), pad4(4 + declared));
            assert_eq!(padded.len(), cd.encoded_len(true));
            assert_eq!(ChannelData::decode(&padded), Ok(cd));
        }
        Err(ChannelError::TooShort { len }) => assert!(len < 4 && len == data.len()),
        Err(ChannelError::BadChannel(n)) => {
            assert!(!valid_channel(n));
            assert_eq!(n, u16::from_be_bytes([data[0], data[1]]));
        }
        Err(ChannelError::Truncated { header, actual }) => {
            assert!(header > actual);
            assert_eq!(actual, data.len() - 4);
        }
        Err(e) => panic!("unexpected datagram error {e}"),
    }
}

fn check_stream(data: &[u8]) {
    let mut rest = data;
    loop {
        let (kind, n) = match frame_len(rest) {
            Ok(Some(f)) => f,
            Ok(None) => {
                // Needs more: only possible while the header is incomplete.
                assert!(
                    rest.len() < 8,
                    "{} bytes and still no frame length",
                    rest.len()
                );
                return;
            }
            Err(_) => return,
        };
        assert!(n % 4 == 0, "frame of {n} bytes is not padded");
        // A TCP read may stop anywhere: a prefix never errors and never disagrees.
        let upto = n.min(rest.len());
        for k in (0..upto.min(12)).chain(upto.saturating_sub(1)..upto) {
            match frame_len(&rest[..k]) {
                Ok(None) => {}
                Ok(Some(f)) => assert_eq!(f, (kind, n), "prefix of {k} bytes"),
                Err(e) => panic!("prefix of {k} bytes fails ({e}), the whole frames"),
            }
        }
        match kind {
            FrameKind::ChannelData => {
                assert!(n >= 4);
                match ChannelData::decode_stream(rest) {
                    Ok(Some((cd, used))) => {
                        assert!(rest.len() >= n);
                        assert_eq!(used, n);
                        assert_eq!(ChannelData::decode(&rest[..n]), Ok(cd));
                    }
                    Ok(None) => assert!(rest.len() < n),
                    Err(e) => panic!("frame_len accepts, decode_stream fails: {e}"),
                }
            }
            FrameKind::Stun => {
                assert!(n >= HEADER_LEN);
                if rest.len() >= n {
                    match Message::decode(&rest[..n]) {
                        Ok(_)
                        | Err(StunError::AttributeOverflow { .. })
                        | Err(StunError::MalformedAttribute { .. }) => {}
                        Err(e) => panic!("framed STUN message has a bad header: {e}"),
                    }
                }
            }
        }
        if rest.len() < n {
            return;
        }
        rest = &rest[n..];
    }
}
