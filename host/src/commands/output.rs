//! What the commands print on stdout, one line at a time. A reader that
//! goes away (`otlp-capture inspect S | head -1`) ends the command quietly
//! with exit code 0, as Unix tools do, instead of a panic.

use std::io::Write;

/// Stdout was closed by its reader: the command stops, successfully.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct ClosedPipe;

/// Writes `text` and a newline to stdout.
pub fn line(text: impl std::fmt::Display) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}
