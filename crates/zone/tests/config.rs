//! Configuration loading, validation and port allocation, as an operator meets them.
#![allow(clippy::result_large_err)] // figment::Jail closures return figment::Error

use exp_zone::config::Role;
use exp_zone::ports::{port_plan, Direction};
use exp_zone::{load, load_resolved, ConfigError};
use figment::Jail;

const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const MD5: &str = "0123456789abcdef0123456789abcdef";

fn resolve_str(role: Role, toml: &str) -> Result<exp_zone::Resolved, ConfigError> {
    let cfg: exp_zone::Config = figment::Figment::from(figment::providers::Serialized::defaults(
        exp_zone::Config::defaults(role),
    ))
    .merge(<figment::providers::Toml as figment::providers::Format>::string(toml))
    .extract()
    .map_err(|e| ConfigError::single("parse", e.to_string()))?;
    cfg.resolve(role)
}

#[test]
fn both_programs_run_on_embedded_defaults() {
    let e = load_resolved(Role::Server, None).expect("exp-e defaults are valid");
    assert_eq!(e.server_zones.len(), 1);
    assert_eq!(e.server_zones[0].sip_port, 7001);
    assert_eq!(e.server_zones[0].h323_port, 6001);
    assert_eq!(e.admin_listen.unwrap().to_string(), "127.0.0.1:9080");
    // The default zone has no credential yet: a warning, not an error.
    assert!(e
        .warnings
        .iter()
        .any(|w| w.key == "server_zones[0].username"));
    let c = load_resolved(Role::Client, None).expect("exp-c defaults are valid");
    assert!(c.client_zones.is_empty());
    assert_eq!(c.admin_listen.unwrap().to_string(), "127.0.0.1:9081");
}

#[test]
fn server_zone_ports_are_allocated_in_sequence_skipping_explicit_ones() {
    let r = resolve_str(
        Role::Server,
        r#"
        [[server_zones]]
        name = "a"
        username = "ua"
        [[server_zones]]
        name = "b"
        username = "ub"
        sip_port = 7002
        h323_port = 6001
        [[server_zones]]
        name = "c"
        username = "uc"
        [[server_zones]]
        name = "d"
        username = "ud"
        "#,
    )
    .unwrap();
    let ports: Vec<_> = r
        .server_zones
        .iter()
        .map(|z| (z.name.as_str(), z.sip_port, z.h323_port))
        .collect();
    assert_eq!(
        ports,
        vec![
            ("a", 7001, 6002),
            ("b", 7002, 6001),
            ("c", 7003, 6003),
            ("d", 7004, 6004)
        ]
    );
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let err = resolve_str(
        Role::Server,
        &format!(
            r#"
        [[credentials]]
        username = "u1"
        password = "plain"
        ha1_sha256 = "{SHA}"
        [[credentials]]
        username = "u2"
        ha1_md5 = "xyz"
        [[server_zones]]
        name = "a"
        username = "u1"
        sip_port = 7005
        [[server_zones]]
        name = "a"
        username = "u2"
        sip_port = 7005
        [[server_zones]]
        name = "t"
        username = "u2"
        sip_transport = "tls"
        [[routes]]
        pattern = "sip:.*"
        zone = "nowhere"
        [[routes]]
        pattern = "("
        zone = "a"
        "#
        ),
    )
    .unwrap_err();
    for key in [
        "credentials[0].password",
        "credentials[1].ha1_md5",
        "server_zones[1].name",
        "server_zones[1].sip_port",
        "server_zones[2].sip_transport",
        "routes[0].zone",
        "routes[1].pattern",
    ] {
        assert!(err.mentions(key), "expected a problem at {key}:\n{err}");
    }
    let text = err.to_string();
    assert!(text.contains("port 7005 is already used"), "{text}");
    assert!(text.contains("unknown zone `nowhere`"), "{text}");
    // The plaintext password is never echoed back.
    assert!(!text.contains("plain\""), "{text}");
}

