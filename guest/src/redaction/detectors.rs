//! The built-in value patterns: a regex that finds candidates, and for the
//! kinds a regex cannot decide, a check of each candidate (the Luhn sum of
//! a card number, an IPv6 address that really parses).

use regex::Regex;

use crate::records::ProcessorError;

use super::rules::Detector;

/// One detector, compiled.
pub struct Compiled {
    /// What it is.
    pub kind: Detector,
    pattern: Regex,
}

impl Compiled {
    /// The detector `kind`, its regex compiled.
    pub fn new(kind: Detector) -> Result<Compiled, ProcessorError> {
        let pattern = match kind {
            Detector::Email => r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
            Detector::CreditCard => r"\b[0-9](?:[ \-]?[0-9]){12,18}\b",
            Detector::Jwt => r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*",
            // The token, not the scheme: `Bearer ****` still says what the header was.
            Detector::BearerToken => r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]+=*)",
            Detector::AwsAccessKey => r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b",
            Detector::Ipv4 => {
                r"\b(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}\b"
            }
            Detector::Ipv6 => {
                r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[0-9a-z]+)?(?:(?::|\b)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?"
            }
        };
        let pattern = Regex::new(pattern).map_err(|e| super::rules::invalid(format!("detector {kind:?}: {e}")))?;
        Ok(Compiled { kind, pattern })
    }

    /// The byte ranges of `text` this detector masks, in order.
    pub fn find(&self, text: &str) -> Vec<(usize, usize)> {
        if !self.may_occur(text.as_bytes()) {
            return Vec::new();
        }
        let mut found = Vec::new();
        if self.kind == Detector::BearerToken {
            // The group: the token after `Bearer`. Groups cost a slower engine: only here.
            for captures in self.pattern.captures_iter(text) {
                if let Some(m) = captures.get(1) {
                    found.push((m.start(), m.end()));
                }
            }
            return found;
        }
        for m in self.pattern.find_iter(text) {
            if self.accepts(m.as_str()) {
                found.push((m.start(), m.end()));
            }
        }
        found
    }

    /// A byte test every match needs, far cheaper than the regex: most
    /// values hold no `@`, no run of digits, no `eyJ`.
    fn may_occur(&self, text: &[u8]) -> bool {
        match self.kind {
            Detector::Email => text.contains(&b'@'),
            Detector::CreditCard => text.iter().filter(|b| b.is_ascii_digit()).count() >= 13,
            Detector::Jwt => text.windows(3).any(|w| w == b"eyJ"),
            Detector::BearerToken => text.windows(5).any(|w| w.eq_ignore_ascii_case(b"earer")),
            Detector::AwsAccessKey => {
                text.len() >= 20 && text.windows(2).any(|w| w[0] == b'A' && w[1].is_ascii_uppercase())
            }
            Detector::Ipv4 => text.iter().filter(|b| **b == b'.').count() >= 3,
            Detector::Ipv6 => text.iter().filter(|b| **b == b':').count() >= 2,
        }
    }

    fn accepts(&self, candidate: &str) -> bool {
        match self.kind {
            Detector::CreditCard => luhn(candidate),
            Detector::Ipv6 => address_parses(candidate),
            _ => true,
        }
    }
}

fn address_parses(candidate: &str) -> bool {
    let address = candidate.split('%').next().unwrap_or_default();
    address.parse::<std::net::Ipv6Addr>().is_ok()
}

/// The Luhn check of the digits of `candidate` (separators skipped).
fn luhn(candidate: &str) -> bool {
    let digits: Vec<u32> = candidate.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kind: Detector, text: &str) -> Vec<&str> {
        Compiled::new(kind).unwrap().find(text).into_iter().map(|(a, b)| &text[a..b]).collect()
    }

    #[test]
    fn emails_and_jwts() {
        assert_eq!(
            found(Detector::Email, "from ann.lee+x@mail.example.co.uk, to bob@ex.io"),
            ["ann.lee+x@mail.example.co.uk", "bob@ex.io"]
        );
        assert!(found(Detector::Email, "user@localhost").is_empty());
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl";
        assert_eq!(found(Detector::Jwt, &format!("token={jwt}&x=1")), [jwt]);
    }

    #[test]
    fn card_numbers_need_the_luhn_check() {
        assert_eq!(found(Detector::CreditCard, "card 4111 1111 1111 1111 ok"), ["4111 1111 1111 1111"]);
        assert_eq!(found(Detector::CreditCard, "5500-0000-0000-0004"), ["5500-0000-0000-0004"]);
        assert!(found(Detector::CreditCard, "order 4111111111111112").is_empty(), "fails the Luhn check");
        assert!(found(Detector::CreditCard, "id 123456789012").is_empty(), "too short");
    }

    #[test]
    fn bearer_tokens_keep_their_scheme() {
        assert_eq!(found(Detector::BearerToken, "Authorization: Bearer abc.DEF-123_x="), ["abc.DEF-123_x="]);
        assert_eq!(found(Detector::BearerToken, "bearer t0k3n"), ["t0k3n"]);
    }

    #[test]
    fn aws_keys_and_addresses() {
        assert_eq!(found(Detector::AwsAccessKey, "key=AKIAIOSFODNN7EXAMPLE;"), ["AKIAIOSFODNN7EXAMPLE"]);
        assert!(found(Detector::AwsAccessKey, "AKIAshort").is_empty());
        assert_eq!(found(Detector::Ipv4, "peer 10.0.12.255:443 and 999.1.1.1"), ["10.0.12.255"]);
        assert_eq!(found(Detector::Ipv6, "from 2001:db8::8a2e:370:7334 at 12:30:00"), ["2001:db8::8a2e:370:7334"]);
        assert_eq!(found(Detector::Ipv6, "[::1]:8080"), ["::1"]);
        assert_eq!(found(Detector::Ipv6, "fe80::1%eth0"), ["fe80::1%eth0"]);
        assert!(found(Detector::Ipv6, "at 12:30:00 on a:b:c").is_empty(), "times are not addresses");
    }
}
