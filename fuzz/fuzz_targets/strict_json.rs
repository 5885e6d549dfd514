//! The strict JSON object parser (duplicate members rejected at any depth).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if tower_mfa::__fuzz::parse_strict_json(data) {
        // Whatever the strict parser accepts, serde_json accepts as an object.
        let value: serde_json::Value = serde_json::from_slice(data).expect("strict JSON is JSON");
        assert!(value.is_object());
    }
});
