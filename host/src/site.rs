//! Which web sites may reach what the tap holds: the `Host` and `Origin`
//! checks in front of the control API, the web UI and the replay stream.
//!
//! A page on any web site can make the operator's browser talk to the tap
//! by rebinding its own DNS name to 127.0.0.1 (DNS rebinding): the peer is
//! then loopback, but the request still names the page's host in `Host` and
//! the page's origin in `Origin`. So without a control token a request is
//! served only for a loopback `Host` or a name the operator allowed, and a
//! request from another origin, or one the browser marks cross-site, is
//! refused whatever credential it carries. No CORS header is ever sent: a
//! browser keeps a foreign page from reading any answer.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::TapError;

/// The rule a request's `Host`, `Origin` and `Sec-Fetch-Site` must pass.
#[derive(Debug, Clone, Default)]
pub struct SiteRule {
    /// Host names (lowercase, no port) served besides loopback ones, for a
    /// tap reached by a DNS name (`serve --allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// Whether a control token guards the API: a page cannot know it, so
    /// any `Host` is served, and the token does the refusing.
    pub token_required: bool,
}

impl SiteRule {
    /// Refuses a request that a web page of another site could have made
    /// (403, with the reason). A request with no `Host` at all comes from no
    /// browser (every browser sends one) and passes the host check.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), TapError> {
        let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("");
        if fetch_site.eq_ignore_ascii_case("cross-site") {
            return Err(TapError::Forbidden("cross-site requests are refused (Sec-Fetch-Site: cross-site)".into()));
        }
        // HTTP/2 carries the host as the :authority, which hyper puts in the URI.
        let host = match headers.get(header::HOST) {
            Some(value) => Some(value.to_str().map_err(|_| refused_host("(not text)"))?.to_owned()),
            None => uri.authority().map(|a| a.as_str().to_owned()),
        };
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("(not text)");
            let same = host.as_deref().is_some_and(|host| is_same_origin(origin, host));
            if !same {
                return Err(TapError::Forbidden(format!(
                    "requests from the origin {origin:?} are refused: only the tap's own pages may call it"
                )));
            }
        }
        match host {
            Some(host) if !self.token_required && !self.admits_host(&host) => Err(refused_host(&host)),
            _ => Ok(()),
        }
    }

    /// Whether `host` (a `Host` header: name or address, any port) is a
    /// loopback name or address, or one the operator allowed.
    fn admits_host(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else { return false };
        if name == "localhost" {
            return true;
        }
        if let Ok(ip) = name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return ip.is_loopback();
        }
        self.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(&name))
    }
}

/// The refusal of a `Host` that is neither loopback nor allowed.
fn refused_host(host: &str) -> TapError {
    TapError::Forbidden(format!(
        "the host {host:?} is not served without a control token: use localhost or 127.0.0.1, \
         or start the tap with --allowed-host NAME"
    ))
}

/// The name part of a `Host` value, lowercase, without its port and any
/// trailing dot; `None` when it is no host at all.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port keeps its brackets off, so the address parses.
        let (address, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        address
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            Some(_) => return None,
            None => host,
        }
    };
    let name = name.trim_end_matches('.');
    (!name.is_empty()).then(|| name.to_ascii_lowercase())
}

/// Whether `origin` (`scheme://host[:port]`) is the origin of a page served
/// from `host` (the request's `Host`): the tap's own web UI.
fn is_same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else { return false };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let default_port = if scheme.eq_ignore_ascii_case("https") { ":443" } else { ":80" };
    let with_port = |a: &str| {
        let a = a.to_ascii_lowercase();
        if a.ends_with(']') || !a.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit())) {
            format!("{a}{default_port}")
        } else {
            a
        }
    };
    !authority.contains('/') && with_port(authority) == with_port(host.trim())
}

/// The middleware: runs [`SiteRule::check`] on every request of the routes
/// it wraps, before anything else looks at them.
pub async fn guard(State(rule): State<Arc<SiteRule>>, request: Request, next: Next) -> Response {
    match rule.check(request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => {
            tracing::warn!(
                path = %request.uri().path(),
                reason = %refused,
                "refused a request that a page of another site could have made"
            );
            refused.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    fn check(rule: &SiteRule, pairs: &[(&'static str, &str)]) -> bool {
        rule.check(&Uri::from_static("/api/capture/sessions"), &headers(pairs)).is_ok()
    }

    #[test]
    fn loopback_hosts_pass_and_rebound_names_do_not() {
        let rule = SiteRule::default();
        for host in
            ["localhost", "localhost:4318", "LOCALHOST.:80", "127.0.0.1:4318", "127.9.8.7", "[::1]:4318", "[::1]"]
        {
            assert!(check(&rule, &[("host", host)]), "{host}");
        }
        for host in ["evil.example:4318", "evil.example", "192.0.2.7:4318", "localhost.evil.example", "[::2]:1", ""] {
            assert!(!check(&rule, &[("host", host)]), "{host}");
        }
        assert!(check(&rule, &[]), "no Host: not a browser");
    }

    #[test]
    fn allowed_names_and_a_token_open_the_host_check() {
        let named = SiteRule { allowed_hosts: vec!["tap.internal".into()], token_required: false };
        assert!(check(&named, &[("host", "Tap.Internal:4318")]));
        assert!(!check(&named, &[("host", "other.internal:4318")]));
        let token = SiteRule { token_required: true, ..SiteRule::default() };
        assert!(check(&token, &[("host", "tap.example.com:4318")]));
    }

    #[test]
    fn foreign_origins_and_cross_site_fetches_are_refused_even_with_a_token() {
        for rule in [SiteRule::default(), SiteRule { token_required: true, ..SiteRule::default() }] {
            assert!(check(&rule, &[("host", "localhost:4318"), ("origin", "http://localhost:4318")]));
            assert!(check(&rule, &[("host", "127.0.0.1"), ("origin", "http://127.0.0.1:80")]));
            assert!(check(&rule, &[("host", "localhost:4318"), ("sec-fetch-site", "same-origin")]));
            for origin in ["http://evil.example:4318", "http://localhost:4319", "null", "ftp://localhost:4318"] {
                assert!(!check(&rule, &[("host", "localhost:4318"), ("origin", origin)]), "{origin}");
            }
            assert!(!check(&rule, &[("host", "localhost:4318"), ("sec-fetch-site", "cross-site")]));
            assert!(!check(&rule, &[("origin", "http://localhost:4318")]), "an origin with no host to match");
        }
    }
}
