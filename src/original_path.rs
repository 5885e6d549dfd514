//! [`OriginalPath`]: the path the client asked for, when a router in front
//! of the layer rewrote the request's URI.

use http::Request;
use http::uri::{PathAndQuery, Uri};

/// The path and query the client asked for, as a request extension.
///
/// Rules match the request's URI. A router that strips a prefix before the
/// layer runs (axum's `Router::nest`) should first store the original here:
/// when present, the layer matches rules on it and sends it as the browser's
/// `return_to`. With the `axum` feature,
/// [`axum::OriginalPathLayer`](crate::axum::OriginalPathLayer) fills it from
/// axum's `OriginalUri`.
///
/// ```
/// use http::{Request, Uri};
/// use tower_mfa::OriginalPath;
///
/// let mut req = Request::get("/v1/customers").body(()).unwrap();
/// let original: Uri = "/api/v1/customers?page=2".parse().unwrap();
/// req.extensions_mut().insert(OriginalPath::from_uri(&original));
/// # assert_eq!(req.extensions().get::<OriginalPath>().unwrap().path(), "/api/v1/customers");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalPath(PathAndQuery);

impl OriginalPath {
    /// The original path and query.
    #[must_use]
    pub fn new(path_and_query: PathAndQuery) -> Self {
        Self(path_and_query)
    }

    /// The path and query of `uri` (`/` when it has none).
    #[must_use]
    pub fn from_uri(uri: &Uri) -> Self {
        Self(
            uri.path_and_query()
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        )
    }

    /// The path, without the query.
    #[must_use]
    pub fn path(&self) -> &str {
        self.0.path()
    }

    /// The path and query.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The path the client asked for: this extension when present, else the URI's.
    pub(crate) fn path_of<B>(req: &Request<B>) -> &str {
        match req.extensions().get::<Self>() {
            Some(original) => original.path(),
            None => req.uri().path(),
        }
    }

    /// [`OriginalPath::path_of`] with the query.
    pub(crate) fn path_and_query_of<B>(req: &Request<B>) -> &str {
        match req.extensions().get::<Self>() {
            Some(original) => original.as_str(),
            None => req.uri().path_and_query().map_or("/", PathAndQuery::as_str),
        }
    }
}
