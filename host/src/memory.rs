//! Process-wide allocator settings, for the commands that promise a memory
//! bound.

/// Makes every thread allocate from one malloc arena (glibc; nothing
/// elsewhere). Replay's memory is a few large buffers (stored objects,
/// prepared requests) made on one thread and freed on another; with an arena
/// per thread, each arena keeps the high-water mark of what went through it
/// and the process holds several such peaks at once (about 8 MiB of a 1 GiB
/// replay's peak). Call before the runtime starts its threads.
pub fn use_one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt changes glibc's allocator settings and nothing
        // else; it is called before any other thread exists.
        #[allow(unsafe_code)]
        let done = unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
        if done != 1 {
            tracing::debug!("malloc refused to keep to one arena");
        }
    }
}
