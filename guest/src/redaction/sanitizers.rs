//! The two sanitizers: URLs keep their shape but lose the ids in their path
//! and the values of their query, and SQL keeps its structure but loses its
//! literals. Both are deterministic, so sanitized names still group alike.

/// What an id-like path segment and a query value become.
pub const URL_PLACEHOLDER: &str = "*";
/// What a SQL literal becomes.
pub const SQL_PLACEHOLDER: &str = "?";

/// The attributes the URL sanitizer reads when none are named.
pub const URL_ATTRIBUTES: &[&str] = &["url.full", "http.url", "url.query", "url.path"];
/// The attributes the SQL sanitizer reads when none are named.
pub const DB_ATTRIBUTES: &[&str] = &["db.statement", "db.query.text"];

/// `url` with the user info, id-like path segments, query values and
/// fragment replaced by [`URL_PLACEHOLDER`]; scheme, host, port, the other
/// segments and the query's keys stay.
pub fn sanitize_url(url: &str) -> String {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(url.len());
    let path = match rest.split_once("://") {
        Some((scheme, after)) => {
            out.push_str(scheme);
            out.push_str("://");
            let (authority, path) = after.find('/').map_or((after, ""), |at| after.split_at(at));
            match authority.rsplit_once('@') {
                Some((_, host)) => {
                    out.push_str(URL_PLACEHOLDER);
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            path
        }
        None => rest,
    };
    let segments: Vec<&str> = path.split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.push_str(if looks_like_id(segment) { URL_PLACEHOLDER } else { segment });
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(&sanitize_query(query));
    }
    if fragment.is_some_and(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(URL_PLACEHOLDER);
    }
    out
}

/// A query string (`a=1&b=two`) with every value replaced.
pub fn sanitize_query(query: &str) -> String {
    let query = query.strip_prefix('?').unwrap_or(query);
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) => format!("{key}={URL_PLACEHOLDER}"),
            None => pair.to_owned(),
        })
        .collect();
    pairs.join("&")
}

/// A span name of the form `METHOD /path` (or `METHOD url`) with its path
/// sanitized; `None` for other names.
pub fn sanitize_http_span_name(name: &str) -> Option<String> {
    let (method, target) = name.split_once(' ')?;
    let is_method = !method.is_empty() && method.len() <= 10 && method.bytes().all(|b| b.is_ascii_uppercase());
    if !is_method || !(target.starts_with('/') || target.contains("://")) || target.contains(' ') {
        return None;
    }
    Some(format!("{method} {}", sanitize_url(target)))
}

/// Whether a path segment names one thing rather than a kind of thing: a
/// number, a UUID, a hex string, anything else holding digits (but short
/// versions such as `v2`), an email, or a long token.
fn looks_like_id(segment: &str) -> bool {
    if segment.is_empty() {
        return false;
    }
    let digits = segment.bytes().filter(u8::is_ascii_digit).count();
    let is_version = segment.len() <= 4
        && (segment.starts_with('v') || segment.starts_with('V'))
        && digits == segment.len() - 1
        && digits > 0;
    if is_version {
        return false;
    }
    digits > 0 || segment.contains('@') || (segment.len() >= 24 && !segment.contains('-') && !segment.contains('_'))
}

/// `sql` with its string, numeric and hex literals replaced by
/// [`SQL_PLACEHOLDER`] and its comments removed; identifiers (quoted or
/// not), keywords, operators and `$1`-style parameters stay.
pub fn sanitize_sql(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    let mut previous_ident = false;
    while at < bytes.len() {
        let b = bytes[at];
        let next = bytes.get(at + 1).copied();
        match b {
            b'\'' => {
                at = after_quoted(bytes, at, b'\'');
                out.push_str(SQL_PLACEHOLDER);
                previous_ident = false;
            }
            b'"' | b'`' => {
                let end = after_quoted(bytes, at, b);
                out.push_str(&sql[at..end]);
                at = end;
                previous_ident = true;
            }
            b'-' if next == Some(b'-') => {
                at = sql[at..].find('\n').map_or(bytes.len(), |n| at + n);
            }
            b'/' if next == Some(b'*') => {
                at = sql[at + 2..].find("*/").map_or(bytes.len(), |n| at + 2 + n + 2);
            }
            b'$' if next == Some(b'$') || next.is_some_and(|n| n.is_ascii_alphabetic() || n == b'_') => {
                match dollar_quoted_end(sql, at) {
                    Some(end) => {
                        out.push_str(SQL_PLACEHOLDER);
                        at = end;
                    }
                    None => {
                        out.push('$');
                        at += 1;
                    }
                }
                previous_ident = false;
            }
            b'$' => {
                // A positional parameter, `$1`: kept whole.
                let end = at + 1 + bytes[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                out.push_str(&sql[at..end]);
                at = end;
                previous_ident = true;
            }
            b'0'..=b'9' if !previous_ident => {
                at = after_number(bytes, at);
                out.push_str(SQL_PLACEHOLDER);
                previous_ident = false;
            }
            b'.' if !previous_ident && next.is_some_and(|n| n.is_ascii_digit()) => {
                at = after_number(bytes, at);
                out.push_str(SQL_PLACEHOLDER);
                previous_ident = false;
            }
            _ => {
                let c = sql[at..].chars().next().unwrap_or(' ');
                out.push(c);
                previous_ident = c.is_alphanumeric() || c == '_';
                at += c.len_utf8();
            }
        }
    }
    out
}

/// The index after a literal quoted with `quote`, doubled quotes and
/// backslash escapes inside; the end of the text when it is not closed.
fn after_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        if bytes[at] == b'\\' && quote == b'\'' {
            at += 2;
            continue;
        }
        if bytes[at] == quote {
            if bytes.get(at + 1) == Some(&quote) {
                at += 2;
                continue;
            }
            return at + 1;
        }
        at += 1;
    }
    bytes.len()
}

