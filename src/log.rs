//! Logging helpers: attacker-controlled text is escaped and length-capped
//! before it reaches a log line.

use std::fmt;

/// Longest attacker-supplied value written to a log, in characters.
const MAX_LOGGED_CHARS: usize = 64;

/// Displays a string escaped (`escape_debug`) and cut to a fixed length.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_LOGGED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_caps() {
        assert_eq!(Escaped("a\r\nb").to_string(), "a\\r\\nb");
        let long = "x".repeat(1000);
        assert_eq!(
            Escaped(&long).to_string().chars().count(),
            MAX_LOGGED_CHARS + 1
        );
    }
}
