//! The endpoint's H.245 side: capability exchange (G.711 µ-law), master/slave
//! determination, one OpenLogicalChannel for what it sends, and the acknowledgement of the
//! far end's channel with the address it receives RTP on.

use std::net::{SocketAddr, SocketAddrV4};

use anyhow::anyhow;
use exp_h460::h245::{
    AudioCapability, Capability, CapabilityTableEntry, CommandMessage, Decision, EndSessionCommand,
    MasterSlaveDetermination, MasterSlaveDeterminationAck, MultimediaSystemControlMessage as Msg,
    OpenLogicalChannel, OpenLogicalChannelAck, RequestMessage, ResponseMessage,
    TerminalCapabilitySet, TerminalCapabilitySetAck, TransportAddress,
};

/// What handling one H.245 message produced.
pub enum H245In {
    /// Messages to send back.
    Reply(Vec<Vec<u8>>),
    /// Nothing to send.
    Nothing,
}

/// H.245 state of the call.
pub struct Link {
    rtp: SocketAddrV4,
    rtcp: SocketAddrV4,
    tcs_sent: bool,
    tcs_acked: bool,
    tcs_received: bool,
    olc_sent: bool,
    remote_rtp: Option<SocketAddr>,
    seen: Vec<&'static str>,
}

fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(v) => v,
        SocketAddr::V6(v) => SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, v.port()),
    }
}

impl Link {
    /// For media on `rtp`/`rtcp`.
    pub fn new(rtp: SocketAddr, rtcp: SocketAddr) -> Self {
        Link {
            rtp: v4(rtp),
            rtcp: v4(rtcp),
            tcs_sent: false,
            tcs_acked: false,
            tcs_received: false,
            olc_sent: false,
            remote_rtp: None,
            seen: Vec::new(),
        }
    }

    /// The first H.245 messages: our capabilities and a master/slave determination.
    pub fn start(&mut self) -> Vec<Vec<u8>> {
        self.tcs_sent = true;
        let mut tcs = TerminalCapabilitySet::new(1);
        tcs.capability_table = Some(vec![CapabilityTableEntry {
            capability_table_entry_number: 1,
            capability: Some(Capability::ReceiveAudio(AudioCapability::G711Ulaw64k(20))),
        }]);
        let msd = MasterSlaveDetermination {
            terminal_type: 50,
            status_determination_number: u32::from(self.rtp.port()) * 131 % 0x00FF_FFFF,
        };
        vec![Msg::from(tcs).encode(), Msg::from(msd).encode()]
    }

    /// Where the far end receives RTP, once its OpenLogicalChannelAck said so.
    pub fn remote_rtp(&self) -> Option<SocketAddr> {
        self.remote_rtp
    }

    /// The last H.245 message: end the session.
    pub fn finish(&mut self) -> Vec<Vec<u8>> {
        vec![Msg::Command(CommandMessage::EndSessionCommand(
            EndSessionCommand::Disconnect,
        ))
        .encode()]
    }

    /// The H.245 messages seen, by name.
    pub fn summary(&self) -> Vec<&'static str> {
        self.seen.clone()
    }

    fn maybe_open(&mut self, out: &mut Vec<Vec<u8>>) {
        // Open our channel once both capability sets are exchanged (H.245 §8.3).
        if self.tcs_acked && self.tcs_received && !self.olc_sent {
            self.olc_sent = true;
            let olc = OpenLogicalChannel::audio(
                1,
                AudioCapability::G711Ulaw64k(20),
                1,
                TransportAddress::from(self.rtcp),
            );
            out.push(Msg::from(olc).encode());
        }
    }

    /// Handles one tunnelled H.245 message.
    pub fn handle(&mut self, bytes: &[u8]) -> anyhow::Result<H245In> {
        let msg = Msg::decode(bytes).map_err(|e| anyhow!("undecodable H.245: {e}"))?;
        self.seen.push(msg.name());
        let mut out = Vec::new();
        match msg {
            Msg::Request(RequestMessage::TerminalCapabilitySet(t)) => {
                self.tcs_received = true;
                out.push(
                    Msg::from(TerminalCapabilitySetAck {
                        sequence_number: t.sequence_number,
                        generic_information: None,
                    })
                    .encode(),
                );
                self.maybe_open(&mut out);
            }
            Msg::Response(ResponseMessage::TerminalCapabilitySetAck(_)) => {
                self.tcs_acked = true;
                self.maybe_open(&mut out);
            }
            Msg::Request(RequestMessage::MasterSlaveDetermination(m)) => {
                // The larger determination number is master (H.245 §8.2, same terminal type).
                let ours = u32::from(self.rtp.port()) * 131 % 0x00FF_FFFF;
                let decision = if m.status_determination_number > ours {
                    Decision::Master
                } else {
                    Decision::Slave
                };
                out.push(Msg::from(MasterSlaveDeterminationAck { decision }).encode());
            }
            Msg::Request(RequestMessage::OpenLogicalChannel(olc)) => {
                let ack = OpenLogicalChannelAck::new(
                    olc.forward_logical_channel_number,
                    TransportAddress::from(self.rtp),
                    TransportAddress::from(self.rtcp),
                );
                out.push(Msg::from(ack).encode());
            }
            Msg::Response(ResponseMessage::OpenLogicalChannelAck(ack)) => {
                if let Some(a) = ack.media_channel().and_then(|a| a.ipv4()) {
                    self.remote_rtp = Some(SocketAddr::V4(a));
                }
            }
            _ => {}
        }
        Ok(if out.is_empty() {
            H245In::Nothing
        } else {
            H245In::Reply(out)
        })
    }
}
