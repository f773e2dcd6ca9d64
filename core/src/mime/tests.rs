#![allow(clippy::unwrap_used)]

use super::*;

const MIXED: &[u8] = b"From: Ann <ann@example.com>\r\n\
To: bob@example.com\r\n\
Subject: files\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
see attached\r\n\
--b\r\n\
Content-Type: application/octet-stream; name=\"../x.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAEC/w==\r\n\
--b--\r\n";

fn view(raw: &[u8]) -> MessageView {
    match parse(raw) {
        Parsed::View(v) => v,
        other => panic!("expected a view, got {other:?}"),
    }
}

#[test]
fn attachments_are_listed_and_fetched() {
    let v = view(MIXED);
    assert_eq!(v.text.as_deref(), Some("see attached"));
    assert_eq!(v.attachments.len(), 1);
    let a = &v.attachments[0];
    assert_eq!(a.name.as_deref(), Some("x.bin"));
    assert_eq!(a.size, 4);
    assert_eq!(
        attachment_bytes(MIXED, a.index).unwrap(),
        vec![0, 1, 2, 255]
    );
    assert_eq!(attachment_bytes(MIXED, 99), None);
}

#[test]
fn empty_input_is_source() {
    assert_eq!(
        parse(b""),
        Parsed::Source {
            text: String::new(),
            reason: MimeError::NotAMessage.to_string()
        }
    );
}

#[test]
fn garbage_without_header_names_is_source() {
    assert!(matches!(
        parse(b"\x00\xff garbage: x\n\nbody"),
        Parsed::Source { .. }
    ));
}

#[test]
fn index_text_is_bounded() {
    let mut raw = b"Subject: big\r\nContent-Type: text/html\r\n\r\n".to_vec();
    for _ in 0..50_000 {
        raw.extend_from_slice(b"<p>word word</p>");
    }
    let text = body_text_for_index(&raw);
    assert!(text.len() <= INDEX_TEXT_LIMIT);
    assert!(text.starts_with("word word\n\nword word"));
}

#[test]
fn index_text_of_source_is_the_raw_text() {
    assert_eq!(body_text_for_index(b"just words"), "just words");
}

#[test]
fn html_only_gets_a_text_rendering() {
    let v = view(b"Subject: h\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>there</b></p><p>x</p>");
    assert_eq!(v.text.as_deref(), Some("Hello there\n\nx"));
    assert_eq!(v.html.unwrap().html, "<p>Hello <b>there</b></p><p>x</p>");
}

#[test]
fn a_panic_becomes_an_error() {
    let result: Result<(), MimeError> = isolate(|| panic!("boom"));
    assert_eq!(result, Err(MimeError::ParserPanicked));
}

#[test]
fn unencoded_nested_message_bytes_are_its_own() {
    let raw = b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nouter text\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: inner\r\n\r\ninner text\r\n--b--\r\n";
    let v = view(raw);
    assert_eq!(v.text.as_deref(), Some("outer text"));
    let a = &v.attachments[0];
    assert_eq!(a.name.as_deref(), Some("inner"));
    assert_eq!(a.mime_type, "message/rfc822");
    assert_eq!(
        attachment_bytes(raw, a.index).unwrap(),
        b"Subject: inner\r\n\r\ninner text".to_vec()
    );
}
