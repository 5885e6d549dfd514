//! Tokens: finding them in a request (`extract`), parsing the compact JWS
//! (`jws`, its header in `header`), strict JSON (`json`) and validating
//! claims (`validate`).

pub(crate) mod extract;
mod header;
pub(crate) mod json;
pub(crate) mod jws;
pub(crate) mod validate;
