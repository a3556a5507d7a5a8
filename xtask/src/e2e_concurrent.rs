//! The e2e scenario "20 concurrent calls": sipp (Debian `sip-tester`) as 20 outside callers
//! in `exp-inet` and as the LAN callee in `exp-lan`, every call through both firewalls and
//! both programs, with RTP played both ways from the G.711 capture Debian ships with sipp.
//! exp-e's calls API, read every 250 ms while the calls run, gives per call the most packets
//! it was seen to relay each way (read before the call ends: an ending call has released its
//! media); sipp's exit status says every call completed.
//!
//! Kept apart from e2e.rs because it drives a different user agent (sipp, many calls at once)
//! than the baresip scenarios there.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::e2e::{sh, InNs, EXP_E_ADDR};

/// Calls placed at once.
pub const CALLS: usize = 20;
/// The LAN callee (sipp UAS) in exp-lan; exp-c routes `sip:load-…` here.
pub const UAS_ADDR: &str = "10.10.4.2:5080";
/// G.711 A-law RTP capture installed with sipp: 236 packets over 7 s.
const PCAP: &str = "/usr/share/sip-tester/g711a.pcap";
/// Packets in [`PCAP`].
const PCAP_PACKETS: u64 = 236;

const UAC_XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="exp e2e concurrent uac">
  <send retrans="500">
    <![CDATA[

      INVITE sip:load-[call_number]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:load-[call_number]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:load-[call_number]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop>
    <action>
      <exec play_pcap_audio="PCAP"/>
    </action>
  </nop>
  <pause milliseconds="9000"/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:load-[call_number]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"#;

const UAS_XML: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="exp e2e concurrent uas">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000

    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
  <nop>
    <action>
      <exec play_pcap_audio="PCAP"/>
    </action>
  </nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"#;

/// Per call, the packets exp-e relayed on its outside leg: (Call-ID, from the caller, to the
/// caller).
fn outside_packets() -> Option<Vec<(String, u64, u64)>> {
    let body = sh(
        "exp-dmz",
        &[
            "curl",
            "-s",
            "--max-time",
            "2",
            "http://127.0.0.1:9080/api/v1/calls",
        ],
    )
    .ok()?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let calls = v["calls"].as_array()?;
    Some(
        calls
            .iter()
            .filter(|c| c["to"].as_str().is_some_and(|t| t.contains("load-")))
            .map(|c| {
                let legs = c["media"].as_array().cloned().unwrap_or_default();
                let (i, o) = legs
                    .iter()
                    .filter(|l| l["side"] == "caller" && l["kind"] == "endpoint")
                    .fold((0, 0), |(i, o), l| {
                        (
                            i + l["packets_in"].as_u64().unwrap_or(0),
                            o + l["packets_out"].as_u64().unwrap_or(0),
                        )
                    });
                (c["call_id"].as_str().unwrap_or("").to_string(), i, o)
            })
            .collect(),
    )
}

/// Runs the scenario; returns its summary figures.
pub fn run(dir: &Path) -> anyhow::Result<String> {
    if !Path::new(PCAP).exists() {
        bail!("{PCAP} is missing: apt-get install sip-tester");
    }
    let uac = dir.join("concurrent-uac.xml");
    let uas = dir.join("concurrent-uas.xml");
    std::fs::write(&uac, UAC_XML.replace("PCAP", PCAP))?;
    std::fs::write(&uas, UAS_XML.replace("PCAP", PCAP))?;
    let (uas_ip, uas_port) = UAS_ADDR.split_once(':').context("UAS_ADDR")?;
    let sipp = which_sipp()?;
    let uas_s = uas.to_string_lossy().into_owned();
    let mut callee = InNs::start(
        "exp-lan",
        Path::new(&sipp),
        &[
            "-sf",
            &uas_s,
            "-i",
            uas_ip,
            "-p",
            uas_port,
            "-mi",
            uas_ip,
            "-mp",
            "6000",
            "-nostdin",
            "-trace_err",
        ],
        &[],
        &dir.join("concurrent-uas.log"),
    )?;
    std::thread::sleep(Duration::from_millis(500));
    let uac_s = uac.to_string_lossy().into_owned();
    let target = format!("{EXP_E_ADDR}:5060");
    let calls = CALLS.to_string();
    let log = dir.join("concurrent-uac.log");
    let started = Instant::now();
    let mut caller = Command::new("ip")
        .args(["netns", "exec", "exp-inet", &sipp])
        .args([
            "-sf",
            &uac_s,
            "-i",
            "10.10.1.2",
            "-p",
            "5062",
            "-mi",
            "10.10.1.2",
            "-mp",
            "6000",
            "-m",
            &calls,
            "-l",
            &calls,
            "-r",
            "20",
            "-nostdin",
            "-trace_err",
            "-timeout",
            "60s",
        ])
        .arg(&target)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.join("concurrent-uac.err"))?)
        .spawn()
        .context("sipp UAC in exp-inet")?;
    // Watch exp-e while the calls run: the most calls at once, and per call the most packets
    // it was seen to have relayed each way (a call that is ending has released its media and
    // shows none, so no single snapshot is taken as the figure).
    let mut most = 0usize;
    let mut seen: std::collections::HashMap<String, (u64, u64)> = Default::default();
    let status = loop {
        if let Some(st) = caller.try_wait()? {
            break st;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = caller.kill();
            let _ = caller.wait();
            bail!("concurrent: sipp did not finish within 90 s");
        }
        if let Some(now) = outside_packets() {
            most = most.max(now.len());
            for (id, i, o) in now {
                let f = seen.entry(id).or_default();
                *f = (f.0.max(i), f.1.max(o));
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    callee.kill();
    if !status.success() {
        bail!(
            "concurrent: sipp reported failed calls (exit {status}); see {}",
            log.display()
        );
    }
    if most < CALLS {
        bail!("concurrent: at most {most} of {CALLS} calls were up at once on exp-e");
    }
    if seen.len() != CALLS {
        bail!(
            "concurrent: exp-e showed {} distinct calls, not {CALLS}",
            seen.len()
        );
    }
    let figures: Vec<(u64, u64)> = seen.into_values().collect();
    let ins: u64 = figures.iter().map(|f| f.0).sum();
    let outs: u64 = figures.iter().map(|f| f.1).sum();
    let min_in = figures.iter().map(|f| f.0).min().unwrap_or(0);
    let min_out = figures.iter().map(|f| f.1).min().unwrap_or(0);
    let expect = PCAP_PACKETS * CALLS as u64;
    if min_in == 0 || min_out == 0 {
        bail!("concurrent: a call carried no RTP one way (per-call minimum in {min_in}, out {min_out})");
    }
    Ok(format!(
        "{CALLS} calls at once, all completed; exp-e outside legs relayed {ins} RTP packets from the callers and {outs} to them (of {expect} played each way; per call at least {min_in}/{min_out})"
    ))
}

fn which_sipp() -> anyhow::Result<String> {
    let out = Command::new("sh")
        .args(["-c", "command -v sipp"])
        .output()
        .context("command -v sipp")?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if path.is_empty() {
        bail!("sipp is missing: apt-get install sip-tester");
    }
    Ok(path)
}
