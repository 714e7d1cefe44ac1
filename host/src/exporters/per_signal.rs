//! One exporter per signal, as the OpenTelemetry exporter variables allow
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._METRICS_HEADERS`, ...): most
//! often every signal shares one.

use bytes::Bytes;

use super::{Accepted, ExportError, Exporter};
use crate::otlp::Signal;

/// The exporter each signal is sent with.
#[derive(Debug, Clone)]
pub struct SignalExporters {
    shared: Exporter,
    own: [Option<Exporter>; 3],
}

impl SignalExporters {
    /// Every signal through `exporter`.
    pub fn single(exporter: Exporter) -> Self {
        SignalExporters { shared: exporter, own: [None, None, None] }
    }

    /// `signal` through `exporter` instead.
    pub fn with(mut self, signal: Signal, exporter: Exporter) -> Self {
        self.own[signal.index()] = Some(exporter);
        self
    }

    /// The exporter of `signal`.
    pub fn of(&self, signal: Signal) -> &Exporter {
        self.own[signal.index()].as_ref().unwrap_or(&self.shared)
    }

    /// Sends one request of `signal` once; see [`Exporter::send`].
    pub async fn send(&self, signal: Signal, payload: Bytes) -> Result<Accepted, ExportError> {
        self.of(signal).send(signal, payload).await
    }

    /// Where the signals go, for people: the shared endpoint, and each
    /// signal's own where it has one.
    pub fn describe(&self) -> String {
        let mut text = self.shared.endpoint().to_owned();
        for signal in Signal::ALL {
            if let Some(own) = &self.own[signal.index()] {
                text.push_str(&format!(" ({signal} to {})", own.endpoint()));
            }
        }
        text
    }
}
