//! Encryption to the smarthost, as Postfix's `smtp_tls_security_level`:
//! `never` (`none`), `opportunistic` (`may`: encrypt when offered, without
//! verifying, clear text when the handshake fails) and `verify` (`verify`:
//! encrypt or nothing, with a certificate that verifies).
//!
//! The TLS parameters are built once, when the smarthost is configured, so a
//! CA file that cannot be read or holds no certificate stops the start
//! instead of deferring every message.

use std::path::{Path, PathBuf};

use lettre::transport::smtp::client::{Certificate, CertificateStore, TlsParameters};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// When to encrypt the connection to the smarthost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartTls {
    /// Never (a smarthost on the same host or a trusted link).
    Never,
    /// When the smarthost offers STARTTLS, without verifying its certificate
    /// (internal relays mostly have self-signed ones); when the handshake
    /// fails, the message goes in clear text on a new connection, unless
    /// credentials are configured.
    #[default]
    Opportunistic,
    /// Always, with a certificate that verifies against the system's trust
    /// store, or against the configured CA file only; anything less is a
    /// temporary failure.
    Verify,
}

/// A smarthost TLS set-up that cannot work; reported at start.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The CA file could not be read.
    #[error("cannot read the CA file {path}: {source}")]
    CaFileUnreadable {
        /// The configured file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The CA file holds no usable PEM certificate.
    #[error("the CA file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    CaFileWithoutCertificate {
        /// The configured file.
        path: PathBuf,
    },
    /// A CA file only means something when certificates are verified.
    #[error("a CA file is only used with starttls = \"verify\"")]
    CaFileWithoutVerify,
    /// AUTH would have to go in clear text.
    #[error(
        "AUTH credentials need starttls = \"opportunistic\" or \"verify\": the password is never sent in clear text"
    )]
    CredentialsWithoutTls,
    /// lettre refused the TLS parameters.
    #[error("TLS set-up failed: {0}")]
    Parameters(String),
}

/// The encryption policy with its TLS parameters, ready for each connection.
#[derive(Clone)]
pub(crate) struct TlsPolicy {
    /// The configured level.
    pub(crate) level: StartTls,
    /// What STARTTLS negotiates with (`None` for [`StartTls::Never`]).
    pub(crate) parameters: Option<TlsParameters>,
    /// What certificates are checked against, for log lines.
    pub(crate) trust: String,
}

impl std::fmt::Debug for TlsPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPolicy")
            .field("level", &self.level)
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl TlsPolicy {
    /// Builds the parameters for `level` towards `host`, reading `ca_file`.
    pub(crate) fn new(
        level: StartTls,
        host: &str,
        ca_file: Option<&Path>,
    ) -> Result<TlsPolicy, TlsSetupError> {
        let builder = TlsParameters::builder(host.to_owned());
        let (builder, trust) = match (level, ca_file) {
            (StartTls::Never, None) => {
                return Ok(TlsPolicy {
                    level,
                    parameters: None,
                    trust: "no TLS".into(),
                });
            }
            (StartTls::Never | StartTls::Opportunistic, Some(_)) => {
                return Err(TlsSetupError::CaFileWithoutVerify);
            }
            (StartTls::Opportunistic, None) => (
                builder
                    .certificate_store(CertificateStore::None)
                    .dangerous_accept_invalid_certs(true)
                    .dangerous_accept_invalid_hostnames(true),
                "no verification".into(),
            ),
            (StartTls::Verify, None) => (builder, "the system's trust store".into()),
            (StartTls::Verify, Some(path)) => {
                let mut builder = builder.certificate_store(CertificateStore::None);
                for certificate in read_ca_file(path)? {
                    builder = builder.add_root_certificate(certificate);
                }
                (builder, format!("the CA file {}", path.display()))
            }
        };
        let parameters = builder
            .build()
            .map_err(|e| TlsSetupError::Parameters(e.to_string()))?;
        Ok(TlsPolicy {
            level,
            parameters: Some(parameters),
            trust,
        })
    }
}

/// The certificates in a PEM file; at least one.
fn read_ca_file(path: &Path) -> Result<Vec<Certificate>, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::CaFileUnreadable {
        path: path.to_owned(),
        source,
    })?;
    let unusable = || TlsSetupError::CaFileWithoutCertificate {
        path: path.to_owned(),
    };
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .map(|der| {
            let der = der.map_err(|_| unusable())?;
            Certificate::from_der(der.to_vec()).map_err(|_| unusable())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if certificates.is_empty() {
        return Err(unusable());
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_at_start() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").expect("write");
        let error =
            TlsPolicy::new(StartTls::Verify, "relay.test", Some(&path)).expect_err("refused");
        assert!(
            matches!(error, TlsSetupError::CaFileWithoutCertificate { .. }),
            "{error}"
        );
        let missing = dir.path().join("missing.pem");
        let error =
            TlsPolicy::new(StartTls::Verify, "relay.test", Some(&missing)).expect_err("refused");
        assert!(error.to_string().contains("missing.pem"), "{error}");
    }

    #[test]
    fn a_ca_file_needs_verify() {
        let dir = tempfile::tempdir().expect("temp");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "").expect("write");
        let error = TlsPolicy::new(StartTls::Opportunistic, "relay.test", Some(&path))
            .expect_err("refused");
        assert!(
            matches!(error, TlsSetupError::CaFileWithoutVerify),
            "{error}"
        );
    }
}
