//! `TokenError`: why a token was refused (or could not be minted), and the simplejwt
//! message each reason maps to on the wire.

/// Why verifying (or minting) a token failed. Small and `Copy`, so the proxy can count and
/// map it without allocating; details never reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES); refused before any decoding.
    #[error("token is longer than 8192 bytes")]
    TooLarge,
    /// Not three strict base64url parts with a JSON object header and payload, a claim of
    /// the wrong JSON type, a duplicated header or claim name, or an identity claim
    /// (`user_id`, `username`, `role`) with a control character.
    #[error("token is not a well-formed compact JWS")]
    Malformed,
    /// The `iss` names no configured issuer (with external issuers configured), or an
    /// external issuer's token was given where only the gateway's own are accepted.
    #[error("token issuer is not a configured issuer")]
    UnknownIssuer,
    /// The token's issuer has no usable key set yet (its keys were never fetched, or
    /// the last good set is older than `max_stale`): answered 503, not 401.
    #[error("the token issuer's keys are not available")]
    KeysUnavailable,
    /// The header names a `kid` that is not among the configured keys.
    #[error("token names a key id that is not configured")]
    UnknownKey,
    /// The header `alg` is not the algorithm of the key that would verify it.
    #[error("token algorithm is not the configured key's algorithm")]
    WrongAlgorithm,
    /// The signature does not verify under any candidate key.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp + leeway <= now`.
    #[error("token has expired")]
    Expired,
    /// `nbf > now + leeway`.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat > now + leeway`: the issuer's clock runs ahead of ours, or the token is forged.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// No `iat`: revocation points (docs/REFERENCE.md#revocation) compare against it, so it is required.
    #[error("token has no iat claim")]
    NoIssuedAt,
    /// `token_type` is present but not the expected one.
    #[error("token has the wrong token_type")]
    WrongType,
    /// No `token_type` claim.
    #[error("token has no token_type claim")]
    NoType,
    /// No `jti` claim.
    #[error("token has no jti claim")]
    NoId,
    /// No `exp` claim.
    #[error("token has no exp claim")]
    NoExp,
    /// An issuer is configured and `iss` is missing, not a string, or different.
    #[error("token issuer is missing or not the configured issuer")]
    WrongIssuer,
    /// An audience is configured and `aud` is missing or does not name it.
    #[error("token audience is missing or does not include the configured audience")]
    WrongAudience,
    /// The header has a `crit` parameter; no critical extension is understood here
    /// (RFC 7515 §4.1.11).
    #[error("token header lists critical extensions, none of which are supported")]
    UnsupportedCritical,
    /// `user_id` is missing, empty, or neither a string nor an integer.
    #[error("token has no usable user_id claim")]
    NoUserId,
    /// Minting failed in the signer (a broken private key); not a client error.
    #[error("signing the token failed: check the current private key")]
    Signing,
}

impl TokenError {
    /// A short snake_case name for metrics labels and logs
    /// (`nexora_token_verify_total{result}`).
    pub fn label(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::UnknownIssuer => "unknown_issuer",
            TokenError::KeysUnavailable => "keys_unavailable",
            TokenError::UnknownKey => "unknown_key",
            TokenError::WrongAlgorithm => "wrong_algorithm",
            TokenError::BadSignature => "bad_signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::NoIssuedAt => "no_iat",
            TokenError::WrongType => "wrong_type",
            TokenError::NoType => "no_type",
            TokenError::NoId => "no_jti",
            TokenError::NoExp => "no_exp",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::UnsupportedCritical => "unsupported_crit",
            TokenError::NoUserId => "no_user_id",
            TokenError::Signing => "signing",
        }
    }

    /// The simplejwt reason this failure is reported as (see
    /// [`SimplejwtReason::message`] for the text on the wire).
    pub fn simplejwt_reason(&self) -> SimplejwtReason {
        match self {
            TokenError::Expired => SimplejwtReason::Expired,
            TokenError::WrongType => SimplejwtReason::WrongType,
            TokenError::NoType => SimplejwtReason::NoType,
            TokenError::NoId => SimplejwtReason::NoId,
            TokenError::NoExp => SimplejwtReason::NoExp,
            TokenError::NoUserId => SimplejwtReason::NoUser,
            TokenError::TooLarge
            | TokenError::Malformed
            | TokenError::UnknownKey
            | TokenError::WrongAlgorithm
            | TokenError::BadSignature
            | TokenError::NotYetValid
            | TokenError::IssuedInFuture
            | TokenError::NoIssuedAt
            | TokenError::WrongIssuer
            | TokenError::WrongAudience
            | TokenError::UnsupportedCritical
            | TokenError::UnknownIssuer
            | TokenError::KeysUnavailable
            | TokenError::Signing => SimplejwtReason::Invalid,
        }
    }

    /// The text simplejwt 5.5 puts in `messages[0].message` for this failure,
    /// so clients that match on it keep working.
    ///
    /// Exception: for [`TokenError::NoUserId`] simplejwt answers with a top-level `detail`
    /// and no `messages` list; this returns that `detail` text.
    pub fn simplejwt_message(&self) -> &'static str {
        self.simplejwt_reason().message()
    }
}

/// The reasons simplejwt tells clients apart; many [`TokenError`]s share one
/// (a client learns "invalid", never which check failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimplejwtReason {
    /// `exp` has passed.
    Expired,
    /// `token_type` is not the expected one.
    WrongType,
    /// No `token_type`.
    NoType,
    /// No `jti`.
    NoId,
    /// No `exp`.
    NoExp,
    /// No usable `user_id` (simplejwt reports it outside the `messages` list).
    NoUser,
    /// Any other failure: signature, key, algorithm, times, issuer, audience, shape.
    Invalid,
}

impl SimplejwtReason {
    /// simplejwt 5.5's text for this reason.
    pub fn message(self) -> &'static str {
        match self {
            SimplejwtReason::Expired => "Token is expired",
            SimplejwtReason::WrongType => "Token has wrong type",
            SimplejwtReason::NoType => "Token has no type",
            SimplejwtReason::NoId => "Token has no id",
            SimplejwtReason::NoExp => "Token has no 'exp' claim",
            SimplejwtReason::NoUser => "Token contained no recognizable user identification",
            SimplejwtReason::Invalid => "Token is invalid",
        }
    }
}