/// The end of a PostgreSQL dollar-quoted string starting at `start`
/// (`$$...$$` or `$tag$...$tag$`), if it is one.
fn dollar_quoted_end(sql: &str, start: usize) -> Option<usize> {
    let tag_end = start + 1 + sql[start + 1..].find('$')?;
    let tag = &sql[start..=tag_end];
    if !tag[1..tag.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let body = tag_end + 1;
    sql[body..].find(tag).map(|n| body + n + tag.len())
}

/// The index after a numeric literal: digits, a fraction, an exponent, or
/// a hex literal (`0x1F`).
fn after_number(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    if bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
        at += 2;
        while at < bytes.len() && bytes[at].is_ascii_hexdigit() {
            at += 1;
        }
        return at;
    }
    while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
        at += 1;
    }
    if at < bytes.len() && matches!(bytes[at], b'e' | b'E') {
        let mut exponent = at + 1;
        if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        if bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
            at = exponent;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_shape_and_lose_ids_query_values_and_credentials() {
        assert_eq!(sanitize_url("/api/users/123e4567-e89b-12d3-a456-426614174000"), "/api/users/*");
        assert_eq!(sanitize_url("/api/v2/users/123/posts/456"), "/api/v2/users/*/posts/*");
        assert_eq!(sanitize_url("/api/users"), "/api/users");
        assert_eq!(
            sanitize_url("https://ann:secret@shop.example:8443/orders/ord_9f8e7d?email=ann@x.io&page=2#frag"),
            "https://*@shop.example:8443/orders/*?email=*&page=*#*"
        );
        assert_eq!(sanitize_url("https://shop.example"), "https://shop.example");
        assert_eq!(sanitize_url("/reset/dGhpcyBpcyBhIHRva2VuIG9mIHNvcnRz"), "/reset/*");
        assert_eq!(sanitize_url(""), "");
        assert_eq!(sanitize_query("token=abc&flag"), "token=*&flag");
    }

    #[test]
    fn http_span_names_are_sanitized_others_are_not() {
        assert_eq!(sanitize_http_span_name("GET /users/42/cart").as_deref(), Some("GET /users/*/cart"));
        assert_eq!(
            sanitize_http_span_name("POST https://api.example/v1/pay?card=4111").as_deref(),
            Some("POST https://api.example/v1/pay?card=*")
        );
        assert_eq!(sanitize_http_span_name("checkout flow"), None);
        assert_eq!(sanitize_http_span_name("GET"), None);
    }

    #[test]
    fn sql_loses_its_literals_and_comments_only() {
        assert_eq!(
            sanitize_sql("SELECT * FROM users WHERE email = 'ann@x.io' AND id = 42 AND t1.score > -3.5e2"),
            "SELECT * FROM users WHERE email = ? AND id = ? AND t1.score > -?"
        );
        assert_eq!(sanitize_sql("INSERT INTO t (a, b) VALUES ('it''s', 0xFF)"), "INSERT INTO t (a, b) VALUES (?, ?)");
        assert_eq!(
            sanitize_sql(r#"SELECT "col1" FROM `tab2` WHERE x = $1"#),
            r#"SELECT "col1" FROM `tab2` WHERE x = $1"#
        );
        assert_eq!(sanitize_sql("SELECT 1 -- password 'hunter2'\nFROM dual"), "SELECT ? \nFROM dual");
        assert_eq!(sanitize_sql("SELECT /* token=abc */ $$secret$$, $q$x$q$"), "SELECT  ?, ?");
        assert_eq!(sanitize_sql("UPDATE a SET b = 'unterminated"), "UPDATE a SET b = ?");
        assert_eq!(sanitize_sql("SELECT .5, 'ünï' FROM t"), "SELECT ?, ? FROM t");
    }
}