#[test]
fn client_zone_needs_password_and_peers() {
    let err = resolve_str(
        Role::Client,
        r#"
        [[client_zones]]
        name = "z"
        username = "u"
        "#,
    )
    .unwrap_err();
    assert!(err.mentions("client_zones[0].password"), "{err}");
    assert!(err.mentions("client_zones[0].peers"), "{err}");

    let err = resolve_str(
        Role::Client,
        r#"
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        peers = ["a", "b", "c", "d", "e", "f", "g"]
        "#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("at most 6"), "{err}");
}

#[test]
fn client_zone_peers_parse_with_default_and_explicit_ports() {
    let r = resolve_str(
        Role::Client,
        r#"
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        sip_port = 7003
        peers = ["10.0.0.1", "10.0.0.2:7100", "[2001:db8::1]:7200", "edge.example.com", "::1"]
        "#,
    )
    .unwrap();
    let peers: Vec<String> = r.client_zones[0]
        .peers
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(
        peers,
        [
            "10.0.0.1:7003",
            "10.0.0.2:7100",
            "[2001:db8::1]:7200",
            "edge.example.com:7003",
            "[::1]:7003"
        ]
    );
    // The password is redacted from Debug output.
    let dbg = format!("{:?}", r.client_zones[0]);
    assert!(
        !dbg.contains("password: Secret(\"p\")") && dbg.contains("<redacted>"),
        "{dbg}"
    );
}

#[test]
fn a_tls_route_needs_a_ca_file() {
    let rule = "[[routes]]\npattern = \".*\"\ntarget = \"192.0.2.9:5061\"\ntransport = \"tls\"\n";
    let err = resolve_str(
        Role::Server,
        &format!("[sip]\ntls_ca_file = \"/nonexistent/ca.pem\"\n{rule}"),
    )
    .unwrap_err();
    assert!(err.mentions("sip.tls_ca_file"), "{err}");
    let r = resolve_str(
        Role::Server,
        "[[routes]]\npattern = \".*\"\ntarget = \"192.0.2.9:5060\"\n",
    )
    .unwrap();
    assert_eq!(r.sip.tls_trust, None, "no TLS rule, no CA needed");
}

#[test]
fn internal_address_is_for_a_two_interface_exp_e() {
    let r = resolve_str(
        Role::Server,
        "[network]\ninternal_address = \"10.1.2.3\"\n[media]\naddress = \"192.0.2.4\"\n",
    )
    .unwrap();
    assert_eq!(r.media.internal_address, Some("10.1.2.3".parse().unwrap()));
    assert_eq!(
        r.media.address,
        "192.0.2.4".parse::<std::net::IpAddr>().unwrap()
    );
    let plan = exp_zone::ports::media_port_plan(&r);
    assert!(plan
        .iter()
        .filter(|p| p.purpose.contains("demultiplexed"))
        .all(|p| p.address == "10.1.2.3"));
    let err =
        resolve_str(Role::Client, "[network]\ninternal_address = \"10.1.2.3\"\n").unwrap_err();
    assert!(err.mentions("network.internal_address"), "{err}");
    let err = resolve_str(Role::Server, "[network]\ninternal_address = \"0.0.0.0\"\n").unwrap_err();
    assert!(err.mentions("network.internal_address"), "{err}");
}

#[test]
fn shared_nat_address_is_refused() {
    let err = resolve_str(
        Role::Client,
        r#"
        [network]
        nat_address = "198.51.100.7"
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        peers = ["198.51.100.7"]
        "#,
    )
    .unwrap_err();
    assert!(err.mentions("network.nat_address"), "{err}");
    assert!(
        err.to_string().contains("must never share a NAT address"),
        "{err}"
    );
}

#[test]
fn exp_c_refuses_server_sections() {
    let err = resolve_str(
        Role::Client,
        &format!(
            r#"
        [[credentials]]
        username = "u"
        ha1_sha256 = "{SHA}"
        ha1_md5 = "{MD5}"
        [[server_zones]]
        name = "s"
        username = "u"
        "#
        ),
    )
    .unwrap_err();
    assert!(err.mentions("server_zones"), "{err}");
    assert!(err.mentions("credentials"), "{err}");
}

#[test]
fn tls_client_zone_needs_a_way_to_verify() {
    let err = resolve_str(
        Role::Client,
        r#"
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        peers = ["10.0.0.1"]
        sip_transport = "tls"
        tls = { pinned_sha256 = ["zz"] }
        "#,
    )
    .unwrap_err();
    assert!(
        err.mentions("client_zones[0].tls.pinned_sha256[0]"),
        "{err}"
    );
    let ok = resolve_str(
        Role::Client,
        &format!(
            r#"
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        peers = ["10.0.0.1"]
        sip_transport = "tls"
        tls = {{ pinned_sha256 = ["{}"] }}
        "#,
            SHA.as_bytes()
                .chunks(2)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(":")
        ),
    )
    .unwrap();
    assert_eq!(ok.client_zones[0].tls.pinned_sha256.len(), 1);
}

#[test]
fn probe_overrides_fall_back_to_global_section() {
    let r = resolve_str(
        Role::Client,
        r#"
        [probe]
        keepalive_interval = 7
        [[client_zones]]
        name = "z"
        username = "u"
        password = "p"
        peers = ["10.0.0.1"]
        probe = { retry_count = 2, crlf_interval = 0 }
        "#,
    )
    .unwrap();
    let p = &r.client_zones[0].probe;
    assert_eq!(p.keepalive_interval.as_secs(), 7);
    assert_eq!(p.retry_count, 2);
    assert_eq!(p.crlf_interval, None);
}

#[test]
fn file_and_environment_layers() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "e.toml",
            &format!(
                r#"
            [admin]
            listen = "127.0.0.1:9999"
            [[credentials]]
            username = "exp-c"
            ha1_sha256 = "{SHA}"
            "#
            ),
        )?;
        jail.set_env("EXP_E_ADMIN__LISTEN", "127.0.0.1:9998");
        jail.set_env("EXP_E_SYSTEM__NAME", "dmz-1");
        let r = load_resolved(Role::Server, Some("e.toml".as_ref())).unwrap();
        assert_eq!(r.admin_listen.unwrap().port(), 9998);
        assert_eq!(r.system_name, "dmz-1");
        assert_eq!(r.credentials.len(), 1);
        // Default zone still present and now has its credential: no warning.
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        // Arrays of tables through one environment variable.
        jail.set_env(
            "EXP_C_CLIENT_ZONES",
            r#"[{name="z",peers=["127.0.0.1"],username="exp-c",password="secret"}]"#,
        );
        let c = load_resolved(Role::Client, None).unwrap();
        assert_eq!(c.client_zones[0].peers[0].to_string(), "127.0.0.1:7001");
        assert_eq!(c.client_zones[0].password.expose(), "secret");
        Ok(())
    });
}

