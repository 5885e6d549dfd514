//! Tokens: finding them in a request (`extract`), parsing the compact JWS
//! (`jws`), strict JSON (`json`) and validating claims (`validate`).

pub(crate) mod extract;
pub(crate) mod json;
pub(crate) mod jws;
pub(crate) mod validate;
