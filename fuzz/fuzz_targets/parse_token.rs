//! The compact JWS parser: size cap, segments, base64url, strict header JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = tower_mfa::__fuzz::parse_token(token);
    }
});
