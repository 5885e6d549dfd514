//! `Builder::build` checks everything it can before the first request, and
//! each `ConfigError` names the setting and the value at fault.

use tower_mfa::{ConfigError, RequireMfaLayer, Rule};

fn base() -> tower_mfa::Builder {
    RequireMfaLayer::builder()
        .issuer("https://issuer.test/")
        .audience("api://test")
        .jwks_url("https://issuer.test/keys")
}

#[test]
fn missing_settings_are_named() {
    let err = RequireMfaLayer::builder().build().unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                setting: "issuer",
                ..
            }
        ),
        "{err:?}"
    );
    let err = RequireMfaLayer::builder()
        .issuer("https://issuer.test/")
        .audience("a")
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), Some("keys"));
    assert!(err.to_string().contains("key source"), "{err}");
}

#[test]
fn invalid_values_name_setting_and_value() {
    let err = base()
        .rule(Rule::public("/ok"))
        .rule(Rule::mfa("/v1/cust*"))
        .build()
        .unwrap_err();
    match &err {
        ConfigError::Invalid { setting, value, .. } => {
            assert_eq!(setting, "rules[1].pattern");
            assert_eq!(value, "/v1/cust*");
        }
        other => panic!("{other:?}"),
    }
    let err = base()
        .jwks_url("http://issuer.test/keys")
        .build()
        .unwrap_err();
    match &err {
        ConfigError::Invalid { setting, value, .. } => {
            assert_eq!(
                (setting.as_str(), value.as_str()),
                ("jwks_url", "http://issuer.test/keys")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("must be https"), "{err}");
}

#[test]
fn the_step_up_url_is_checked_at_build() {
    for bad in [
        "step-up",
        "//elsewhere.test/step-up",
        "javascript:alert(1)",
        "/step\u{7f}up",
    ] {
        let err = base().step_up_url(bad).build().unwrap_err();
        match &err {
            ConfigError::Invalid { setting, value, .. } => {
                assert_eq!((setting.as_str(), value.as_str()), ("step_up_url", bad));
            }
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    for good in ["/step-up", "https://login.test/step-up?to={return_to}"] {
        base().step_up_url(good).build().unwrap();
    }
}
