//! Files and folders the process creates are private to the user running
//! it (0700 folders, 0600 files): what a tap writes is production telemetry.
//! The store's own writes go through `object_store`, which creates files
//! with the default mode, so the mode is set where every write starts: the
//! process's file mode creation mask.

/// Sets the process's umask to 077, so every folder is created 0700 and
/// every file 0600 at most, whatever umask the process started with.
pub fn private_by_default() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}
