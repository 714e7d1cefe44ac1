//! Locks that outlive a panicking holder. Every value behind the tap's
//! locks stays consistent between statements (counters, maps of sessions
//! and jobs), so a lock poisoned by a panic elsewhere is taken as it is
//! rather than spreading the panic to every later request.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex::lock`] that recovers from poisoning.
pub trait MutexExt<T> {
    /// The guard, whether or not an earlier holder panicked.
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> MutexExt<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// [`RwLock`] access that recovers from poisoning.
pub trait RwLockExt<T> {
    /// Shared access, whether or not an earlier holder panicked.
    fn reading(&self) -> RwLockReadGuard<'_, T>;
    /// Exclusive access, whether or not an earlier holder panicked.
    fn writing(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> RwLockExt<T> for RwLock<T> {
    fn reading(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writing(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
