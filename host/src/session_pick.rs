//! Choosing sessions by what they are rather than by id: `latest`,
//! `largest` and `smallest` (by totalSizeBytes) wherever a session id is
//! read, narrowed by an id prefix and a window on the start time; the same
//! filters select what `session list` prints.
//!
//! A session whose id is literally one of the picker words is reached as
//! `=latest`: `=` cannot start an id, so `=ID` always means that id.

use std::time::{Duration, UNIX_EPOCH};

use crate::catalog::Catalog;
use crate::error::TapError;
use crate::session::SessionState;

/// What a session argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// That session.
    Id(String),
    /// The one that started last.
    Latest,
    /// The one whose objects take the most bytes.
    Largest,
    /// The one whose objects take the fewest bytes.
    Smallest,
}

impl Pick {
    /// Reads a session argument: a picker word, `=ID` for an id that is one,
    /// or an id.
    pub fn parse(text: &str) -> Pick {
        match text {
            "latest" => Pick::Latest,
            "largest" => Pick::Largest,
            "smallest" => Pick::Smallest,
            _ => Pick::Id(text.strip_prefix('=').unwrap_or(text).to_owned()),
        }
    }

    fn word(&self) -> &str {
        match self {
            Pick::Id(id) => id,
            Pick::Latest => "latest",
            Pick::Largest => "largest",
            Pick::Smallest => "smallest",
        }
    }
}

/// Which sessions are candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Ids starting with this.
    pub prefix: Option<String>,
    /// Started at or after this (unix nanos).
    pub since: Option<u64>,
    /// Started at or before this (unix nanos).
    pub until: Option<u64>,
}

impl SessionFilter {
    /// Whether `state` passes.
    pub fn matches(&self, state: &SessionState) -> bool {
        self.prefix.as_deref().is_none_or(|p| state.id().starts_with(p))
            && self.since.is_none_or(|t| state.start_unix_nanos >= t)
            && self.until.is_none_or(|t| state.start_unix_nanos <= t)
    }

    /// The filters as the command line spells them, for errors.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(prefix) = &self.prefix {
            parts.push(format!("--prefix {prefix}"));
        }
        if let Some(since) = self.since {
            parts.push(format!("--since {}", rfc3339(since)));
        }
        if let Some(until) = self.until {
            parts.push(format!("--until {}", rfc3339(until)));
        }
        if parts.is_empty() { "no filters".to_owned() } else { parts.join(" ") }
    }
}

fn rfc3339(unix_nanos: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(unix_nanos)).to_string()
}

/// The sessions of the store that pass `filter`, by start time.
pub async fn list(catalog: &Catalog, filter: &SessionFilter) -> Result<Vec<SessionState>, TapError> {
    let mut sessions = catalog.list().await?;
    sessions.retain(|s| filter.matches(s));
    Ok(sessions)
}

/// The session id `text` names: itself (or `=ID`), or the session a picker
/// chooses among those passing `filter`. An empty choice is `NotFound`
/// naming the filters.
pub async fn resolve(catalog: &Catalog, text: &str, filter: &SessionFilter) -> Result<String, TapError> {
    let pick = Pick::parse(text);
    if let Pick::Id(id) = pick {
        return Ok(id);
    }
    let sessions = list(catalog, filter).await?;
    choose(&pick, &sessions).map(|s| s.id().to_owned()).ok_or_else(|| {
        TapError::NotFound(format!("no session to pick as {} in the store ({})", pick.word(), filter.describe()))
    })
}

/// The session `pick` chooses among `sessions`; ties go to the later start.
fn choose<'a>(pick: &Pick, sessions: &'a [SessionState]) -> Option<&'a SessionState> {
    let by_size = |s: &&SessionState| (s.counts.compressed_bytes, s.start_unix_nanos);
    match pick {
        Pick::Id(id) => sessions.iter().find(|s| s.id() == id),
        Pick::Latest => sessions.iter().max_by_key(|s| (s.start_unix_nanos, s.id().to_owned())),
        Pick::Largest => sessions.iter().max_by_key(by_size),
        Pick::Smallest => {
            sessions.iter().min_by_key(|s| (s.counts.compressed_bytes, std::cmp::Reverse(s.start_unix_nanos)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picker_words_and_literal_ids() {
        assert_eq!(Pick::parse("latest"), Pick::Latest);
        assert_eq!(Pick::parse("=latest"), Pick::Id("latest".into()));
        assert_eq!(Pick::parse("checkout-1"), Pick::Id("checkout-1".into()));
        assert_eq!(Pick::parse("smallest"), Pick::Smallest);
    }
}
