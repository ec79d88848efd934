//! Limits on what a caller sends besides the message, answered as a client mistake.
//!
//! HTTP/2 itself refuses a header block above its limit with HTTP 431, which gRPC clients
//! read as UNKNOWN. The server's HTTP/2 limit is therefore set well above
//! [`MAX_METADATA_BYTES`] (to [`HTTP2_MAX_HEADER_LIST_BYTES`]) and this layer answers
//! everything in between with INVALID_ARGUMENT, which says what to fix.

use std::future::Ready;
use std::task::{Context, Poll};

use futures::future::Either;

/// The most request metadata (header names and values, as HTTP/2 counts them) a call may
/// carry: a bearer token, a correlation id and a tracing context fit many times over.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The server's HTTP/2 header list limit: what HTTP/2 refuses itself (HTTP 431) before
/// this layer sees the call. Same order as the largest request message.
pub const HTTP2_MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// Refuses a call whose metadata is larger than [`MAX_METADATA_BYTES`] (a tower service
/// around the server's; layered with `tower::layer::layer_fn(MetadataLimit::new)`).
#[derive(Clone, Debug)]
pub struct MetadataLimit<S> {
    inner: S,
}

impl<S> MetadataLimit<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for MetadataLimit<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    /// The refusal at once, or the call itself (no allocation on the way through).
    type Future = Either<Ready<Result<Self::Response, Self::Error>>, S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let size = metadata_bytes(request.headers());
        if size > MAX_METADATA_BYTES {
            let status = tonic::Status::invalid_argument(format!(
                "the request metadata is {size} bytes; at most {MAX_METADATA_BYTES} are accepted"
            ));
            return Either::Left(std::future::ready(Ok(status.into_http())));
        }
        Either::Right(self.inner.call(request))
    }
}

/// Header bytes as HTTP/2 counts them (RFC 9113 §6.5.2: name, value and 32 per field).
fn metadata_bytes(headers: &http::HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 32).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_counted_as_http2_counts_it() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-a", http::HeaderValue::from_static("12345"));
        assert_eq!(metadata_bytes(&headers), 3 + 5 + 32);
    }
}
