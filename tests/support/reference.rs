//! Results computed by implementations other than the project's, for tests
//! to hold the project's own to.

use std::process::Command;

/// The lowercase hex HMAC-SHA256 of `text` under `key`, as Python's
/// standard library (`hmac`, `hashlib`) computes it.
pub fn python_hmac_sha256(key: &str, text: &str) -> String {
    let output = Command::new("python3")
        .args([
            "-c",
            "import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())",
            key,
            text,
        ])
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "python3: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("hex digits").trim().to_owned()
}
