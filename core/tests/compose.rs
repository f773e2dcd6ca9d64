//! The compose model and the outgoing-message builder: what `Compose::build` writes is
//! read back with mail-parser (as a receiving client would) and by Tern's own MIME view,
//! and checked against what the user typed; replies and forwards are made from real
//! message bytes.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use tern_core::account::{Account, Identity};
use tern_core::compose::{
    Attachment, Built, Compose, ComposeError, ForwardedMessage, ReplyKind, forward_as_attachment,
    forward_inline, parse_addresses, reply,
};
use tern_core::mime::{self, Parsed};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 15).unwrap()
}

fn identity() -> Identity {
    Identity {
        name: "Ann Example".into(),
        email: "ann@tern.test".into(),
        reply_to: None,
        signature: "Ann\nTern test team".into(),
    }
}

fn compose() -> Compose {
    Compose {
        account: "acc".into(),
        from: identity(),
        to: "Bob <bob@tern.test>".into(),
        subject: "Hello".into(),
        body: "Hi Bob,\n\nsee you.\n".into(),
        ..Compose::default()
    }
}

fn build(compose: &Compose) -> Built {
    compose.build(now()).unwrap()
}

fn parse(bytes: &[u8]) -> Message<'_> {
    MessageParser::default().parse(bytes).unwrap()
}

/// The MIME structure, e.g. `multipart/mixed[text/plain,application/pdf]`.
fn structure(message: &Message<'_>) -> String {
    fn part(message: &Message<'_>, id: usize) -> String {
        let p = &message.parts[id];
        let ct = p
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_else(|| "text/plain".into())
            .to_ascii_lowercase();
        match &p.body {
            PartType::Multipart(children) => format!(
                "{ct}[{}]",
                children
                    .iter()
                    .map(|&c| part(message, c as usize))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            _ => ct,
        }
    }
    part(message, 0)
}

/// Everything Postfix and RFC 5322 insist on: CRLF only, no NUL, no line over 998.
fn assert_wire_format(bytes: &[u8]) {
    assert!(!bytes.contains(&0), "NUL in message");
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
    }
    for line in bytes.split(|&b| b == b'\n') {
        assert!(line.len() <= 999, "line of {} octets", line.len());
    }
    assert!(bytes.ends_with(b"\r\n"));
}

/// The top-level header block as text.
fn header_block(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.split("\r\n\r\n").next().unwrap().to_string()
}

