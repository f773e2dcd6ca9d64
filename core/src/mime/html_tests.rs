#![allow(clippy::unwrap_used)]

use super::*;

fn clean(html: &str) -> Sanitised {
    let cids = [("logo@example.com".to_string(), 3usize)]
        .into_iter()
        .collect();
    sanitise(html, &cids)
}

/// No network URL may survive anywhere but in a link's href.
fn assert_no_remote_outside_links(out: &Sanitised) {
    let mut rest = out.html.clone();
    for link in &out.links {
        rest = rest.replace(&format!("href=\"{}\"", link.replace('&', "&amp;")), "");
    }
    let lower = rest.to_ascii_lowercase();
    assert!(
        !lower.contains("http:") && !lower.contains("https:") && !lower.contains("//evil"),
        "remote URL left in {}",
        out.html
    );
}

#[test]
fn script_tags_are_removed_with_their_content() {
    let out = clean("<p>hi</p><script>alert(1)</script><SCRIPT SRC=http://evil/x.js></SCRIPT>");
    assert_eq!(out.html, "<p>hi</p>");
}

#[test]
fn event_handlers_are_removed() {
    let out = clean(
        r#"<img src="cid:logo@example.com" onerror="alert(1)"><p onclick="x()" onmouseover=y>t</p><body onload=z()>"#,
    );
    assert_eq!(out.html, r#"<img src="tern-part:3"><p>t</p>"#);
    assert_eq!(out.used_parts, vec![3]);
}

#[test]
fn javascript_and_other_links_lose_their_href() {
    let out = clean(
        "<a href=\"javascript:alert(1)\">a</a><a href=\" JaVaScRiPt:alert(1)\">b</a>\
         <a href=\"java&#x09;script:alert(1)\">c</a><a href=\"data:text/html,<script>x</script>\">d</a>\
         <a href=\"vbscript:x\">e</a><a href=\"/relative\">f</a><a href=\"cid:logo@example.com\">g</a>",
    );
    assert_eq!(
        out.html,
        "<a rel=\"noopener noreferrer\">a</a><a rel=\"noopener noreferrer\">b</a>\
         <a rel=\"noopener noreferrer\">c</a><a rel=\"noopener noreferrer\">d</a>\
         <a rel=\"noopener noreferrer\">e</a><a rel=\"noopener noreferrer\">f</a>\
         <a rel=\"noopener noreferrer\">g</a>"
    );
    assert!(out.links.is_empty());
}

#[test]
fn real_links_keep_their_target_and_get_rel() {
    let out = clean(
        r#"<a href="https://example.com/a?b=1&amp;c=2" target="_blank">x</a> <a href="mailto:bob@example.com">m</a>"#,
    );
    assert_eq!(
        out.html,
        "<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">x</a> \
         <a href=\"mailto:bob@example.com\" rel=\"noopener noreferrer\">m</a>"
    );
    assert_eq!(
        out.links,
        vec!["https://example.com/a?b=1&c=2", "mailto:bob@example.com"]
    );
}

#[test]
fn css_url_styles_are_dropped_and_listed() {
    let out = clean(
        "<div style=\"color: red; background: url('https://evil.example/bg.png')\">a</div>\
         <div style=\"background-image: u\\72 l(https://evil.example/esc.png)\">b</div>\
         <p style=\"color: blue; position: fixed; top: 0\">c</p>",
    );
    assert_eq!(
        out.html,
        "<div>a</div><div>b</div><p style=\"color:blue\">c</p>"
    );
    assert_eq!(out.remote_images, vec!["https://evil.example/bg.png"]);
    assert_no_remote_outside_links(&out);
}

#[test]
fn style_elements_are_removed() {
    let out = clean("<style>@import url(https://evil.example/a.css); p{}</style><p>x</p>");
    assert_eq!(out.html, "<p>x</p>");
}

#[test]
fn remote_images_are_removed_and_listed() {
    let out = clean(
        r#"<img src="https://track.example/p.gif" alt="pixel"><img src="//cdn.example/x.png">
           <img srcset="https://a.example/1x.png 1x, https://a.example/2x.png 2x" src="cid:missing">
           <img src="http://track.example/p.gif">"#,
    );
    assert_eq!(
        out.remote_images,
        vec![
            "https://track.example/p.gif",
            "https://cdn.example/x.png",
            "https://a.example/1x.png",
            "https://a.example/2x.png",
            "http://track.example/p.gif",
        ]
    );
    // Each `src` keeps its place as a placeholder that is not a URL; srcset goes.
    assert!(!out.html.contains("srcset"), "{}", out.html);
    let placeholders: Vec<String> = out
        .html
        .split('"')
        .filter(|s| s.starts_with(REMOTE_SCHEME))
        .map(|s| remote_image_url(s).unwrap())
        .collect();
    assert_eq!(
        placeholders,
        vec![
            "https://track.example/p.gif",
            "https://cdn.example/x.png",
            "http://track.example/p.gif",
        ]
    );
    assert_no_remote_outside_links(&out);
}

#[test]
fn only_remote_placeholders_decode_to_urls() {
    assert_eq!(remote_image_url("tern-remote:zz"), None);
    assert_eq!(remote_image_url("tern-remote:6"), None);
    // Hex of "file:///etc/passwd": a placeholder never yields anything but http(s).
    assert_eq!(
        remote_image_url("tern-remote:66696c653a2f2f2f6574632f706173737764"),
        None
    );
    assert_eq!(remote_image_url("tern-part:3"), None);
    assert_eq!(
        remote_image_url(&remote_placeholder("https://a.example/x.png?q=1")),
        Some("https://a.example/x.png?q=1".to_string())
    );
}

#[test]
fn data_images_survive_but_not_svg() {
    let out = clean(
        r#"<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4=">"#,
    );
    assert_eq!(
        out.html,
        r#"<img src="data:image/png;base64,iVBORw0KGgo="><img>"#
    );
}

#[test]
fn svg_with_script_is_removed() {
    let out = clean(
        r#"<svg onload="alert(1)"><script>alert(2)</script><a xlink:href="javascript:x"><text>t</text></a><image href="https://evil.example/i.png"/></svg><p>after</p>"#,
    );
    assert_eq!(out.html, "<p>after</p>");
}

#[test]
fn background_attributes_are_removed_and_listed() {
    let out = clean(
        r##"<table background="https://evil.example/t.png" bgcolor="#fff"><tr><td background="http://evil.example/c.png">x</td></tr></table>"##,
    );
    assert_eq!(
        out.html,
        "<table bgcolor=\"#fff\"><tbody><tr><td>x</td></tr></tbody></table>"
    );
    assert_eq!(
        out.remote_images,
        vec!["https://evil.example/t.png", "http://evil.example/c.png"]
    );
}

#[test]
fn meta_refresh_base_and_links_are_removed() {
    let out = clean(
        r#"<html><head><meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/"><link rel="stylesheet" href="https://evil.example/s.css"><title>T</title></head><body><p>x</p></body></html>"#,
    );
    assert_eq!(out.html, "<p>x</p>");
    assert_no_remote_outside_links(&out);
}

#[test]
fn forms_frames_and_objects_are_removed() {
    let out = clean(
        r#"<form action="https://evil.example/"><input name="pw" type="password"><button formaction="https://evil.example/">go</button></form><iframe src="https://evil.example/"></iframe><object data="https://evil.example/o"></object><embed src="https://evil.example/e">"#,
    );
    assert_eq!(out.html, "go");
    assert_no_remote_outside_links(&out);
}

#[test]
fn cid_urls_may_be_percent_encoded_and_any_case() {
    let out = clean(r#"<img src="CID:Logo%40example.com">"#);
    assert_eq!(out.html, r#"<img src="tern-part:3">"#);
}

#[test]
fn namespace_confusion_does_not_escape() {
    let out = clean(
        r#"<svg><iframe><a title="</iframe><img src onerror=alert(1)>">t</a></iframe></svg><math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"#,
    );
    assert!(!out.html.contains("onerror"), "{}", out.html);
    assert!(!out.html.contains("<img"), "{}", out.html);
}

#[test]
fn repeated_urls_are_listed_once() {
    let out = clean(
        &r#"<img src="https://t.example/p.gif"><a href="https://x.example/">x</a>"#.repeat(3),
    );
    assert_eq!(out.remote_images, vec!["https://t.example/p.gif"]);
    assert_eq!(out.links, vec!["https://x.example/"]);
}