#[test]
fn unknown_keys_and_missing_files_are_refused() {
    Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[admin]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n")?;
        let err = load(Role::Server, Some("bad.toml".as_ref())).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        assert!(err.problems[0].key.contains("admin"), "{err}");
        let err = load(Role::Server, Some("missing.toml".as_ref())).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        Ok(())
    });
}

#[test]
fn port_plan_lists_zone_and_admin_ports() {
    let r = resolve_str(
        Role::Server,
        r#"
        [[server_zones]]
        name = "b"
        username = "ub"
        h323_mode = true
        "#,
    )
    .unwrap();
    let plan = port_plan(&r);
    let inbound: Vec<u16> = plan
        .iter()
        .filter(|p| p.direction == Direction::Inbound)
        .map(|p| p.port)
        .collect();
    // A file that lists server zones replaces the embedded default zone.
    // Then the call listeners (UDP and TCP 5060), H.323 (H.460.18 call signalling 2777,
    // H.225.0 1720, RAS 1719 for direct registrations), the admin API, and media: the
    // demultiplexing pair and the media range.
    assert_eq!(
        inbound,
        vec![7001, 6001, 5060, 5060, 2777, 1720, 1719, 9080, 36000, 36001, 36000]
    );
    let range = plan.iter().rfind(|p| p.direction == Direction::Inbound);
    assert_eq!(range.map(|p| (p.port, p.port_last)), Some((36000, 59999)));
}

