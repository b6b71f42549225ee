//! Where an issuer's keys may be fetched from: one rule for the configured
//! URLs (checked when the config compiles) and for a `jwks_uri` a discovery
//! document names (checked before each fetch).

use http::Uri;

/// Whether `url` may be fetched for keys: `https://` to any host, or
/// `http://` to a loopback host (a provider beside the gateway, or a test),
/// since keys fetched in clear text across a network could be replaced on
/// the way. The host is the URI's own, after any `user@` part, so
/// `http://127.0.0.1@idp.example/` is not loopback.
pub fn is_fetchable_key_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<Uri>() else { return false };
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(host)) => !host.is_empty(),
        (Some("http"), Some(host)) => {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_fetchable_key_url as fetchable;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(fetchable("https://idp.example.com/jwks"));
        assert!(fetchable("http://127.0.0.1:8080/jwks"));
        assert!(fetchable("http://127.0.0.2/jwks"));
        assert!(fetchable("http://localhost/jwks"));
        assert!(fetchable("http://[::1]:9/jwks"));
        assert!(!fetchable("http://idp.example.com/jwks"));
        assert!(!fetchable("http://127.0.0.1.evil.example/jwks"));
        assert!(!fetchable("http://localhost.evil.example/jwks"));
        assert!(!fetchable("file:///etc/passwd"));
        assert!(!fetchable("ftp://127.0.0.1/jwks"));
        assert!(!fetchable("https:///jwks"));
    }

    #[test]
    fn userinfo_does_not_make_a_remote_host_loopback() {
        for url in [
            "http://127.0.0.1:80@evil.example/jwks",
            "http://localhost@evil.example/jwks",
            "http://[::1]@evil.example:8080/jwks",
            "http://user:pw@evil.example/jwks",
        ] {
            assert!(!fetchable(url), "{url}");
        }
        assert!(fetchable("http://evil.example@127.0.0.1/jwks"), "the host after @ is loopback");
    }
}
