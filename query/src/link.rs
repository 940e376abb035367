//! Where a stored post can be opened in a browser, from its `Id` alone.
//!
//! - X post ids are decimal numbers; `https://x.com/i/web/status/<id>` opens any of them without
//!   knowing the author's handle.
//! - A Bluesky post is stored under its AT URI, `at://<did>/app.bsky.feed.post/<rkey>`, and opens at
//!   `https://bsky.app/profile/<did>/post/<rkey>`.
//!
//! A link is only ever one of those two addresses, with an id that needs no escaping: the id
//! comes from the table, and a link is written into the HTML report's `href` and printed to
//! terminals.

const X_STATUS: &str = "https://x.com/i/web/status/";
/// The longest DID the AT Protocol allows (<https://atproto.com/specs/did>).
const MAX_DID_LEN: usize = 2048;
/// The longest record key the AT Protocol allows (<https://atproto.com/specs/record-key>).
const MAX_RKEY_LEN: usize = 512;

/// The web address of the post stored under `id`, or `None` for an id of no known shape (a link
/// is never guessed).
pub fn post_link(id: &str) -> Option<String> {
    if let Some(rest) = id.strip_prefix("at://") {
        let mut parts = rest.split('/');
        let (did, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
        let well_formed = parts.next().is_none()
            && collection == twitter_record::jetstream::POST_COLLECTION
            && is_did(did)
            && is_record_key(rkey);
        return well_formed.then(|| format!("https://bsky.app/profile/{did}/post/{rkey}"));
    }
    let numeric = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    numeric.then(|| format!("{X_STATUS}{id}"))
}

/// `did:<method>:<id>`: a method of lowercase letters, an id of characters that need no
/// escaping in a URL path (a `%`-escaped DID, rare, gets no link).
fn is_did(s: &str) -> bool {
    let Some((method, id)) = s.strip_prefix("did:").and_then(|rest| rest.split_once(':')) else {
        return false;
    };
    s.len() <= MAX_DID_LEN
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_lowercase())
        && !id.is_empty()
        && !id.ends_with(':')
        && is_url_safe(id)
}

/// A record key as the AT Protocol allows it: 1 to 512 of `A-Za-z0-9.-_:~`, not `.` or `..`
/// (which a browser would read as a path step).
fn is_record_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_RKEY_LEN && s != "." && s != ".." && is_url_safe(s)
}

/// Characters that need no escaping in a URL path.
fn is_url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_ids_link_to_the_status_page() {
        assert_eq!(
            post_link("1790124601021706634").as_deref(),
            Some("https://x.com/i/web/status/1790124601021706634")
        );
    }

    #[test]
    fn bluesky_at_uris_link_to_the_post_page() {
        assert_eq!(
            post_link("at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l3qo2vuowo2b")
                .as_deref(),
            Some("https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3l3qo2vuowo2b")
        );
        assert_eq!(
            post_link("at://did:web:example.com/app.bsky.feed.post/abc").as_deref(),
            Some("https://bsky.app/profile/did:web:example.com/post/abc")
        );
    }

    #[test]
    fn other_shapes_get_no_link() {
        for id in [
            "",
            "12a4",
            "123456789012345678901234",
            "at://did:plc:abc/app.bsky.feed.like/3l3",
            "at://did:plc:abc/app.bsky.feed.post/",
            "at://did:plc:abc/app.bsky.feed.post/a/b",
            "at://handle.bsky.social/app.bsky.feed.post/3l3",
            "at://did:plc:abc/app.bsky.feed.post/3l3?x=<script>",
            "at://did:plc:abc",
            "at://did:plc:abc/app.bsky.feed.post/..",
            "at://did:plc:abc/app.bsky.feed.post/.",
            "at://did:plc:abc/app.bsky.feed.post/3l3\"onmouseover=alert(1)",
            "at://did:plc:abc/app.bsky.feed.post/3l3#x",
            "at://did:plc:ab%2Fc/app.bsky.feed.post/3l3",
            "at://did:/app.bsky.feed.post/3l3",
            "at://did:plc:/app.bsky.feed.post/3l3",
            "at://did:PLC:abc/app.bsky.feed.post/3l3",
            "at://did:javascript/app.bsky.feed.post/3l3",
            "at://did:plc:abc\u{202e}/app.bsky.feed.post/3l3",
            "javascript:alert(1)",
            "1\n2",
            "１２３",
        ] {
            assert_eq!(post_link(id), None, "{id:?}");
        }
        let rkey = "a".repeat(512);
        assert!(post_link(&format!("at://did:plc:abc/app.bsky.feed.post/{rkey}")).is_some());
        assert_eq!(
            post_link(&format!("at://did:plc:abc/app.bsky.feed.post/{rkey}a")),
            None
        );
        let did = format!("did:plc:{}", "a".repeat(2040));
        assert_eq!(did.len(), 2048);
        assert!(post_link(&format!("at://{did}/app.bsky.feed.post/3l3")).is_some());
        assert_eq!(
            post_link(&format!("at://{did}a/app.bsky.feed.post/3l3")),
            None
        );
    }
}
