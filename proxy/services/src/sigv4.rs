//! AWS Signature Version 4 for S3 requests: the canonical request, the
//! string to sign and the derived key, with the payload's SHA-256 signed
//! (no unsigned payloads, so stores with strict checking accept it).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Credentials a request is signed with.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// AWS_ACCESS_KEY_ID.
    pub access_key_id: String,
    /// AWS_SECRET_ACCESS_KEY.
    pub secret_access_key: String,
    /// AWS_SESSION_TOKEN, for temporary credentials.
    pub session_token: Option<String>,
}

/// What is signed about one request.
pub struct Request<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// `host[:port]`, as sent.
    pub host: &'a str,
    /// The URI-encoded path, as sent.
    pub path: &'a str,
    /// The payload.
    pub body: &'a [u8],
    /// Further headers to sign, names lowercase (content-type, if-match, ...).
    pub headers: &'a [(String, String)],
}

/// The headers to send: the request's own, `host` excepted (the HTTP layer
/// sets it from the authority), plus `x-amz-date`, `x-amz-content-sha256`,
/// the token when there is one, and `authorization`.
pub fn sign(request: &Request, credentials: &Credentials, region: &str, unix_seconds: u64) -> Vec<(String, String)> {
    let (date, stamp) = amz_dates(unix_seconds);
    let payload_hash = hex(&Sha256::digest(request.body));
    let mut signed: Vec<(String, String)> = request.headers.to_vec();
    signed.push(("host".into(), request.host.into()));
    signed.push(("x-amz-content-sha256".into(), payload_hash.clone()));
    signed.push(("x-amz-date".into(), stamp.clone()));
    if let Some(token) = &credentials.session_token {
        signed.push(("x-amz-security-token".into(), token.clone()));
    }
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{}\n", v.trim())).collect();
    let signed_names = signed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let canonical_request =
        format!("{}\n{}\n\n{canonical_headers}\n{signed_names}\n{payload_hash}", request.method, request.path);
    let scope = format!("{date}/{region}/s3/aws4_request");
    let to_sign = format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}", hex(&Sha256::digest(canonical_request)));
    let key = [date.as_str(), region, "s3", "aws4_request"]
        .iter()
        .fold(format!("AWS4{}", credentials.secret_access_key).into_bytes(), |key, part| hmac(&key, part.as_bytes()));
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    signed.retain(|(name, _)| name != "host");
    signed.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    signed
}

/// Percent-encodes a key for an S3 path: everything but unreserved
/// characters and `/`.
pub fn encode_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex, as SigV4 and pseudonyms write digests.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` of a unix time (UTC, proleptic
/// Gregorian; the civil-from-days algorithm).
fn amz_dates(unix_seconds: u64) -> (String, String) {
    let days = (unix_seconds / 86_400) as i64;
    let seconds = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!("{date}T{:02}{:02}{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60);
    (date, stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(amz_dates(0), ("19700101".into(), "19700101T000000Z".into()));
        assert_eq!(amz_dates(1_369_353_600), ("20130524".into(), "20130524T000000Z".into()));
        assert_eq!(amz_dates(951_782_400 + 3661), ("20000229".into(), "20000229T010101Z".into()));
    }

    /// AWS's documented example: GET /test.txt with a Range header
    /// (examplebucket, 2013-05-24, the documentation's keys).
    #[test]
    fn the_documented_get_object_example_signs_alike() {
        let credentials = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let request = Request {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            body: b"",
            headers: &[("range".into(), "bytes=0-9".into())],
        };
        let headers = sign(&request, &credentials, "us-east-1", 1_369_353_600);
        let authorization = &headers.iter().find(|(n, _)| n == "authorization").unwrap().1;
        assert!(
            authorization.ends_with("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            "{authorization}"
        );
    }

    #[test]
    fn keys_are_percent_encoded_but_for_slashes() {
        assert_eq!(encode_path("/b/sessions/a b/x+y.otlp.gz"), "/b/sessions/a%20b/x%2By.otlp.gz");
    }
}
