//! The JWK Set parser and key hygiene.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(n) = tower_mfa::__fuzz::parse_jwks(data) {
        // At most 256 keys are ever considered.
        assert!(n <= 256);
    }
});
