//! Rules compiled once per session per instance: every call carries the
//! session's rules as text, and compiling their regexes for each request
//! would cost more than applying them.

use std::sync::{Arc, Mutex};

use super::Redactor;
use super::rules::Rules;
use crate::records::ProcessorError;

/// Rule sets kept compiled: more than a tap records at once is rare, and
/// the oldest is compiled again when it comes back.
const KEPT: usize = 16;

/// Compiled rule sets, the most recently used first.
static COMPILED: Mutex<Vec<(String, Arc<Redactor>)>> = Mutex::new(Vec::new());

/// The compiled form of the rules document `text`.
pub fn compiled(text: &str) -> Result<Arc<Redactor>, ProcessorError> {
    let mut kept = COMPILED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(at) = kept.iter().position(|(rules, _)| rules == text) {
        let entry = kept.remove(at);
        let redactor = entry.1.clone();
        kept.insert(0, entry);
        return Ok(redactor);
    }
    let redactor = Arc::new(Redactor::new(&Rules::parse(text)?)?);
    kept.insert(0, (text.to_owned(), redactor.clone()));
    kept.truncate(KEPT);
    Ok(redactor)
}
