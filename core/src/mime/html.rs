//! Sanitising HTML mail with ammonia so it can be shown without any network access.
//!
//! What survives: formatting tags, links to http/https/mailto (with
//! rel="noopener noreferrer"), images from `cid:` parts of the same message (rewritten to
//! `tern-part:INDEX`, the index [`super::attachment_bytes`] takes) and `data:image/*`.
//! Every remote image URL found in `src`, `srcset`, `background` or a CSS `url()` is
//! removed and listed in `remote_images` so the user can choose to load them later. An
//! `<img>` whose `src` was remote keeps a `tern-remote:HEX` placeholder ([`REMOTE_SCHEME`],
//! the URL hex-encoded so nothing reads it as a URL) that marks where the image stands,
//! for the GUI to fill in once the user allows it ([`remote_image_url`]).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use ammonia::{Builder, UrlRelative};

use super::depth;

/// Scheme of the placeholder URL that names a part of the same message.
pub const PART_SCHEME: &str = "tern-part";

/// Scheme of the placeholder that marks where a blocked remote image stood.
pub const REMOTE_SCHEME: &str = "tern-remote";

/// The remote URL a `tern-remote:HEX` placeholder stands for (as listed in
/// `remote_images`), or `None` for anything else.
pub fn remote_image_url(src: &str) -> Option<String> {
    let hex = src.trim().strip_prefix(REMOTE_SCHEME)?.strip_prefix(':')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|u| remote_url(u).is_some())
}

/// The placeholder `src` for a remote image URL.
fn remote_placeholder(url: &str) -> String {
    let mut out = String::with_capacity(REMOTE_SCHEME.len() + 1 + url.len() * 2);
    out.push_str(REMOTE_SCHEME);
    out.push(':');
    for b in url.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The result of sanitising one HTML part.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Sanitised {
    pub html: String,
    pub remote_images: Vec<String>,
    pub links: Vec<String>,
    /// Part indexes the HTML shows inline through `cid:`.
    pub used_parts: Vec<usize>,
}

/// What the attribute filter saw; it runs inside ammonia, hence the shared cell.
#[derive(Default)]
struct Seen {
    remote_images: Vec<String>,
    links: Vec<String>,
    used_parts: Vec<usize>,
}

/// Raster image types a `data:` URL may carry. SVG is left out: it is a document that can
/// hold scripts and links of its own.
const DATA_IMAGE_TYPES: &[&str] = &[
    "data:image/png",
    "data:image/jpeg",
    "data:image/jpg",
    "data:image/gif",
    "data:image/webp",
    "data:image/bmp",
];

/// CSS properties kept in `style` attributes: layout and colour, nothing that positions
/// content over the reader's window or fetches anything.
const STYLE_PROPERTIES: &[&str] = &[
    "background-color",
    "border",
    "border-bottom",
    "border-collapse",
    "border-color",
    "border-left",
    "border-radius",
    "border-right",
    "border-spacing",
    "border-style",
    "border-top",
    "border-width",
    "color",
    "direction",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-width",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
];

/// Text in a style attribute that may fetch something or hide from a plain substring check
/// (CSS escapes and comments); such an attribute is dropped whole.
const STYLE_DANGER: &[&str] = &[
    "url",
    "image",
    "expression",
    "javascript",
    "behavior",
    "binding",
    "import",
    "\\",
    "/*",
];

/// Sanitises one HTML body. `cids` maps a Content-ID (without angle brackets) to its part
/// index.
pub(crate) fn sanitise(html: &str, cids: &HashMap<String, usize>) -> Sanitised {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut builder = Builder::default();
    builder
        .add_tags(["font", "big"])
        .add_clean_content_tags([
            "title", "noscript", "template", "iframe", "object", "embed", "applet", "noembed",
            "noframes", "frameset", "frame", "textarea", "select", "svg", "math", "audio", "video",
        ])
        .add_generic_attributes(["style", "dir", "align", "background"])
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tag_attributes("img", ["srcset", "border"])
        .add_tag_attributes(
            "table",
            [
                "width",
                "height",
                "bgcolor",
                "border",
                "cellpadding",
                "cellspacing",
                "valign",
            ],
        )
        .add_tag_attributes("td", ["width", "height", "bgcolor", "valign", "nowrap"])
        .add_tag_attributes("th", ["width", "height", "bgcolor", "valign", "nowrap"])
        .add_tag_attributes("tr", ["bgcolor", "valign"])
        // Only schemes some element may keep; the filter below narrows this per element.
        .url_schemes(
            ["http", "https", "mailto", "cid", "data"]
                .into_iter()
                .collect(),
        )
        // Relative URLs reach the filter, which drops them (there is no base to resolve
        // against) after noting protocol-relative image URLs as remote.
        .url_relative(UrlRelative::PassThrough)
        .link_rel(Some("noopener noreferrer"))
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
        .strip_comments(true);

    let cids = cids.clone();
    let filter_seen = Arc::clone(&seen);
    builder.attribute_filter(move |element, attribute, value| {
        let mut seen = filter_seen.lock().unwrap_or_else(PoisonError::into_inner);
        filter_attribute(element, attribute, value, &cids, &mut seen).map(Into::into)
    });
    let html = builder.clean(&depth::limit_depth(html)).to_string();
    drop(builder);

    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(PoisonError::into_inner));
    Sanitised {
        html,
        remote_images: dedup(seen.remote_images),
        links: dedup(seen.links),
        used_parts: dedup(seen.used_parts),
    }
}

