//! Header fields of outgoing messages: encoded (RFC 2047, RFC 2231) and folded near 78
//! columns, never past 998.
//!
//! Written here rather than taken from lettre's header encoder, which (0.11) leaves an
//! ASCII word longer than a line unfolded (a pasted URL as the subject can pass 998
//! octets, which Postfix refuses), writes an `=?...?=` the user typed as it is (readers
//! would decode it), and names attachments only as RFC 2231 continuations
//! (`filename*0*=`), whose later pieces mail-parser 0.11 decodes to U+FFFD. Callers
//! check values for CR, LF and NUL before they get here ([`has_line_break`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Lines are folded before they pass this many columns (RFC 5322 2.1.1).
const FOLD_AT: usize = 78;
/// Longest word written as it is; a longer one becomes encoded words, which can fold.
const MAX_PLAIN_WORD: usize = 76;
/// `=?utf-8?b?` and `?=`.
const ENCODED_WORD_OVERHEAD: usize = 12;
/// An encoded word is at most 75 characters (RFC 2047 2).
const MAX_ENCODED_WORD: usize = 75;

/// True when `value` holds CR, LF or NUL, which must never reach a header.
pub(super) fn has_line_break(value: &str) -> bool {
    value.contains(['\r', '\n', '\0'])
}

/// One header field being written.
pub(super) struct Field {
    out: String,
    name_len: usize,
    line_len: usize,
    /// The current line has a token after the field name or the fold, so folding
    /// before the next one gains room.
    line_has_token: bool,
}

impl Field {
    pub(super) fn new(name: &str) -> Field {
        Field {
            out: format!("{name}:"),
            name_len: name.len(),
            line_len: name.len() + 1,
            line_has_token: false,
        }
    }

    /// Appends whitespace `ws` (not empty) and `token`, folding before the whitespace
    /// when the line would pass 78 columns.
    pub(super) fn push(&mut self, ws: &str, token: &str) {
        if self.line_has_token && self.line_len + ws.len() + token.len() > FOLD_AT {
            self.fold();
        }
        self.raw(ws);
        self.raw(token);
        self.line_has_token = true;
    }

    /// Appends `token` right after what is there: no whitespace, no fold.
    pub(super) fn glue(&mut self, token: &str) {
        self.raw(token);
        self.line_has_token = true;
    }

    /// `text` as encoded words after `ws`, `prefix` glued to the first and `suffix` to
    /// the last; each word is sized to the room left on its line.
    pub(super) fn push_encoded(&mut self, ws: &str, prefix: &str, text: &str, suffix: &str) {
        let mut rest = text;
        let mut ws = ws;
        let mut prefix = prefix;
        while !rest.is_empty() {
            let taken = self.line_len + ws.len() + prefix.len() + suffix.len();
            let mut room = FOLD_AT.saturating_sub(taken);
            if room < ENCODED_WORD_OVERHEAD + 8 && self.line_has_token && !ws.is_empty() {
                self.fold();
                room = FOLD_AT.saturating_sub(ws.len() + prefix.len() + suffix.len());
            }
            let b64_room = room
                .saturating_sub(ENCODED_WORD_OVERHEAD)
                .min(MAX_ENCODED_WORD - ENCODED_WORD_OVERHEAD);
            let cut = char_cut(rest, (b64_room / 4 * 3).max(4));
            let (chunk, tail) = rest.split_at(cut);
            self.raw(ws);
            self.raw(prefix);
            self.raw(&format!("=?utf-8?b?{}?=", STANDARD.encode(chunk)));
            self.line_has_token = true;
            rest = tail;
            ws = " ";
            prefix = "";
        }
        self.raw(suffix);
    }

    fn fold(&mut self) {
        self.out.push_str("\r\n");
        self.line_len = 0;
        self.line_has_token = false;
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
        self.line_len += s.len();
    }

    /// The whole field, `Name: value\r\n`.
    pub(super) fn finish(mut self) -> String {
        self.out.push_str("\r\n");
        self.out
    }

    /// The value alone (after `Name: `), for lettre's part headers.
    pub(super) fn into_value(self) -> String {
        let skip = (self.name_len + 2).min(self.out.len());
        self.out.get(skip..).unwrap_or_default().to_string()
    }
}

/// The largest cut of `s` at a character boundary within `max` bytes; at least one
/// character, so a caller always makes progress.
fn char_cut(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut cut = max;
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == 0 {
        s.chars().next().map_or(s.len(), char::len_utf8)
    } else {
        cut
    }
}

/// A word that can go out as it is: printable ASCII, not too long, and nothing a reader
/// would take for an encoded word.
fn is_plain_word(word: &str) -> bool {
    word.len() <= MAX_PLAIN_WORD
        && word.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !word.contains("=?")
}

/// Free text (Subject): words as they are where possible, runs of other words as
/// encoded words. Leading and trailing whitespace is dropped; inner whitespace kept.
pub(super) fn unstructured(field: &mut Field, text: &str) {
    let text = text.trim_matches([' ', '\t']);
    // (whitespace start, word start, word end) byte offsets.
    let mut words = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let word_start = pos + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
        let word_end = text[word_start..]
            .find([' ', '\t'])
            .map_or(text.len(), |i| word_start + i);
        if word_end == word_start {
            break;
        }
        words.push((pos, word_start, word_end));
        pos = word_end;
    }
    let mut i = 0;
    while i < words.len() {
        let (ws_start, start, end) = words[i];
        let ws = Some(&text[ws_start..start])
            .filter(|w| !w.is_empty())
            .unwrap_or(" ");
        if is_plain_word(&text[start..end]) {
            field.push(ws, &text[start..end]);
            i += 1;
            continue;
        }
        // Whitespace between adjacent encoded words is dropped by readers, so a run of
        // words that need encoding is encoded as one text, its spaces inside.
        let mut last = i;
        while last + 1 < words.len() && !is_plain_word(&text[words[last + 1].1..words[last + 1].2])
        {
            last += 1;
        }
        field.push_encoded(ws, "", &text[start..words[last].2], "");
        i = last + 1;
    }
}

