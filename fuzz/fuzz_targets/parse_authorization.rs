//! The `Authorization` header parser (RFC 6750 `Bearer 1*SP b64token`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(token)) = tower_mfa::__fuzz::parse_authorization(data) {
        // What comes out is a non-empty b64token: ASCII, no space, no tab.
        assert!(!token.is_empty());
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b',')
        );
        assert!(data.ends_with(token.as_bytes()));
    }
});
