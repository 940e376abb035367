//! The dashboard: one page, its script and its style sheet, built into the binary so the server
//! needs no file and the page nothing from elsewhere. The script reads the JSON API like any
//! other client, so the page shows what the API answers.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/app.js");
const STYLE: &str = include_str!("dashboard/style.css");
const ICON: &str = include_str!("dashboard/icon.svg");

/// Where the page's refresh period goes: a `<meta>` the script reads, since the policy allows
/// no inline script to hand it over.
const REFRESH_PLACEHOLDER: &str = "{{refresh_seconds}}";

/// The page, with its refresh period in.
pub fn index_html(refresh_seconds: u32) -> String {
    INDEX.replace(REFRESH_PLACEHOLDER, &refresh_seconds.to_string())
}

pub fn page(html: &str) -> Response {
    asset("text/html; charset=utf-8", html.to_owned())
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT.to_owned())
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE.to_owned())
}

pub async fn icon() -> Response {
    asset("image/svg+xml", ICON.to_owned())
}

fn asset(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The assets change only with the binary; the page's data is fetched fresh anyway.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_its_refresh_period_and_loads_nothing_from_elsewhere() {
        let html = index_html(7);
        assert!(html.contains(r#"content="7""#), "{html}");
        assert!(!html.contains(REFRESH_PLACEHOLDER));
        for asset in [INDEX, SCRIPT, STYLE, ICON] {
            // A namespace name is no address: nothing is loaded from it.
            let asset = asset.replace("http://www.w3.org/2000/svg", "");
            assert!(!asset.contains("http://"), "an absolute URL in an asset");
            assert!(!asset.contains("https://"), "an absolute URL in an asset");
            // Text goes in with textContent only: no HTML is built from data.
            assert!(!asset.contains("innerHTML"));
        }
        assert!(
            !INDEX.contains("<script>"),
            "inline script: the policy forbids it"
        );
        assert!(
            !INDEX.contains("style="),
            "inline style: the policy forbids it"
        );
    }
}
