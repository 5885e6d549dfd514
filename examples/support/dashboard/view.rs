//! What the dashboard's pages show: the templates (one layout, HTML-escaped values) and the
//! signed-in user as the header shows them.

use minijinja::Environment;
use serde::Serialize;
use tower_mfa::Claims;

use crate::web::user_of;

/// The dashboard's templates.
pub fn templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // `.html` names: every value is HTML-escaped.
    for (name, source) in [
        ("layout.html", include_str!("layout.html")),
        ("overview.html", include_str!("overview.html")),
        ("customers.html", include_str!("customers.html")),
        ("customer.html", include_str!("customer.html")),
        ("requests.html", include_str!("requests.html")),
        ("error.html", include_str!("error.html")),
        ("signed_out.html", include_str!("signed_out.html")),
    ] {
        env.add_template(name, source)?;
    }
    Ok(env)
}

/// The signed-in user as the header shows them.
#[derive(Serialize)]
pub struct User {
    name: String,
    initial: String,
    amr: String,
    mfa: bool,
    methods: Vec<Method>,
}

/// One sign-in method from `amr`.
#[derive(Serialize)]
pub struct Method {
    amr: String,
    label: String,
    mfa: bool,
}

impl User {
    /// The user of a verified token.
    pub fn from_claims(claims: &Claims) -> User {
        let name = user_of(claims).to_owned();
        let methods = claims
            .amr()
            .iter()
            .map(|amr| {
                let (label, mfa) = match amr.as_str() {
                    "pwd" => ("Password", false),
                    "mfa" => ("MFA", true),
                    "otp" => ("One-time code", true),
                    "ngcmfa" => ("Windows Hello (MFA)", true),
                    "fido" | "hwk" => ("Security key", true),
                    "rsa" => ("Certificate", false),
                    other => (other, false),
                };
                Method {
                    amr: amr.clone(),
                    label: label.to_owned(),
                    mfa,
                }
            })
            .collect();
        User {
            initial: name.chars().next().map(String::from).unwrap_or_default(),
            amr: claims.amr().join(" "),
            mfa: claims.amr().iter().any(|a| a == "mfa"),
            methods,
            name,
        }
    }
}

/// A link in the breadcrumb above a page's title.
#[derive(Serialize)]
pub struct Crumb {
    pub href: &'static str,
    pub label: &'static str,
}

#[cfg(test)]
mod tests {
    use super::templates;

    #[test]
    fn pages_escape_what_they_show() {
        let env = templates().unwrap();
        let html = env
            .get_template("error.html")
            .unwrap()
            .render(minijinja::context! {
                title => "t", status => 404, message => "<script>x</script>",
            })
            .unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
    }
}
