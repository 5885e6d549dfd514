//! The DPoP proof parser: size cap, segments, strict header JSON, `typ`,
//! `alg`, the embedded public key and its thumbprint, the signature, and the
//! strict payload JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tower_mfa::__fuzz::parse_dpop_proof(data);
});
