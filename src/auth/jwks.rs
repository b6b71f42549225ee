//! `GET /.well-known/jwks.json`: the public verification keys of the generation in force
//! (asymmetric algorithms only; `{"keys":[]}` for HMAC, whose secret is never published).

use http::header::{HeaderValue, CACHE_CONTROL};

use crate::answer::Answer;
use super::service::Call;

/// How long clients may cache the document: short, so a key rotation spreads quickly.
const MAX_AGE: &str = "public, max-age=300";

/// The JWKS document, serialised when the generation was built.
pub(crate) fn serve(call: &Call) -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: call.gen.jwks.clone(),
    }
    .with_header(CACHE_CONTROL, HeaderValue::from_static(MAX_AGE))
}
