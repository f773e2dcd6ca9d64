//! The message as it goes over the wire after DATA (RFC 5321 4.1.1.4 and 4.5.2).
//!
//! Every line ends in CRLF: a bare LF or CR becomes CRLF, because servers disagree on
//! what a bare one means, and that disagreement is what "SMTP smuggling" exploits (a
//! bare-LF ".", taken as the end of the data by one server and not by the next).
//! A line starting with "." gets a second one, and the data ends with ".\r\n" on a
//! line of its own; a message without a final line ending gets one.

/// What ends the data, on a line of its own.
pub const FINAL_DOT: &[u8] = b".\r\n";

/// The encoded data and what the envelope needs to know about the message.
pub struct Encoded {
    /// Dot-stuffed, CRLF-only, ending in the final ".\r\n".
    pub wire: Vec<u8>,
    /// The message's size as SIZE counts it (RFC 1870: CRLFs included, the stuffed dots
    /// and the final ".\r\n" not).
    pub size: u64,
    /// Whether any byte is not 7-bit (then BODY=8BITMIME is needed).
    pub eight_bit: bool,
}

pub fn encode(message: &[u8]) -> Encoded {
    let mut wire = Vec::with_capacity(message.len() + message.len() / 64 + 8);
    let mut size = 0u64;
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                wire.extend_from_slice(b"\r\n");
                size += 2;
                // CRLF is one line ending; a lone CR or LF is one too.
                i += if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                at_line_start = true;
                continue;
            }
            b'.' if at_line_start => wire.push(b'.'),
            _ => {}
        }
        wire.push(b);
        size += 1;
        at_line_start = false;
        i += 1;
    }
    if !at_line_start || message.is_empty() {
        wire.extend_from_slice(b"\r\n");
        size += 2;
    }
    wire.extend_from_slice(FINAL_DOT);
    Encoded {
        wire,
        size,
        eight_bit: !message.is_ascii(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(message: &[u8]) -> String {
        String::from_utf8_lossy(&encode(message).wire).into_owned()
    }

    #[test]
    fn leading_dots_are_doubled_and_data_ends_with_a_dot_line() {
        assert_eq!(
            wire(b"Subject: x\r\n\r\n.\r\n.hidden\r\n..two\r\nmid.dle\r\n"),
            "Subject: x\r\n\r\n..\r\n..hidden\r\n...two\r\nmid.dle\r\n.\r\n"
        );
        assert_eq!(wire(b".first line\r\n"), "..first line\r\n.\r\n");
    }

    #[test]
    fn bare_line_feeds_and_carriage_returns_become_crlf() {
        // Without this, "\n.\n" would end the data early on some servers.
        assert_eq!(wire(b"a\n.\nb\rc\r\n"), "a\r\n..\r\nb\r\nc\r\n.\r\n");
        assert_eq!(wire(b"a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
    }

    #[test]
    fn missing_final_line_ending_is_added_and_size_counts_the_message_only() {
        let e = encode(b"x: y\r\n\r\nbody");
        assert_eq!(e.wire, b"x: y\r\n\r\nbody\r\n.\r\n");
        assert_eq!(e.size, 14);
        let e = encode(b"x: y\r\n\r\n.dot\r\n");
        assert_eq!(e.size, 14);
        assert!(!e.eight_bit);
        assert!(encode("x: y\r\n\r\nGrüße\r\n".as_bytes()).eight_bit);
    }
}