fn is_ascii_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// A display name: atoms when it is made of them, a quoted string when it is ASCII with
/// specials, encoded words otherwise.
pub(super) fn phrase(field: &mut Field, ws: &str, name: &str) {
    let atoms = !name.contains("=?")
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.len() <= MAX_PLAIN_WORD && w.chars().all(is_ascii_atext));
    if atoms {
        for (i, word) in name.split(' ').enumerate() {
            field.push(if i == 0 { ws } else { " " }, word);
        }
        return;
    }
    let quoted = format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""));
    if !name.contains("=?")
        && quoted.len() <= MAX_PLAIN_WORD
        && name.bytes().all(|b| (0x20..=0x7e).contains(&b))
    {
        field.push(ws, &quoted);
    } else {
        field.push_encoded(ws, "", name, "");
    }
}

/// `Name <addr>, addr, ...`; addresses are already checked and in their wire form.
pub(super) fn address_list(field: &mut Field, list: &[(Option<&str>, &str)]) {
    for (i, (name, email)) in list.iter().enumerate() {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let mut token = match name {
            Some(name) => {
                phrase(field, " ", name);
                format!("<{email}>")
            }
            None => (*email).to_string(),
        };
        if i + 1 < list.len() {
            token.push(',');
        }
        field.push(" ", &token);
    }
}

/// A MIME parameter (`; key="value"`): quoted when it is short printable ASCII, else in
/// RFC 2231 form (`key*=utf-8''percent-encoded`) on one line; callers cap values so the
/// line stays far below 998 octets.
pub(super) fn param(field: &mut Field, key: &str, value: &str) {
    field.glue(";");
    if value.len() <= 60 && value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        field.push(" ", &format!("{key}=\"{quoted}\""));
    } else {
        field.push(" ", &format!("{key}*=utf-8''{}", percent_encode(value)));
    }
}

/// A `name` parameter for readers that know no RFC 2231: RFC 2047 words in quotes, as
/// most mail programs send it (non-standard but widely read).
pub(super) fn param_encoded_words(field: &mut Field, key: &str, value: &str) {
    field.glue(";");
    if value.len() <= 60 && value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
        field.push(" ", &format!("{key}=\"{quoted}\""));
    } else {
        field.push_encoded(" ", &format!("{key}=\""), value, "\"");
    }
}

/// RFC 2231 attribute-char kept, everything else `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn subject(text: &str) -> String {
        let mut field = Field::new("Subject");
        unstructured(&mut field, text);
        field.finish()
    }

    fn lines(header: &str) -> Vec<&str> {
        header.strip_suffix("\r\n").unwrap().split("\r\n").collect()
    }

    #[test]
    fn ascii_subject_folds_at_spaces() {
        let text = "word ".repeat(40);
        let header = subject(&text);
        for line in lines(&header) {
            assert!(line.len() <= FOLD_AT, "{line}");
        }
        assert_eq!(
            header.replace("\r\n", ""),
            format!("Subject: {}\r\n", text.trim_end()).replace("\r\n", "")
        );
    }

    #[test]
    fn a_giant_word_is_split_into_encoded_words() {
        let header = subject(&"x".repeat(2000));
        for line in lines(&header) {
            assert!(line.len() <= FOLD_AT, "{line}");
        }
        assert!(header.contains("=?utf-8?b?"));
    }

    #[test]
    fn typed_encoded_word_is_encoded() {
        assert!(!subject("=?utf-8?q?evil?=").contains("=?utf-8?q?evil?="));
    }

    #[test]
    fn names_pick_the_lightest_form() {
        let name = |n: &str| {
            let mut field = Field::new("From");
            address_list(&mut field, &[(Some(n), "a@b")]);
            field.finish()
        };
        assert_eq!(name("Ann Smith"), "From: Ann Smith <a@b>\r\n");
        assert_eq!(name("Doe, J"), "From: \"Doe, J\" <a@b>\r\n");
        assert_eq!(name("Say \"hi\""), "From: \"Say \\\"hi\\\"\" <a@b>\r\n");
        assert_eq!(name("Seán"), "From: =?utf-8?b?U2XDoW4=?= <a@b>\r\n");
    }

    #[test]
    fn parameters() {
        let mut field = Field::new("Content-Disposition");
        field.glue(" attachment");
        param(&mut field, "filename", "café.pdf");
        assert_eq!(
            field.finish(),
            "Content-Disposition: attachment; filename*=utf-8''caf%C3%A9.pdf\r\n"
        );
        let mut field = Field::new("Content-Disposition");
        field.glue(" attachment");
        param(&mut field, "filename", "a \"b\".txt");
        assert_eq!(
            field.finish(),
            "Content-Disposition: attachment; filename=\"a \\\"b\\\".txt\"\r\n"
        );
    }
}