fn names_and_emails(address: Option<&mail_parser::Address<'_>>) -> Vec<(Option<String>, String)> {
    address
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a.name().map(str::to_string),
                        a.address().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Attachment parts of `bytes` as Tern's reader sees them: (name, type, bytes).
fn attachments(bytes: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let Parsed::View(view) = mime::parse(bytes) else {
        panic!("built message does not parse")
    };
    view.attachments
        .iter()
        .map(|a| {
            (
                a.name.clone().unwrap_or_default(),
                a.mime_type.clone(),
                mime::attachment_bytes(bytes, a.index).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_plain_message_has_every_header_and_is_7bit() {
    let built = build(&compose());
    assert_wire_format(&built.bytes);
    let head = header_block(&built.bytes);
    for line in head.split("\r\n") {
        assert!(line.len() <= 78, "unfolded header line: {line}");
    }
    assert!(head.contains("Content-Transfer-Encoding: 7bit"), "{head}");
    assert!(head.contains("MIME-Version: 1.0"));
    assert!(head.contains(&format!("User-Agent: Tern/{}", env!("CARGO_PKG_VERSION"))));
    assert!(!head.contains("Bcc"));

    let message = parse(&built.bytes);
    assert_eq!(structure(&message), "text/plain");
    assert_eq!(message.date().unwrap().to_timestamp(), now().timestamp());
    assert_eq!(message.message_id(), Some(built.message_id.as_str()));
    assert!(built.message_id.ends_with("@tern.test"));
    assert_eq!(
        names_and_emails(message.from()),
        vec![(Some("Ann Example".into()), "ann@tern.test".into())]
    );
    assert_eq!(message.subject(), Some("Hello"));
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        "Hi Bob,\n\nsee you.\n"
    );
    assert_eq!(built.envelope_from, "ann@tern.test");
    assert_eq!(built.recipients, vec!["bob@tern.test"]);
    assert!(!built.needs_smtputf8);
    assert!(!built.needs_8bitmime);
    assert!(built.bcc_header.is_none());
}

#[test]
fn every_message_gets_its_own_message_id() {
    let a = build(&compose());
    let b = build(&compose());
    assert_ne!(a.message_id, b.message_id);
}

#[test]
fn names_in_many_scripts_and_a_long_emoji_subject_decode_as_typed() {
    let long_name = "Ünïcödé ".repeat(15);
    let names = [
        "Ζωή Παπαδοπούλου",
        "Иван Петров",
        "山田 太郎",
        "محمد علي",
        "Doe, J",
        "O'Brien",
        "Jean \"Le Chef\" Dupont",
        "😀 Emoji Person",
        "Back\\slash",
        "=?utf-8?q?not_encoded?=",
        long_name.trim_end(),
    ];
    let to: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| tern_core::compose::format_address(Some(n), &format!("p{i}@tern.test")))
        .collect();
    let mut subject: String = "Quarterly report 📈 für Q1 — ünïcödé, 日本語の件名 and more words "
        .repeat(6)
        .chars()
        .take(300)
        .collect();
    subject = subject.trim_end().to_string();
    assert!(subject.chars().count() >= 299);

    let c = Compose {
        from: Identity {
            name: "Ζωή Π. «Zoe» Ωμέγα".into(),
            ..identity()
        },
        to: to.join(", "),
        cc: "Ελένη <eleni@tern.test>".into(),
        reply_to: Some("Help Desk <desk@tern.test>".into()),
        subject: subject.clone(),
        ..compose()
    };
    let built = build(&c);
    assert_wire_format(&built.bytes);
    for line in header_block(&built.bytes).split("\r\n") {
        assert!(line.len() <= 78, "unfolded header line: {line}");
    }
    assert!(
        built.bytes.is_ascii(),
        "names and subject must be encoded words"
    );

    let message = parse(&built.bytes);
    assert_eq!(message.subject(), Some(subject.as_str()));
    assert_eq!(
        names_and_emails(message.from()),
        vec![(Some("Ζωή Π. «Zoe» Ωμέγα".into()), "ann@tern.test".into())]
    );
    let expected: Vec<(Option<String>, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (Some(n.to_string()), format!("p{i}@tern.test")))
        .collect();
    assert_eq!(names_and_emails(message.to()), expected);
    assert_eq!(
        names_and_emails(message.cc()),
        vec![(Some("Ελένη".into()), "eleni@tern.test".into())]
    );
    assert_eq!(
        names_and_emails(message.reply_to()),
        vec![(Some("Help Desk".into()), "desk@tern.test".into())]
    );
}

#[test]
fn a_subject_that_is_one_giant_word_is_folded_not_overlong() {
    let word = format!("https://example.org/{}", "x".repeat(1500));
    let built = build(&Compose {
        subject: format!("See {word} now"),
        ..compose()
    });
    assert_wire_format(&built.bytes);
    for line in header_block(&built.bytes).split("\r\n") {
        assert!(line.len() <= 78, "unfolded header line: {line}");
    }
    assert_eq!(
        parse(&built.bytes).subject(),
        Some(format!("See {word} now").as_str())
    );
}

#[test]
fn utf8_text_is_encoded_and_long_lines_are_wrapped() {
    let body = format!("Grüße aus Köln ☕\n{}\nend", "long line ".repeat(200));
    let built = build(&Compose {
        body: body.clone(),
        ..compose()
    });
    assert_wire_format(&built.bytes);
    assert!(built.bytes.is_ascii());
    let head = String::from_utf8_lossy(&built.bytes);
    assert!(
        head.contains("Content-Transfer-Encoding: quoted-printable")
            || head.contains("Content-Transfer-Encoding: base64")
    );
    let message = parse(&built.bytes);
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        format!("{body}\n")
    );
}

#[test]
fn bare_line_ends_in_the_body_become_crlf() {
    let built = build(&Compose {
        body: "one\rtwo\r\nthree\nfour\0".into(),
        ..compose()
    });
    assert_wire_format(&built.bytes);
    let message = parse(&built.bytes);
    assert_eq!(
        message.body_text(0).unwrap().replace("\r\n", "\n"),
        "one\ntwo\nthree\nfour\n",
        "the text ends with a line end"
    );
}

#[test]
fn html_alternative_is_text_then_html() {
    let built = build(&Compose {
        body: "Hello <b>not bold</b>\nsee https://example.org/x?a=1&b=2\n\n> quoted\n> > twice\n\n-- \nAnn".into(),
        html_alternative: true,
        ..compose()
    });
    assert_wire_format(&built.bytes);
    let message = parse(&built.bytes);
    assert_eq!(
        structure(&message),
        "multipart/alternative[text/plain,text/html]"
    );
    let html = message.body_html(0).unwrap();
    assert!(html.contains("Hello &lt;b&gt;not bold&lt;/b&gt;"), "{html}");
    assert!(html.contains(
        "<a href=\"https://example.org/x?a=1&amp;b=2\">https://example.org/x?a=1&amp;b=2</a>"
    ));
    assert_eq!(html.matches("<blockquote").count(), 2);
    assert!(html.contains("--&nbsp;"));
    assert!(!html.contains("src=\"http"), "no remote references");
    assert!(message.body_text(0).unwrap().contains("> > twice"));
}

#[test]
fn inline_images_sit_in_related_inside_the_alternative() {
    let png: Vec<u8> = (0..=255u8).rev().collect();
    let built = build(&Compose {
        html_alternative: true,
        attachments: vec![
            Attachment {
                name: "chart.png".into(),
                content_type: "image/png".into(),
                content_id: Some("<chart1@tern.test>".into()),
                data: Arc::new(png.clone()),
            },
            Attachment {
                name: "notes.txt".into(),
                content_type: "text/plain".into(),
                content_id: None,
                data: Arc::new(b"notes".to_vec()),
            },
        ],
        ..compose()
    });
    assert_wire_format(&built.bytes);
    let message = parse(&built.bytes);
    assert_eq!(
        structure(&message),
        "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png]],text/plain]"
    );
    let html = message.body_html(0).unwrap();
    assert!(html.contains("src=\"cid:chart1@tern.test\""), "{html}");
    let image = message
        .parts
        .iter()
        .find(|p| p.content_id() == Some("chart1@tern.test"))
        .expect("image part with its Content-ID");
    assert_eq!(image.contents(), &png[..]);
}

#[test]
fn attachments_arrive_byte_for_byte_with_their_names() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(256 * 40).collect();
    let text_no_newline = b"line one\nline two\r\nline three without newline".to_vec();
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec();
    // 244 bytes: long, but under the 255-byte cut.
    let long_name = format!("{}.txt", "Ä".repeat(120));
    let built = build(&Compose {
        attachments: vec![
            Attachment {
                name: "all-bytes.bin".into(),
                content_type: "application/octet-stream".into(),
                content_id: None,
                data: Arc::new(binary.clone()),
            },
            Attachment {
                name: "notes.txt".into(),
                content_type: "text/plain".into(),
                content_id: None,
                data: Arc::new(text_no_newline.clone()),
            },
            Attachment {
                name: "Übersicht 2026 — café.pdf".into(),
                content_type: "application/pdf".into(),
                content_id: None,
                data: Arc::new(pdf.clone()),
            },
            Attachment {
                name: long_name.clone(),
                content_type: "text/plain".into(),
                content_id: None,
                data: Arc::new(Vec::new()),
            },
        ],
        ..compose()
    });
    assert_wire_format(&built.bytes);
    let raw = String::from_utf8_lossy(&built.bytes);
    assert!(raw.contains("filename*=utf-8''%C3%9Cbersicht%202026%20%E2%80%94%20caf%C3%A9.pdf"));

    let message = parse(&built.bytes);
    assert_eq!(
        structure(&message),
        "multipart/mixed[text/plain,application/octet-stream,text/plain,application/pdf,text/plain]"
    );
    let by_parser: Vec<(String, Vec<u8>)> = message
        .attachments()
        .map(|p| {
            (
                p.attachment_name().unwrap().to_string(),
                p.contents().to_vec(),
            )
        })
        .collect();
    let expected = [
        ("all-bytes.bin".to_string(), binary.clone()),
        ("notes.txt".to_string(), text_no_newline.clone()),
        ("Übersicht 2026 — café.pdf".to_string(), pdf.clone()),
        (long_name.clone(), Vec::new()),
    ];
    assert_eq!(by_parser.len(), expected.len());
    for ((name, bytes), (want_name, want_bytes)) in by_parser.iter().zip(&expected) {
        assert_eq!(name, want_name);
        assert!(
            bytes == want_bytes,
            "{name}: {} bytes, want {}",
            bytes.len(),
            want_bytes.len()
        );
    }
    // Tern's own reader agrees.
    let seen = attachments(&built.bytes);
    assert_eq!(seen[0].2, binary);
    assert_eq!(seen[1].2, text_no_newline);
    assert_eq!(seen[2].0, "Übersicht 2026 — café.pdf");
    assert_eq!(seen[2].2, pdf);
}

#[test]
fn attachment_from_file_takes_name_type_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Übersicht 2026 — café.pdf");
    std::fs::write(&path, b"%PDF").unwrap();
    let attachment = Attachment::from_file(&path).unwrap();
    assert_eq!(attachment.name, "Übersicht 2026 — café.pdf");
    assert_eq!(attachment.content_type, "application/pdf");
    assert_eq!(attachment.data.as_slice(), b"%PDF");

    let missing = dir.path().join("gone.txt");
    match Attachment::from_file(&missing) {
        Err(ComposeError::Io { path, .. }) => assert!(path.ends_with("gone.txt")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bcc_is_in_the_envelope_and_the_sent_copy_only() {
    let built = build(&Compose {
        cc: "Carol <carol@tern.test>".into(),
        bcc: "Secret Δ <secret@tern.test>, hidden@tern.test".into(),
        ..compose()
    });
    assert!(
        !String::from_utf8_lossy(&built.bytes)
            .to_lowercase()
            .contains("secret")
    );
    assert!(!String::from_utf8_lossy(&built.bytes).contains("hidden@"));
    assert_eq!(
        built.recipients,
        vec![
            "bob@tern.test",
            "carol@tern.test",
            "secret@tern.test",
            "hidden@tern.test"
        ]
    );
    let bcc = built.bcc_header.clone().unwrap();
    assert!(bcc.starts_with("Bcc: ") && bcc.ends_with("\r\n"));
    assert!(bcc.is_ascii());
    // The Sent copy: Bcc in front of the submitted bytes.
    let mut sent = bcc.into_bytes();
    sent.extend_from_slice(&built.bytes);
    assert_wire_format(&sent);
    assert_eq!(
        names_and_emails(parse(&sent).bcc()),
        vec![
            (Some("Secret Δ".into()), "secret@tern.test".into()),
            (None, "hidden@tern.test".into())
        ]
    );
}

#[test]
fn recipients_are_deduplicated_ignoring_case() {
    let built = build(&Compose {
        to: "Bob <bob@tern.test>, BOB@Tern.Test, carol@tern.test".into(),
        cc: "Carol@tern.test, dave@tern.test".into(),
        bcc: "bob@TERN.test, dave@tern.test".into(),
        ..compose()
    });
    assert_eq!(
        built.recipients,
        vec!["bob@tern.test", "carol@tern.test", "dave@tern.test"]
    );
}

#[test]
fn header_injection_is_refused_in_every_typed_field() {
    let evil = "x\r\nBcc: evil@x";
    let cases: Vec<(&str, Compose)> = vec![
        (
            "Subject",
            Compose {
                subject: evil.into(),
                ..compose()
            },
        ),
        (
            "Subject",
            Compose {
                subject: "a\nb".into(),
                ..compose()
            },
        ),
        (
            "Subject",
            Compose {
                subject: "a\0b".into(),
                ..compose()
            },
        ),
        (
            "From",
            Compose {
                from: Identity {
                    name: evil.into(),
                    ..identity()
                },
                ..compose()
            },
        ),
        (
            "From",
            Compose {
                from: Identity {
                    email: "ann@tern.test\r\nBcc: evil@x".into(),
                    ..identity()
                },
                ..compose()
            },
        ),
        (
            "To",
            Compose {
                to: "bob@tern.test\r\nBcc: evil@x".into(),
                ..compose()
            },
        ),
        (
            "To",
            Compose {
                to: "x\r\nBcc: evil@x <bob@tern.test>".into(),
                ..compose()
            },
        ),
        (
            "Cc",
            Compose {
                cc: "c@tern.test\nBcc: evil@x".into(),
                ..compose()
            },
        ),
        (
            "Bcc",
            Compose {
                bcc: "c@tern.test\rX: y".into(),
                ..compose()
            },
        ),
        (
            "Reply-To",
            Compose {
                reply_to: Some(evil.into()),
                ..compose()
            },
        ),
        (
            "In-Reply-To",
            Compose {
                in_reply_to: Some("a@b>\r\nBcc: evil@x".into()),
                ..compose()
            },
        ),
        (
            "References",
            Compose {
                references: vec!["a@b>\r\nX: y".into()],
                ..compose()
            },
        ),
        (
            "Content-ID",
            Compose {
                attachments: vec![Attachment {
                    name: "a.png".into(),
                    content_type: "image/png".into(),
                    content_id: Some("a@b>\r\nX: y".into()),
                    data: Arc::new(vec![1]),
                }],
                ..compose()
            },
        ),
    ];
    for (field, c) in cases {
        assert_eq!(
            c.build(now()),
            Err(ComposeError::HeaderInjection {
                field: field.to_string()
            }),
            "{field}"
        );
    }
    // A file name with a line break is encoded, never written raw.
    let built = build(&Compose {
        attachments: vec![Attachment {
            name: "a\r\nBcc: evil@x.txt".into(),
            content_type: "text/plain".into(),
            content_id: None,
            data: Arc::new(vec![1]),
        }],
        ..compose()
    });
    assert_wire_format(&built.bytes);
    assert!(!String::from_utf8_lossy(&built.bytes).contains("\r\nBcc:"));
}

#[test]
fn missing_or_bad_addresses_are_named() {
    assert_eq!(
        Compose {
            to: String::new(),
            ..compose()
        }
        .build(now()),
        Err(ComposeError::NoRecipients)
    );
    assert_eq!(
        Compose {
            to: " , ".into(),
            ..compose()
        }
        .build(now()),
        Err(ComposeError::NoRecipients)
    );
    assert_eq!(
        Compose {
            from: Identity {
                email: String::new(),
                ..identity()
            },
            ..compose()
        }
        .build(now()),
        Err(ComposeError::MissingFrom)
    );
    match (Compose {
        cc: "ok@tern.test, Bob bob@".into(),
        ..compose()
    })
    .build(now())
    {
        Err(ComposeError::BadAddress { input, .. }) => assert_eq!(input, "Bob bob@"),
        other => panic!("{other:?}"),
    }
    let parsed = parse_addresses("Ann Smith <a@x.org>, b@y.org, \"Doe, J\" <j@z>").unwrap();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[2].name.as_deref(), Some("Doe, J"));
}

#[test]
fn utf8_local_parts_need_smtputf8_but_idn_domains_do_not() {
    let idn = build(&Compose {
        to: "Jürgen <juergen@bücher.example>".into(),
        ..compose()
    });
    assert!(!idn.needs_smtputf8);
    assert_eq!(idn.recipients, vec!["juergen@xn--bcher-kva.example"]);
    assert!(idn.bytes.is_ascii());
    assert_eq!(
        names_and_emails(parse(&idn.bytes).to()),
        vec![(
            Some("Jürgen".into()),
            "juergen@xn--bcher-kva.example".into()
        )]
    );

    let utf8 = build(&Compose {
        to: "用户 <用户@例子.广告>".into(),
        ..compose()
    });
    assert!(utf8.needs_smtputf8);
    assert!(utf8.needs_8bitmime);
    assert_eq!(utf8.recipients, vec!["用户@xn--fsqu00a.xn--4rr70v"]);
    assert_wire_format(&utf8.bytes);
    assert_eq!(
        names_and_emails(parse(&utf8.bytes).to()),
        vec![(Some("用户".into()), "用户@xn--fsqu00a.xn--4rr70v".into())]
    );
}

#[test]
fn with_signature_is_idempotent() {
    let once = compose().with_signature();
    assert_eq!(
        once.body,
        "Hi Bob,\n\nsee you.\n\n\n-- \nAnn\nTern test team"
    );
    assert_eq!(once.clone().with_signature(), once);
    // Text typed after the signature does not bring a second one.
    let edited = Compose {
        body: format!("{}\nP.S. more", once.body),
        ..once
    };
    assert_eq!(edited.clone().with_signature().body, edited.body);
}

// ---- replies and forwards ----

fn account() -> Account {
    Account {
        id: "acc".into(),
        display_name: "Ann Example".into(),
        email: "Ann.Login@tern.test".into(),
        identities: vec![
            identity(),
            Identity {
                name: "Ann at Work".into(),
                email: "ann@corp.test".into(),
                reply_to: None,
                signature: String::new(),
            },
        ],
        ..Account::default()
    }
}

const ORIGINAL: &[u8] = b"From: Bob Builder <bob@tern.test>\r\n\
Reply-To: Bob's Desk <desk@tern.test>\r\n\
To: ANN@corp.test, Carol <carol@tern.test>, ann.login@tern.test\r\n\
Cc: Dave <dave@tern.test>, carol@TERN.test, Ann <ann@tern.test>\r\n\
Subject: RE: Re[2]: AW: Budget =?utf-8?q?f=C3=BCr?= 2026\r\n\
Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\
Message-ID: <orig-3@tern.test>\r\n\
In-Reply-To: <orig-2@tern.test>\r\n\
References: <orig-1@tern.test> <orig-2@tern.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello Ann,\r\n\
\r\n\
> earlier quote\r\n\
the numbers are attached.\r\n\
--b1\r\n\
Content-Type: application/vnd.ms-excel; name=\"numbers.xls\"\r\n\
Content-Disposition: attachment; filename=\"numbers.xls\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAwQFBgcICf8=\r\n\
--b1--\r\n";

#[test]
fn reply_to_sender_uses_reply_to_and_threads() {
    let r = reply(ORIGINAL, ReplyKind::Sender, &account());
    assert_eq!(r.to, "Bob's Desk <desk@tern.test>");
    assert_eq!(r.cc, "");
    assert_eq!(r.subject, "Re: Budget für 2026");
    assert_eq!(
        r.from.email, "ann@corp.test",
        "the identity the original was sent to"
    );
    assert_eq!(r.in_reply_to.as_deref(), Some("orig-3@tern.test"));
    assert_eq!(
        r.references,
        vec!["orig-1@tern.test", "orig-2@tern.test", "orig-3@tern.test"]
    );
    assert!(r.body.starts_with("\n\nOn "), "{}", r.body);
    assert!(r.body.contains(", Bob Builder wrote:\n"), "{}", r.body);
    assert!(
        r.body
            .contains("> Hello Ann,\n>\n>> earlier quote\n> the numbers are attached.\n")
    );
    assert!(r.attachments.is_empty());

    // The reply builds into a threaded message.
    let built = build(&r);
    let message = parse(&built.bytes);
    assert_eq!(message.in_reply_to().as_text(), Some("orig-3@tern.test"));
    assert_eq!(
        message.references().as_text_list().map(|l| l.len()),
        Some(3)
    );
    assert_eq!(message.subject(), Some("Re: Budget für 2026"));
}

#[test]
fn reply_all_drops_own_addresses_and_duplicates() {
    let r = reply(ORIGINAL, ReplyKind::All, &account());
    let to = parse_addresses(&r.to).unwrap();
    let cc = parse_addresses(&r.cc).unwrap();
    let emails = |list: &[tern_core::store::Address]| {
        list.iter().map(|a| a.email.clone()).collect::<Vec<_>>()
    };
    assert_eq!(emails(&to), vec!["desk@tern.test", "carol@tern.test"]);
    assert_eq!(emails(&cc), vec!["dave@tern.test"]);
    assert_eq!(cc[0].name.as_deref(), Some("Dave"));
    let built = build(&r);
    assert_eq!(
        built.recipients,
        vec!["desk@tern.test", "carol@tern.test", "dave@tern.test"]
    );
}

#[test]
fn reply_to_own_sent_message_goes_to_its_recipients() {
    let sent = b"From: Ann Example <ann@tern.test>\r\nTo: Bob <bob@tern.test>\r\nSubject: Plan\r\nMessage-ID: <s1@tern.test>\r\n\r\nThe plan.\r\n";
    let r = reply(sent, ReplyKind::Sender, &account());
    assert_eq!(r.to, "Bob <bob@tern.test>");
    assert_eq!(r.from.email, "ann@tern.test");
    assert_eq!(r.subject, "Re: Plan");
    assert_eq!(r.references, vec!["s1@tern.test"]);
}

#[test]
fn reply_to_a_note_sent_to_oneself_goes_back_to_oneself() {
    let note = b"From: Ann Example <ann@tern.test>\r\nTo: ann@tern.test\r\nSubject: Reminder\r\nMessage-ID: <n1@tern.test>\r\n\r\nBuy milk.\r\n";
    let r = reply(note, ReplyKind::Sender, &account());
    assert_eq!(r.to, "ann@tern.test");
    let r = reply(note, ReplyKind::All, &account());
    assert_eq!(r.to, "ann@tern.test", "once, not twice");
}

#[test]
fn reply_to_html_only_mail_quotes_its_text_and_caps_references() {
    let mut refs = String::new();
    for i in 0..40 {
        refs.push_str(&format!(" <r{i}@tern.test>"));
    }
    let raw = format!(
        "From: news@tern.test\r\nTo: ann@tern.test\r\nSubject: News\r\nMessage-ID: <last@tern.test>\r\nReferences:{refs}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Big <b>news</b> today</p><p>Second para</p>\r\n"
    );
    let r = reply(raw.as_bytes(), ReplyKind::Sender, &account());
    assert!(r.body.contains("news@tern.test wrote:\n"), "{}", r.body);
    assert!(r.body.contains("> Big news today\n"), "{}", r.body);
    assert!(!r.body.contains("<b>"));
    assert_eq!(r.references.len(), 20);
    assert_eq!(r.references[0], "r0@tern.test");
    assert_eq!(r.references[18], "r39@tern.test");
    assert_eq!(r.references[19], "last@tern.test");
    assert_eq!(r.from.email, "ann@tern.test");
}

#[test]
fn forward_inline_carries_text_and_attachments() {
    let f = forward_inline(ORIGINAL, &account());
    assert_eq!(f.subject, "Fwd: RE: Re[2]: AW: Budget für 2026");
    assert!(f.to.is_empty());
    assert!(f.in_reply_to.is_none());
    let block =
        "---------- Forwarded message ----------\nFrom: Bob Builder <bob@tern.test>\nDate: ";
    assert!(f.body.contains(block), "{}", f.body);
    assert!(
        f.body
            .contains("\nSubject: RE: Re[2]: AW: Budget für 2026\n")
    );
    assert!(
        f.body
            .contains("\nTo: ANN@corp.test, Carol <carol@tern.test>, ann.login@tern.test\n")
    );
    assert!(f.body.contains("\nCc: Dave <dave@tern.test>"));
    assert!(
        f.body
            .contains("\n\nHello Ann,\n\n> earlier quote\nthe numbers are attached.\n")
    );
    assert_eq!(f.attachments.len(), 1);
    assert_eq!(f.attachments[0].name, "numbers.xls");
    assert_eq!(f.attachments[0].content_type, "application/vnd.ms-excel");
    assert_eq!(
        f.attachments[0].data.as_slice(),
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255]
    );

    let again = forward_inline(
        b"From: a@b\r\nSubject: Fwd: FW: x\r\n\r\nbody\r\n",
        &account(),
    );
    assert_eq!(again.subject, "Fwd: x");

    let built = build(&Compose {
        to: "eve@tern.test".into(),
        ..f
    });
    assert_wire_format(&built.bytes);
    let seen = attachments(&built.bytes);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "numbers.xls");
    assert_eq!(seen[0].2, vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255]);
}