#[test]
fn media_demux_pairs_small_large_and_explicit() {
    let r = resolve_str(Role::Server, "").unwrap();
    assert_eq!(r.media.range, (36000, 59999));
    assert_eq!(r.media.demux, vec![(36000, 36001)]);
    let r = resolve_str(Role::Server, "[media]\nlarge = true\n").unwrap();
    assert_eq!(r.media.demux.len(), 6);
    assert_eq!(r.media.demux[5], (36010, 36011));
    let r = resolve_str(
        Role::Server,
        "[media]\ndemux_rtp_port = 40000\ndemux_rtcp_port = 40001\n",
    )
    .unwrap();
    assert_eq!(r.media.demux, vec![(40000, 40001)]);
    let err = resolve_str(Role::Server, "[media]\ndemux_rtp_port = 40000\n").unwrap_err();
    assert!(err.mentions("media.demux_rtcp_port"), "{err}");
    let err = resolve_str(
        Role::Server,
        "[media]\nport_range_start = 36000\nport_range_end = 36001\n",
    )
    .unwrap_err();
    assert!(err.mentions("media.port_range_end"), "{err}");
    // exp-c has no demultiplexing ports of its own.
    let r = resolve_str(Role::Client, "").unwrap();
    assert!(r.media.demux.is_empty());
    let err = resolve_str(Role::Client, "[media]\nlarge = true\n").unwrap_err();
    assert!(err.mentions("media.demux_rtp_port"), "{err}");
}

#[test]
fn sip_listener_ports_must_not_collide_with_zone_ports() {
    let err = resolve_str(
        Role::Server,
        r#"
        [sip]
        tcp_port = 7001
        "#,
    )
    .unwrap_err();
    assert!(
        err.mentions("server_zones[0].sip_port") || err.mentions("sip.tcp_port"),
        "{err}"
    );
    let r = resolve_str(Role::Server, "[network]\nnat_address = \"198.51.100.9\"\n").unwrap();
    assert_eq!(r.sip.advertised.to_string(), "198.51.100.9");
    assert_eq!(r.media.address.to_string(), "198.51.100.9");
    // TLS listener only with an identity.
    assert_eq!(r.sip.tls, None);
}

fn turn_listeners(toml: &str) -> Vec<(exp_zone::turn::TurnTransport, u16)> {
    let r = resolve_str(Role::Server, toml).unwrap();
    r.turn
        .expect("TURN on")
        .listeners
        .iter()
        .map(|(t, a)| (*t, a.port()))
        .collect()
}

#[test]
fn turn_ports_small_large_multiplexed_and_443() {
    use exp_zone::turn::TurnTransport::{Tcp, Udp};
    let r = resolve_str(Role::Server, "").unwrap();
    assert!(r.turn.is_none(), "TURN is off by default");
    assert_eq!(
        turn_listeners("[turn]\nenabled = true\n"),
        vec![(Udp, 3478), (Tcp, 3478)]
    );
    let plan = resolve_str(Role::Server, "[turn]\nenabled = true\n")
        .unwrap()
        .turn
        .unwrap();
    assert_eq!(plan.capacity, 1800);
    assert_eq!(plan.relay_ports, (24000, 29999));
    let large = turn_listeners("[turn]\nenabled = true\nlarge = true\n");
    assert_eq!(large.len(), 12);
    assert!(large.contains(&(Udp, 3483)) && large.contains(&(Tcp, 3483)));
    let plan = resolve_str(Role::Server, "[turn]\nenabled = true\nlarge = true\n")
        .unwrap()
        .turn
        .unwrap();
    assert_eq!(plan.capacity, 6000);
    assert_eq!(
        turn_listeners("[turn]\nenabled = true\nlarge = true\nport_multiplexing = true\n"),
        vec![(Udp, 3478), (Tcp, 3478)]
    );
    assert_eq!(
        turn_listeners("[turn]\nenabled = true\ntcp_443 = true\n"),
        vec![(Udp, 3478), (Tcp, 3478), (Tcp, 443)]
    );
    // No certificate: no TLS listener, whatever tls_port says.
    assert!(!turn_listeners("[turn]\nenabled = true\ntls_port = 5349\n")
        .iter()
        .any(|(t, _)| *t == exp_zone::turn::TurnTransport::Tls));
}

