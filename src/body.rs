//! The response body of the layer: the inner service's body, or the small
//! body of a refusal.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// Either the inner service's body or a refusal's fixed body.
    ///
    /// Its data is [`Bytes`] and its error the inner body's, so it fits axum
    /// (`IntoResponse`) and tonic (`Data = Bytes`) without adapters.
    #[project = Projection]
    #[allow(missing_docs)] // pin-project-lite takes no docs on variant fields
    pub enum ResponseBody<B> {
        /// The inner service's body.
        Inner {
            #[pin]
            body: B,
        },
        /// A body of the layer's own: a refusal (empty for gRPC answers)
        /// or the resource metadata document.
        Refusal {
            data: Option<Bytes>,
        },
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self::Inner { body }
    }

    pub(crate) fn refusal(data: Bytes) -> Self {
        Self::Refusal {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// The inner service's body, or a refusal's data (`None`: empty).
    #[cfg(feature = "axum")]
    pub(crate) fn into_inner(self) -> Result<B, Option<Bytes>> {
        match self {
            Self::Inner { body } => Ok(body),
            Self::Refusal { data } => Err(data),
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project() {
            Projection::Inner { body } => body.poll_frame(cx),
            Projection::Refusal { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Inner { body } => body.is_end_stream(),
            Self::Refusal { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Inner { body } => body.size_hint(),
            Self::Refusal { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