#[test]
fn forward_as_attachment_keeps_the_original_byte_exact() {
    let f = forward_as_attachment(ORIGINAL, &account());
    assert_eq!(f.subject, "Fwd: RE: Re[2]: AW: Budget für 2026");
    assert_eq!(f.from.email, "ann@corp.test");
    let built = build(&Compose {
        to: "eve@tern.test".into(),
        ..f
    });
    assert_wire_format(&built.bytes);
    let message = parse(&built.bytes);
    assert_eq!(
        structure(&message),
        "multipart/mixed[text/plain,message/rfc822]"
    );
    let part = message.attachment(0).unwrap();
    assert_eq!(part.content_type().unwrap().ctype(), "message");
    assert!(
        String::from_utf8_lossy(&built.bytes)
            .contains("Content-Transfer-Encoding: 7bit\r\n\r\nFrom: Bob Builder")
    );
    let seen = attachments(&built.bytes);
    assert_eq!(seen[0].1, "message/rfc822");
    assert_eq!(
        seen[0].0, "RE: Re[2]: AW: Budget für 2026",
        "named by its subject"
    );
    assert_eq!(seen[0].2, ORIGINAL, "byte for byte");
    assert_eq!(
        part.attachment_name(),
        Some("RE: Re[2]: AW: Budget für 2026.eml")
    );
}