#[test]
fn turn_settings_are_checked() {
    for (toml, key) in [
        ("[turn]\nenabled = true\nudp_port = 0\ntcp_port = 0\n", "turn.udp_port"),
        (
            "[turn]\nenabled = true\nrelay_port_range_start = 30000\nrelay_port_range_end = 20000\n",
            "turn.relay_port_range_end",
        ),
        ("[turn]\nenabled = true\nalternate_servers = [\"nowhere\"]\n", "turn.alternate_servers[0]"),
        ("[turn]\nenabled = true\ndenied_peers = [\"10.0.0.0/99\"]\n", "turn.denied_peers"),
        ("[turn]\nenabled = true\nnonce_lifetime = -1\n", "turn.nonce_lifetime"),
        ("[turn]\nenabled = true\ncredential_zone = \"nope\"\n", "turn.credential_zone"),
    ] {
        let err = resolve_str(Role::Server, toml).unwrap_err();
        assert!(
            err.problems.iter().any(|p| p.key.starts_with(key)),
            "{toml}: expected a problem at {key}, got {:?}",
            err.problems
        );
    }
    let err = resolve_str(Role::Client, "[turn]\nenabled = true\n").unwrap_err();
    assert!(err.problems.iter().any(|p| p.key == "turn.enabled"));
}

/// The message of the problem at `key`, or a panic listing every problem.
fn message_at(err: &ConfigError, key: &str) -> String {
    err.problems
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.message.clone())
        .unwrap_or_else(|| panic!("expected a problem at {key}:\n{err}"))
}

/// exp-e with server zone `lan` (SIP 7001) and a client zone `b2b` to `peers`, under `extra`.
fn chaining_exp_e(extra: &str, peers: &str) -> Result<exp_zone::Resolved, ConfigError> {
    resolve_str(
        Role::Server,
        &format!(
            r#"
            {extra}
            [[server_zones]]
            name = "lan"
            username = "exp-c"
            [[client_zones]]
            name = "b2b"
            username = "exp-e1"
            password = "p"
            peers = {peers}
            "#
        ),
    )
}

#[test]
fn hop_count_is_1_to_70() {
    let err = resolve_str(
        Role::Server,
        r#"
        [[server_zones]]
        name = "a"
        username = "ua"
        hop_count = 0
        [[server_zones]]
        name = "b"
        username = "ub"
        hop_count = 71
        [[client_zones]]
        name = "c"
        username = "uc"
        password = "p"
        peers = ["192.0.2.1"]
        hop_count = 0
        [[client_zones]]
        name = "d"
        username = "ud"
        password = "p"
        peers = ["192.0.2.2"]
        hop_count = 255
        "#,
    )
    .unwrap_err();
    let zero = "0 means no request could ever enter the zone; use 1–70";
    let above = |n: u8| {
        format!(
            "{n} is above SIP's initial Max-Forwards of 70 (RFC 3261 §8.1.1.6): the zone's hop count never limits anything, so a request looping through a chain would only be stopped after 70 systems; use 1–70"
        )
    };
    assert_eq!(message_at(&err, "server_zones[0].hop_count"), zero);
    assert_eq!(message_at(&err, "server_zones[1].hop_count"), above(71));
    assert_eq!(message_at(&err, "client_zones[0].hop_count"), zero);
    assert_eq!(message_at(&err, "client_zones[1].hop_count"), above(255));
    assert_eq!(err.problems.len(), 4, "{err}");

    // exp-c's client zones are checked the same way.
    let err = resolve_str(
        Role::Client,
        "[[client_zones]]\nname = \"z\"\nusername = \"u\"\npassword = \"p\"\npeers = [\"192.0.2.1\"]\nhop_count = 0\n",
    )
    .unwrap_err();
    assert_eq!(message_at(&err, "client_zones[0].hop_count"), zero);

    // The bounds themselves, and the default 15.
    let r = resolve_str(
        Role::Server,
        r#"
        [[server_zones]]
        name = "a"
        username = "ua"
        hop_count = 1
        [[server_zones]]
        name = "b"
        username = "ub"
        [[client_zones]]
        name = "c"
        username = "uc"
        password = "p"
        peers = ["192.0.2.1"]
        hop_count = 70
        "#,
    )
    .unwrap();
    let hops: Vec<u8> = r.server_zones.iter().map(|z| z.hop_count).collect();
    assert_eq!(hops, [1, 15]);
    assert_eq!(r.client_zones[0].hop_count, 70);
}

