//! TLS towards an endpoint: the system's roots, plus a private CA when one
//! is given, and a client certificate for mutual TLS. Files are read when
//! the settings are made, so a missing or unreadable one is refused at once.

use std::path::{Path, PathBuf};

/// The PEM material an exporter's TLS uses beyond the system roots.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// Certificates of a private CA trusted besides the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain and its private key, for mutual TLS.
    pub identity_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// Key material stays out of logs.
impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca", &self.ca_pem.is_some())
            .field("client_certificate", &self.identity_pem.is_some())
            .finish()
    }
}

/// Where the files of a [`ClientTls`] are, as flags or the SDK's variables give them.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsFiles {
    /// A PEM file of CA certificates (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca: Option<PathBuf>,
    /// A PEM client certificate chain (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
    pub client_certificate: Option<PathBuf>,
    /// Its PEM private key (`OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
}

impl ClientTlsFiles {
    /// Fills what is not set from the SDK's environment variables.
    pub fn or_from_env(mut self) -> Self {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        self.ca = self.ca.or_else(|| env("OTEL_EXPORTER_OTLP_CERTIFICATE"));
        self.client_certificate = self.client_certificate.or_else(|| env("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"));
        self.client_key = self.client_key.or_else(|| env("OTEL_EXPORTER_OTLP_CLIENT_KEY"));
        self
    }

    /// Reads the files; the message names the one that failed.
    pub fn load(&self) -> Result<ClientTls, String> {
        let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
        let identity_pem = match (&self.client_certificate, &self.client_key) {
            (Some(certificate), Some(key)) => Some((read(certificate)?, read(key)?)),
            (None, None) => None,
            _ => return Err("a client certificate and its key go together: give both or neither".into()),
        };
        Ok(ClientTls { ca_pem: self.ca.as_deref().map(read).transpose()?, identity_pem })
    }
}
