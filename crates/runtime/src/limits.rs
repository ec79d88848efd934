//! Limits on what a caller sends besides the message, answered as a client mistake.
//!
//! HTTP/2 itself refuses a header block above its limit with HTTP 431, which gRPC clients
//! read as UNKNOWN. The server's HTTP/2 limit is therefore set well above
//! [`MAX_METADATA_BYTES`] (to [`HTTP2_MAX_HEADER_LIST_BYTES`]) and this layer answers
//! everything in between with INVALID_ARGUMENT, which says what to fix.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most request metadata (header names and values, as HTTP/2 counts them) a call may
/// carry: a bearer token, a correlation id and a tracing context fit many times over.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The server's HTTP/2 header list limit: what HTTP/2 refuses itself (HTTP 431) before
/// this layer sees the call. Same order as the largest request message.
pub const HTTP2_MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// Refuses a call whose metadata is larger than [`MAX_METADATA_BYTES`].
#[derive(Clone, Copy, Debug, Default)]
pub struct MetadataLimitLayer;

impl<S> tower::Layer<S> for MetadataLimitLayer {
    type Service = MetadataLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetadataLimit { inner }
    }
}

#[derive(Clone, Debug)]
pub struct MetadataLimit<S> {
    inner: S,
}

impl<S, B, R> tower::Service<http::Request<B>> for MetadataLimit<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let size = metadata_bytes(request.headers());
        if size > MAX_METADATA_BYTES {
            let status = tonic::Status::invalid_argument(format!(
                "the request metadata is {size} bytes; at most {MAX_METADATA_BYTES} are accepted"
            ));
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        Box::pin(self.inner.call(request))
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