#[test]
fn client_zone_to_own_server_zone_is_a_zone_loop() {
    // listen_address 0.0.0.0 (the default): loopback, localhost and 0.0.0.0 are this system.
    let err = chaining_exp_e(
        "",
        r#"["127.0.0.1", "127.0.0.2:7001", "localhost:7001", "[::1]:7001", "0.0.0.0:7001", "[::ffff:127.0.0.1]:7001"]"#,
    )
    .unwrap_err();
    assert_eq!(
        message_at(&err, "client_zones[0].peers[0]"),
        "`127.0.0.1:7001` is this system's own server zone `lan`: the chain would point back at itself (a zone loop); a client zone connects to the next exp-e outward"
    );
    for j in 1..6 {
        let m = message_at(&err, &format!("client_zones[0].peers[{j}]"));
        assert!(m.contains("own server zone `lan`"), "{m}");
    }
    assert_eq!(err.problems.len(), 6, "{err}");

    // Every address the configuration names as this system's own.
    let err = chaining_exp_e(
        r#"
        [network]
        listen_address = "192.0.2.5"
        internal_address = "10.1.0.5"
        [sip]
        advertised_address = "198.51.100.5"
        "#,
        r#"["192.0.2.5:7001", "10.1.0.5:7001", "198.51.100.5:7001"]"#,
    )
    .unwrap_err();
    for j in 0..3 {
        assert!(
            err.mentions(&format!("client_zones[0].peers[{j}]")),
            "{err}"
        );
    }
    let err = chaining_exp_e(
        "[network]\nnat_address = \"203.0.113.5\"\n",
        r#"["203.0.113.5:7001"]"#,
    )
    .unwrap_err();
    assert!(err.mentions("client_zones[0].peers[0]"), "{err}");
}

