//! The producer's URL redaction, on whatever text it may print: it ends, changes nothing more
//! when run twice, leaves text without a URL alone, and a secret put in a URL around the text
//! never comes out.

use twitter_producer::redact::{REDACTED, redact as redacted};

const SECRET: &str = "S3CR3T-in-the-url";

pub fn redact(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let once = redacted(text);
    assert_eq!(redacted(&once), once, "redacting twice changed more");
    if !text.contains("://") {
        assert_eq!(once, text, "text without a URL changed");
    }
    if text.contains(SECRET) {
        return;
    }
    for url in [
        format!("wss://user:{SECRET}@host/subscribe"),
        format!("https://host/x?token={SECRET}"),
        format!("https://host/x?a=1&X-Amz-Signature={SECRET}#f"),
    ] {
        let printed = format!("{text} {url} {text}");
        let out = redacted(&printed);
        assert!(
            !out.contains(SECRET),
            "the secret survived in {printed:?}: {out:?}"
        );
        assert!(out.contains(REDACTED));
    }
}
