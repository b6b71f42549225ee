//! The shape of a request host, RFC 3986 `host [":" port]`: what the proxy's `Host`
//! check, forward-auth's `X-Forwarded-Host`, `explain --host` and the policy `tests:`
//! accept before a host reaches the matcher.

/// RFC 3986 §3.2.2–3.2.3 `host [ ":" port ]`: an IP literal in brackets or a name
/// of unreserved, percent and sub-delim bytes, then at most one `:` and digits.
/// Empty is accepted (RFC 9112 §3.2 allows an empty `Host`). Brackets anywhere but
/// around a whole literal, text after the literal, a second `:` or a port that is
/// not digits are refused: the policy's host rules read the name before the port,
/// and a shape such as `[x.example.com:80` (found by the `path_policy` fuzz
/// target) would otherwise be matched as a name other than the one it spells.
#[inline]
pub fn is_host_and_port(value: &[u8]) -> bool {
    let port = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..end];
        if literal.is_empty() || !literal.iter().all(|&b| b == b':' || NAME_BYTE[usize::from(b)]) {
            return false;
        }
        match &rest[end + 1..] {
            [] => return true,
            [b':', port @ ..] => port,
            _ => return false,
        }
    } else {
        // One pass over the name (this runs on every request).
        let name_len = value.iter().position(|&b| !NAME_BYTE[usize::from(b)]).unwrap_or(value.len());
        match &value[name_len..] {
            [] => return true,
            [b':', port @ ..] => port,
            _ => return false,
        }
    };
    port.iter().all(u8::is_ascii_digit)
}

/// RFC 3986 `reg-name` bytes: unreserved, percent and sub-delims. No `/`, `\\`,
/// `@`, `?`, `#`, `:`, brackets, space or control.
const NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'_' | b'~' | b'%' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
            );
        b += 1;
    }
    table
};