/// Decides what becomes of one allowed attribute: `None` drops it.
fn filter_attribute(
    element: &str,
    attribute: &str,
    value: &str,
    cids: &HashMap<String, usize>,
    seen: &mut Seen,
) -> Option<String> {
    match (element, attribute) {
        ("a", "href") => {
            let v = value.trim();
            let lower = v.to_ascii_lowercase();
            let ok = ["http://", "https://", "mailto:"]
                .iter()
                .any(|s| lower.starts_with(s));
            if ok {
                seen.links.push(v.to_string());
                Some(v.to_string())
            } else {
                None
            }
        }
        ("img", "src") => image_src(value, cids, seen),
        ("img", "srcset") => {
            for candidate in value.split(',') {
                let url = candidate.split_whitespace().next().unwrap_or_default();
                note_remote(url, seen);
            }
            None
        }
        (_, "background") => {
            note_remote(value, seen);
            None
        }
        (_, "style") => {
            for url in css_urls(value) {
                note_remote(&url, seen);
            }
            let lower = value.to_ascii_lowercase();
            if STYLE_DANGER.iter().any(|d| lower.contains(d)) {
                None
            } else {
                Some(value.to_string())
            }
        }
        // Anything else that names a URL is not expected here; never let one through.
        (_, "src" | "href" | "cite" | "longdesc" | "action" | "poster" | "data") => None,
        _ => Some(value.to_string()),
    }
}

fn image_src(value: &str, cids: &HashMap<String, usize>, seen: &mut Seen) -> Option<String> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("cid:") {
        let id = percent_decode(v.get(4..).unwrap_or_default());
        let id = id.trim().trim_start_matches('<').trim_end_matches('>');
        let index = cids.get(id).copied().or_else(|| {
            cids.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(id))
                .map(|(_, &i)| i)
        })?;
        seen.used_parts.push(index);
        return Some(format!("{PART_SCHEME}:{index}"));
    }
    if DATA_IMAGE_TYPES.iter().any(|t| {
        lower
            .strip_prefix(t)
            .is_some_and(|rest| rest.starts_with([';', ',']))
    }) {
        return Some(v.to_string());
    }
    // Remote: listed, and its place kept without the URL itself.
    let url = remote_url(v)?;
    let placeholder = remote_placeholder(&url);
    seen.remote_images.push(url);
    Some(placeholder)
}

/// Lists `url` as a remote image when it would be fetched from the network.
fn note_remote(url: &str, seen: &mut Seen) {
    if let Some(url) = remote_url(url) {
        seen.remote_images.push(url);
    }
}

/// The absolute form of a URL that would load from the network, if it is one.
fn remote_url(url: &str) -> Option<String> {
    let url = url.trim().trim_matches(['"', '\'']).trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Some(url.to_string())
    } else if url.starts_with("//") {
        Some(format!("https:{url}"))
    } else {
        None
    }
}

/// The arguments of every `url(...)` in a CSS text.
fn css_urls(css: &str) -> Vec<String> {
    let lower = css.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower.get(from..).and_then(|s| s.find("url(")) {
        let start = from + pos + 4;
        let end = lower
            .get(start..)
            .and_then(|s| s.find(')'))
            .map_or(css.len(), |e| start + e);
        if let Some(arg) = css.get(start..end) {
            out.push(arg.trim().trim_matches(['"', '\'']).to_string());
        }
        from = end;
    }
    out
}

/// Decodes `%XX` escapes (RFC 2392 allows them in `cid:` URLs).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes repeats, keeping the first of each in order.
fn dedup<T: Eq + Hash + Clone>(mut items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::with_capacity(items.len());
    items.retain(|item| seen.insert(item.clone()));
    items
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
