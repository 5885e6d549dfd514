//! Stateless server nonces (RFC 9449 §8): a nonce is the rotation period's
//! number and an HMAC-SHA256 of it under a configured secret, so every
//! replica with the same secret issues and accepts the same nonces. The
//! current and the previous period's nonces are accepted.

use aws_lc_rs::hmac::{HMAC_SHA256, Key, sign};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Issues and checks nonces.
pub(crate) struct Nonces {
    key: Key,
    rotation: u64,
}

/// Length of the MAC kept in a nonce, in bytes.
const MAC_LEN: usize = 16;

impl Nonces {
    /// Nonces under `secret`, a new one every `rotation_secs` (at least 1).
    pub(crate) fn new(secret: &[u8], rotation_secs: u64) -> Self {
        Self {
            key: Key::new(HMAC_SHA256, secret),
            rotation: rotation_secs.max(1),
        }
    }

    fn period(&self, now: f64) -> u64 {
        if now.is_finite() && now > 0.0 {
            (now as u64) / self.rotation
        } else {
            0
        }
    }

    /// The nonce of the period holding `now`.
    pub(crate) fn current(&self, now: f64) -> String {
        let period = self.period(now).to_be_bytes();
        let tag = sign(&self.key, &period);
        let mut bytes = [0u8; 8 + MAC_LEN];
        bytes[..8].copy_from_slice(&period);
        bytes[8..].copy_from_slice(&tag.as_ref()[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` is this or the previous period's (MAC compared in
    /// constant time).
    pub(crate) fn accepts(&self, nonce: &str, now: f64) -> bool {
        let mut bytes = [0u8; 8 + MAC_LEN + 3];
        let Ok(len) = URL_SAFE_NO_PAD.decode_slice(nonce, &mut bytes) else {
            return false;
        };
        if len != 8 + MAC_LEN {
            return false;
        }
        let mut period = [0u8; 8];
        period.copy_from_slice(&bytes[..8]);
        let claimed = u64::from_be_bytes(period);
        let current = self.period(now);
        if claimed != current && claimed.checked_add(1) != Some(current) {
            return false;
        }
        // Truncated MAC: recompute and compare the prefix in constant time.
        let full = sign(&self.key, &period);
        aws_lc_rs::constant_time::verify_slices_are_equal(
            &full.as_ref()[..MAC_LEN],
            &bytes[8..8 + MAC_LEN],
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rotate_and_replicas_agree() {
        let a = Nonces::new(b"0123456789abcdef0123456789abcdef", 60);
        let b = Nonces::new(b"0123456789abcdef0123456789abcdef", 60);
        let n = a.current(1_000.0);
        assert_eq!(n, b.current(1_010.0));
        assert!(b.accepts(&n, 1_000.0));
        // The next period still accepts it, the one after does not.
        assert!(a.accepts(&n, 1_070.0));
        assert!(!a.accepts(&n, 1_140.0));
        assert_ne!(a.current(1_140.0), n);
        // Another secret, a truncated or altered nonce: refused.
        let other = Nonces::new(b"another secret, another deployment", 60);
        assert!(!other.accepts(&n, 1_000.0));
        assert!(!a.accepts(&n[..n.len() - 1], 1_000.0));
        let mut altered = n.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert!(!a.accepts(std::str::from_utf8(&altered).unwrap(), 1_000.0));
        assert!(!a.accepts("", 1_000.0));
    }
}
