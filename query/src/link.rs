//! Where a stored post can be opened in a browser, from its `Id` alone.
//!
//! - X post ids are decimal numbers; `https://x.com/i/web/status/<id>` opens any of them without
//!   knowing the author's handle.
//! - A Bluesky post is stored under its AT URI, `at://<did>/app.bsky.feed.post/<rkey>`, and opens at
//!   `https://bsky.app/profile/<did>/post/<rkey>`.

const X_STATUS: &str = "https://x.com/i/web/status/";

/// The web address of the post stored under `id`, or `None` for an id of no known shape (a link
/// is never guessed).
pub fn post_link(id: &str) -> Option<String> {
    if let Some(rest) = id.strip_prefix("at://") {
        let mut parts = rest.split('/');
        let (did, collection, rkey) = (parts.next()?, parts.next()?, parts.next()?);
        let well_formed = parts.next().is_none()
            && collection == twitter_record::jetstream::POST_COLLECTION
            && did.starts_with("did:")
            && is_url_safe(did)
            && !rkey.is_empty()
            && is_url_safe(rkey);
        return well_formed.then(|| format!("https://bsky.app/profile/{did}/post/{rkey}"));
    }
    let numeric = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    numeric.then(|| format!("{X_STATUS}{id}"))
}

/// Characters a DID or record key may hold that need no escaping in a URL path.
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
        ] {
            assert_eq!(post_link(id), None, "{id:?}");
        }
    }
}
