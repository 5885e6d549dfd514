//! Caller classification: a user (app+user token) or an application acting
//! for itself (app-only token). Anything unclear is a user, so the MFA check
//! fails closed.

use crate::claims::Claims;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A user, through an application (app+user / delegated token).
    User,
    /// An application on its own behalf (app-only / client-credentials token).
    App,
}

impl Caller {
    /// A stable lower-case name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::App => "app",
        }
    }
}

/// What an `mfa` route does with app-only callers, which cannot do MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppOnly {
    /// Let them through without an MFA check (Partner Center's behaviour).
    #[default]
    Allow,
    /// Refuse them with 403 `insufficient_scope`.
    Deny,
    /// Apply the MFA check to them too (so they are refused as missing MFA).
    RequireMfa,
}

/// Classifies the caller of a verified token.
///
/// A token carrying a user-authentication claim (`amr`, `auth_time`, an `acr`
/// other than `"0"`) is a user, whatever else it says (`idtyp` included).
/// Otherwise `idtyp` decides when present (`app` or anything else: user).
/// Without it, a token is app-only when either (Entra) it has no `scp` and
/// `oid == sub`, or (RFC 9068 and others) its `sub` equals its client id
/// (`client_id`, `azp` or `appid`). Everything else is a user.
///
/// Entra app-only tokens carry no `acr`: the `"0"`/`"1"`/`"2"` they carry is
/// `appidacr` (how the client authenticated), never read here. `acr` `"0"`
/// (Entra v1: the user sign-in met no ISO/IEC 29115 level) is the one value
/// not taken as proof of a user.
#[must_use]
pub(crate) fn classify(claims: &Claims) -> Caller {
    classify_explained(claims).0
}

/// [`classify`] with the rule that decided, as a short sentence (for
/// `tower-mfa inspect`).
pub(crate) fn classify_explained(claims: &Claims) -> (Caller, &'static str) {
    let r = claims.registered();
    if r.amr.is_some() {
        return (
            Caller::User,
            "the token carries `amr` (user authentication)",
        );
    }
    if r.auth_time.is_some() {
        return (
            Caller::User,
            "the token carries `auth_time` (user authentication)",
        );
    }
    if claims.text(&r.acr).is_some_and(|acr| acr != "0") {
        return (
            Caller::User,
            "the token carries an `acr` other than \"0\" (user authentication)",
        );
    }
    match claims.text(&r.idtyp) {
        Some("app") => return (Caller::App, "`idtyp` is \"app\""),
        Some(_) => return (Caller::User, "`idtyp` is present and not \"app\""),
        None => {}
    }
    let Some(sub) = claims.text(&r.sub) else {
        return (
            Caller::User,
            "no `sub`: unclear, treated as a user (fails closed)",
        );
    };
    if r.scp.is_none() && claims.text(&r.oid) == Some(sub) {
        return (
            Caller::App,
            "no `scp` and `oid` equals `sub` (Entra app-only)",
        );
    }
    let client_app = [
        claims.text(&r.client_id),
        claims.text(&r.azp),
        claims.text(&r.appid),
    ]
    .into_iter()
    .flatten()
    .any(|client| client == sub);
    if client_app {
        return (
            Caller::App,
            "`sub` equals the client id (client credentials, RFC 9068)",
        );
    }
    (
        Caller::User,
        "no app-only rule applies: treated as a user (fails closed)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify_json(v: serde_json::Value) -> Caller {
        let serde_json::Value::Object(map) = v else {
            panic!("object")
        };
        classify(&Claims::from_payload(map).unwrap())
    }

    #[test]
    fn shapes() {
        // A user-authentication claim wins over `idtyp`.
        assert_eq!(
            classify_json(json!({"idtyp":"app","amr":["pwd"]})),
            Caller::User
        );
        assert_eq!(
            classify_json(json!({"idtyp":"app","auth_time":1})),
            Caller::User
        );
        assert_eq!(
            classify_json(json!({"idtyp":"app","acr":"1"})),
            Caller::User
        );
        assert_eq!(classify_json(json!({"idtyp":"app"})), Caller::App);
        assert_eq!(
            classify_json(json!({"idtyp":"app","acr":"0","appidacr":"2"})),
            Caller::App
        );
        assert_eq!(
            classify_json(json!({"idtyp":"user","sub":"a","oid":"a"})),
            Caller::User
        );
        // Entra v1 app-only: no scp, oid == sub.
        assert_eq!(
            classify_json(json!({"sub":"o1","oid":"o1","appid":"c1","roles":["x"]})),
            Caller::App
        );
        // Entra delegated: scp present.
        assert_eq!(
            classify_json(json!({"sub":"s1","oid":"o1","scp":"x","appid":"c1"})),
            Caller::User
        );
        // RFC 9068 client credentials: sub == client_id, with scope.
        assert_eq!(
            classify_json(json!({"sub":"c1","client_id":"c1","scope":"a b"})),
            Caller::App
        );
        // A user claim wins.
        assert_eq!(
            classify_json(json!({"sub":"c1","client_id":"c1","amr":["pwd"]})),
            Caller::User
        );
        assert_eq!(
            classify_json(json!({"sub":"o1","oid":"o1","auth_time":1})),
            Caller::User
        );
        assert_eq!(
            classify_json(json!({"sub":"o1","oid":"o1","acr":"1"})),
            Caller::User
        );
        // Guest markers never change the class.
        assert_eq!(
            classify_json(json!({"sub":"s","oid":"o","scp":"x","acct":1,"idp":"live.com"})),
            Caller::User
        );
        assert_eq!(classify_json(json!({})), Caller::User);
    }
}
