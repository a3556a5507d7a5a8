//! TLS for zone connections, on rustls with the ring provider.
//!
//! exp-e presents its certificate on TLS server zones. exp-c verifies it in one of three ways
//! the operator chooses: a CA file (normal WebPKI chain and name checks), pinned SHA-256
//! fingerprints of the server's certificate (no CA needed; the pin must match), both at once,
//! or — for labs only — not at all. Handshake signatures are always checked.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use exp_zone::resolve::{ClientTls, TlsIdentity};
use ring::digest::{digest, SHA256};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read every certificate of a PEM file.
pub fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let certs = CertificateDer::pem_reader_iter(&mut BufReader::new(f))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}

/// The server-side TLS configuration from this system's certificate and key.
pub fn server_config(id: &TlsIdentity) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = load_certs(&id.certificate)?;
    let key = PrivateKeyDer::from_pem_file(&id.private_key)
        .map_err(|e| anyhow!("reading private key from {}: {e}", id.private_key.display()))?;
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key do not match")?;
    Ok(Arc::new(cfg))
}

/// The client-side TLS configuration for one client zone.
pub fn client_config(t: &ClientTls) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = provider();
    let chain = match &t.ca_file {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in load_certs(ca)? {
                roots
                    .add(c)
                    .with_context(|| format!("CA certificate in {}", ca.display()))?;
            }
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .context("building the certificate verifier")?,
            )
        }
        None => None,
    };
    let verifier = Arc::new(ZoneVerifier {
        chain,
        pins: t.pinned_sha256.clone(),
        insecure: t.insecure,
        provider: provider.clone(),
    });
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The name to verify: the configured server name, else the peer host.
pub fn server_name(t: &ClientTls, host: &str) -> anyhow::Result<ServerName<'static>> {
    let name = t.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string())
        .map_err(|_| anyhow!("`{name}` is not a valid TLS server name"))
}

/// SHA-256 of a certificate, as pinned.
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    let d = digest(&SHA256, cert.as_ref());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[derive(Debug)]
struct ZoneVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    pins: Vec<[u8; 32]>,
    insecure: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ZoneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if !self.pins.is_empty() {
            let fp = fingerprint(end_entity);
            if !self.pins.contains(&fp) {
                return Err(rustls::Error::General(format!(
                    "server certificate fingerprint {} is not pinned",
                    hex::encode(fp)
                )));
            }
        }
        if let Some(chain) = &self.chain {
            chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        }
        if self.pins.is_empty() && self.chain.is_none() {
            return Err(rustls::Error::General(
                "no way to verify the server certificate".into(),
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