#[test]
fn a_forwarded_8bit_message_goes_as_8bit_with_crlf() {
    // Stored with bare LF (as Maildir keeps it) and raw UTF-8 in header and body.
    let original = "From: Jörg <joerg@tern.test>\nSubject: Grüße\n\nKäse und Brot.\n".as_bytes();
    let built = build(&Compose {
        forwarded: Some(ForwardedMessage {
            subject: "Grüße".into(),
            raw: Arc::new(original.to_vec()),
        }),
        ..compose()
    });
    assert_wire_format(&built.bytes);
    assert!(built.needs_8bitmime);
    assert!(!built.needs_smtputf8);
    let head = header_block(&built.bytes);
    assert!(
        head.contains("Content-Transfer-Encoding: 8bit"),
        "the multipart says 8bit: {head}"
    );
    let seen = attachments(&built.bytes);
    let crlf = String::from_utf8(original.to_vec())
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(seen[0].2, crlf.as_bytes(), "only the line ends changed");
}

#[test]
fn a_forwarded_message_with_an_overlong_line_falls_back_to_base64() {
    let original = format!(
        "From: a@tern.test\r\nSubject: long\r\n\r\n{}\r\n",
        "y".repeat(5000)
    );
    let built = build(&Compose {
        forwarded: Some(ForwardedMessage {
            subject: "long".into(),
            raw: Arc::new(original.clone().into_bytes()),
        }),
        ..compose()
    });
    assert_wire_format(&built.bytes);
    assert!(!built.needs_8bitmime);
    let seen = attachments(&built.bytes);
    assert_eq!(seen[0].1, "message/rfc822");
    assert_eq!(seen[0].2, original.as_bytes());
}

#[test]
fn drafts_serialise_without_attachment_bytes() {
    let c = Compose {
        attachments: vec![Attachment {
            name: "a.bin".into(),
            content_type: "application/octet-stream".into(),
            content_id: None,
            data: Arc::new(vec![1, 2, 3]),
        }],
        ..compose()
    };
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("[1,2,3]"));
    let back: Compose = serde_json::from_str(&json).unwrap();
    assert_eq!(back.attachments[0].name, "a.bin");
    assert!(back.attachments[0].data.is_empty());
    assert_eq!(back.to, c.to);
}