#[test]
fn client_zone_to_another_exp_e_is_no_zone_loop() {
    // Another exp-e on this machine (another port), another machine on the same port, a host
    // name other than localhost (not looked up), and 0.0.0.0 when listening on one address.
    let r = chaining_exp_e(
        "[network]\nlisten_address = \"192.0.2.5\"\n",
        r#"["127.0.0.1:7100", "192.0.2.6:7001", "edge.example.com:7001", "0.0.0.0:7001"]"#,
    )
    .unwrap();
    assert_eq!(r.client_zones[0].peers.len(), 4);

    // A server zone with SIP mode off has no listener to loop into.
    let r = resolve_str(
        Role::Server,
        r#"
        [[server_zones]]
        name = "lan"
        username = "exp-c"
        sip_mode = false
        [[client_zones]]
        name = "b2b"
        username = "exp-e1"
        password = "p"
        peers = ["127.0.0.1:7001"]
        "#,
    )
    .unwrap();
    assert_eq!(r.client_zones.len(), 1);

    // exp-c serves no zones: loopback peers are the lab set-up.
    let r = resolve_str(
        Role::Client,
        "[[client_zones]]\nname = \"z\"\nusername = \"u\"\npassword = \"p\"\npeers = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    assert_eq!(r.client_zones[0].peers[0].to_string(), "127.0.0.1:7001");
}

#[test]
fn route_to_own_sip_listener_is_a_loop() {
    // Defaults: UDP and TCP on 5060, listen_address 0.0.0.0.
    let err = resolve_str(
        Role::Server,
        r#"
        [[routes]]
        pattern = "sip:a@.*"
        target = "127.0.0.1"
        [[routes]]
        pattern = "sip:b@.*"
        target = "localhost:5060"
        transport = "tcp"
        [[routes]]
        pattern = "sip:c@.*"
        target = "0.0.0.0:5060"
        transport = "udp"
        "#,
    )
    .unwrap_err();
    assert_eq!(
        message_at(&err, "routes[0].target"),
        "`127.0.0.1:5060` over udp is this system's own SIP listener (sip.udp_port): a request routed there would come straight back to this system, which would route it again (a loop); give the address of the next SIP server"
    );
    assert!(
        message_at(&err, "routes[1].target")
            .contains("over tcp is this system's own SIP listener (sip.tcp_port)"),
        "{err}"
    );
    assert!(err.mentions("routes[2].target"), "{err}");
    assert_eq!(err.problems.len(), 3, "{err}");

    // exp-c too, on its listen address.
    let err = resolve_str(
        Role::Client,
        r#"
        [network]
        listen_address = "10.0.0.5"
        [sip]
        udp_port = 5070
        [[routes]]
        pattern = ".*"
        target = "10.0.0.5:5070"
        "#,
    )
    .unwrap_err();
    assert!(err.mentions("routes[0].target"), "{err}");
}

#[test]
fn route_to_another_sip_server_is_no_loop() {
    let r = resolve_str(
        Role::Server,
        r#"
        [network]
        listen_address = "10.0.0.5"
        [sip]
        udp_port = 0
        [[routes]]
        pattern = "sip:a@.*"
        target = "127.0.0.1:5060"
        transport = "udp"
        [[routes]]
        pattern = "sip:b@.*"
        target = "10.0.0.6:5060"
        transport = "tcp"
        [[routes]]
        pattern = "sip:c@.*"
        target = "127.0.0.1:5070"
        transport = "tcp"
        [[routes]]
        pattern = "sip:d@.*"
        target = "sbc.example.com:5060"
        transport = "tcp"
        "#,
    )
    .unwrap();
    assert_eq!(r.router.routes().len(), 4);
}

#[test]
fn h323_settings_credentials_and_routes_resolve() {
    let sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
    let r = resolve_str(
        Role::Server,
        &format!(
            r#"
        [h323]
        time_to_live = 20
        [[credentials]]
        username = "lab"
        h235_sha1 = "{sha1}"
        [[server_zones]]
        name = "lab"
        username = "lab"
        h323_mode = true
        [[routes]]
        pattern = "room.*"
        target = "192.0.2.50"
        protocol = "h323"
        "#
        ),
    )
    .unwrap();
    let h = r.h323.as_ref().expect("an H.323 zone turns H.323 on");
    assert_eq!(h.call_signalling_port, Some(2777));
    assert_eq!(h.listen_port, Some(1720));
    assert_eq!(h.ras_port, Some(1719));
    assert_eq!(h.time_to_live, 20);
    assert_eq!(h.keepalive_payload_type, 116);
    assert_eq!(r.credentials.h235_key("lab").unwrap()[0], 0xa9);
    assert!(
        r.warnings.iter().all(|w| !w.key.contains("h323")),
        "{:?}",
        r.warnings
    );
    let route = r.router.route("room1").unwrap();
    assert_eq!(
        route.target,
        exp_zone::routing::RouteTarget::H323 {
            address: "192.0.2.50:1720".into()
        }
    );
    // SIP-only configurations bind nothing for H.323.
    let sip_only = resolve_str(Role::Server, "").unwrap();
    assert!(sip_only.h323.is_none());
    // A zone whose credential has no H.235 key is warned about; bad values are refused.
    let warned = resolve_str(
        Role::Server,
        r#"
        [[credentials]]
        username = "lab"
        ha1_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
        [[server_zones]]
        name = "lab"
        username = "lab"
        h323_mode = true
        "#,
    )
    .unwrap();
    assert!(warned
        .warnings
        .iter()
        .any(|w| w.key == "server_zones[0].h323_mode"));
    let bad = resolve_str(
        Role::Server,
        r#"
        [h323]
        keepalive_payload_type = 200
        [[credentials]]
        username = "lab"
        h235_sha1 = "xyz"
        [[server_zones]]
        name = "lab"
        username = "lab"
        h323_mode = true
        [[routes]]
        pattern = "x"
        target = "192.0.2.1"
        protocol = "h323"
        transport = "udp"
        "#,
    )
    .unwrap_err();
    let keys: Vec<&str> = bad.problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "h323.keepalive_payload_type",
        "credentials[0].h235_sha1",
        "routes[0].transport",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
}
