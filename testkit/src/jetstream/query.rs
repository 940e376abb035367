//! The subscribe query string read the way Jetstream's servers read it: Go's `url.ParseQuery`.
//! Pairs split on `&`; keys and values are percent-decoded (`+` is a space) and case-sensitive;
//! a parameter given twice counts by its first value. A pair with a `;` or a bad escape is an
//! error: the 2026 server refuses the handshake (400), the original skipped the pair.

/// The query's pairs, decoded, in order; or why the 2026 server refuses it.
pub(super) fn parse(query: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for pair in query.unwrap_or_default().split('&') {
        if pair.contains(';') {
            return Err("invalid semicolon separator in query".to_owned());
        }
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((unescape(key)?, unescape(value)?));
    }
    Ok(pairs)
}

/// The first value of `name`, as Go's `Values.Get`.
pub(super) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every value of `name`, in order.
pub(super) fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .collect()
}

/// Go's `QueryUnescape`.
fn unescape(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("invalid URL escape {:?}", &text[i..]))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_decoded_and_case_sensitive_and_the_first_value_counts() {
        let pairs = parse(Some(
            "%63ursor=5&Cursor=6&cursor=7&wantedCollections=app.bsky.feed.post&&a+b=c%2Ed",
        ))
        .unwrap();
        assert_eq!(first(&pairs, "cursor"), Some("5"));
        assert_eq!(all(&pairs, "cursor"), ["5", "7"]);
        assert_eq!(first(&pairs, "Cursor"), Some("6"));
        assert_eq!(first(&pairs, "a b"), Some("c.d"));
        assert_eq!(first(&pairs, "requireHello"), None);
        assert_eq!(
            parse(Some("requireHello")).unwrap(),
            [("requireHello".to_owned(), String::new())]
        );
        assert_eq!(parse(None).unwrap(), []);
    }

    #[test]
    fn semicolons_and_bad_escapes_are_refused() {
        assert!(parse(Some("a=1;cursor=5")).is_err());
        assert!(parse(Some("cursor=%zz")).is_err());
        assert!(parse(Some("%6")).is_err());
    }
}
