//! Local search: a small query language over the FTS5 index and the message columns.
//!
//! `from:` `to:` `subject:` `body:` (a word or a "quoted phrase"), `has:attachment`,
//! `is:unread` `is:read` `is:flagged`, `before:YYYY-MM-DD` (before that day, UTC),
//! `after:YYYY-MM-DD` (on or after that day, UTC), free words (all must match) and quoted
//! phrases. The last free word is a prefix unless the query ends in a space (search as you
//! type); `from:`/`to:` values are always prefixes, since people type part of a name.
//! `from:` searches sender names and addresses; `to:` those of To, Cc and Bcc.
//! Anything else, including an unknown `x:`, is a word. Every word reaches FTS5 as a quoted
//! string, so no user text is ever FTS syntax.

use chrono::NaiveDate;
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::ids::id_floor;
use super::rows::{MESSAGE_COLS, message_from_row};
use super::{FolderId, MessageRow, Store, StoreError};

/// One parsed piece of a query.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Term {
    /// Text for the index, in one column or all.
    Text {
        column: Option<&'static str>,
        text: String,
        prefix: bool,
    },
    HasAttachment,
    Unread,
    Read,
    Flagged,
    Before(i64),
    After(i64),
}

fn column_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "from" => "sender",
        "to" => "recipients",
        "subject" => "subject",
        "body" => "body",
        _ => return None,
    })
}

fn day_start(s: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// Reads `"..."` starting after the opening quote; an unterminated phrase runs to the end.
fn read_quoted(chars: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < chars.len() && chars[*i] != '"' {
        *i += 1;
    }
    let s: String = chars[start..*i].iter().collect();
    if *i < chars.len() {
        *i += 1;
    }
    s
}

fn parse(query: &str) -> Vec<Term> {
    let chars: Vec<char> = query.chars().collect();
    let mut terms = Vec::new();
    // Index of the last free, unquoted word: it becomes a prefix.
    let mut last_word: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        last_word = None;
        if chars[i] == '"' {
            i += 1;
            let text = read_quoted(&chars, &mut i);
            terms.push(Term::Text {
                column: None,
                text,
                prefix: false,
            });
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
            i += 1;
        }
        let bare: String = chars[start..i].iter().collect();
        let (key, value) = match bare.split_once(':') {
            Some((k, v)) => (k.to_ascii_lowercase(), v),
            None => (String::new(), ""),
        };
        let term = match (key.as_str(), value.to_ascii_lowercase().as_str()) {
            ("has", "attachment" | "attachments") => Some(Term::HasAttachment),
            ("is", "unread") => Some(Term::Unread),
            ("is", "read" | "seen") => Some(Term::Read),
            ("is", "flagged" | "starred") => Some(Term::Flagged),
            ("before", v) => day_start(v).map(Term::Before),
            ("after", v) => day_start(v).map(Term::After),
            (k, _) => column_for(k).map(|column| {
                let quoted = value.is_empty() && chars.get(i) == Some(&'"');
                let text = if quoted {
                    i += 1;
                    read_quoted(&chars, &mut i)
                } else {
                    value.to_string()
                };
                // "from:" with nothing after it yet has empty text: fts_expr drops it.
                Term::Text {
                    column: Some(column),
                    prefix: !quoted && matches!(column, "sender" | "recipients"),
                    text,
                }
            }),
        };
        match term {
            Some(t) => terms.push(t),
            None => {
                last_word = Some(terms.len());
                terms.push(Term::Text {
                    column: None,
                    text: bare,
                    prefix: false,
                });
            }
        }
    }
    let ends_open = chars.last().is_some_and(|c| !c.is_whitespace());
    if let (Some(w), true) = (last_word, ends_open)
        && let Some(Term::Text { prefix, .. }) = terms.get_mut(w)
    {
        *prefix = true;
    }
    terms
}

/// The FTS5 expression for the text terms, None if there are none. A text without any
/// letter or digit would be an empty phrase, which FTS5 treats inconsistently: it is dropped.
fn fts_expr(terms: &[Term]) -> Option<String> {
    let mut parts = Vec::new();
    for t in terms {
        if let Term::Text {
            column,
            text,
            prefix,
        } = t
        {
            if !text.chars().any(char::is_alphanumeric) {
                continue;
            }
            let mut p = String::new();
            if let Some(c) = column {
                p.push_str(c);
                p.push_str(" : ");
            }
            p.push('"');
            p.push_str(&text.replace('"', "\"\""));
            p.push('"');
            if *prefix {
                p.push('*');
            }
            parts.push(p);
        }
    }
    // Implicit AND (juxtaposition): should a phrase still come out empty (a character Rust
    // calls alphanumeric but the tokenizer does not), FTS5 ignores it there, while an
    // explicit AND with an empty phrase matches nothing.
    (!parts.is_empty()).then(|| parts.join(" "))
}

impl Store {
    /// Messages matching `query`, newest first, across all folders, one account or one folder.
    pub fn search(
        &self,
        query: &str,
        account: Option<&str>,
        folder: Option<FolderId>,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let terms = parse(query);
        let fts = fts_expr(&terms);
        let mut conds: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(expr) = &fts {
            conds.push("message_fts MATCH ?");
            args.push(Value::Text(expr.clone()));
        }
        if let Some(a) = account {
            // Unary + keeps the planner off the folder indexes for this term: walking the
            // newest messages and testing the folder beats gathering each folder's and sorting.
            conds.push("+m.folder IN (SELECT id FROM folder WHERE account = ?)");
            args.push(Value::Text(a.to_string()));
        }
        if let Some(f) = folder {
            conds.push("m.folder = ?");
            args.push(Value::Integer(f));
        }
        // In the index path the id is the FTS rowid: a date bound becomes a rowid range FTS5
        // applies itself (ids are date-ordered, see ids.rs).
        let key = if fts.is_some() {
            "message_fts.rowid"
        } else {
            "m.id"
        };
        let mut filters = 0;
        let mut bound = |conds: &mut Vec<String>, op: &str, day: i64| {
            conds.push(format!("{key} {op} ?"));
            args.push(Value::Integer(id_floor(day)));
            conds.push(format!("m.date {op} ?"));
            args.push(Value::Integer(day));
        };
        let mut conds: Vec<String> = conds.into_iter().map(String::from).collect();
        for t in &terms {
            match t {
                Term::Text { .. } => continue,
                Term::HasAttachment => conds.push("m.has_attachment = 1".into()),
                Term::Unread => conds.push("(m.flags & 1) = 0".into()),
                Term::Read => conds.push("(m.flags & 1) = 1".into()),
                Term::Flagged => conds.push("(m.flags & 4) = 4".into()),
                Term::Before(day) => bound(&mut conds, "<", *day),
                Term::After(day) => bound(&mut conds, ">=", *day),
            }
            filters += 1;
        }
        if fts.is_none() && filters == 0 {
            return Ok(Vec::new());
        }
        args.push(Value::Integer(i64::from(limit)));
        // CROSS JOIN fixes the join order: the index drives and yields newest first, the
        // message table is probed by id, and the scan stops at the limit. Left to itself the
        // planner may walk a folder's messages and test each against the index instead.
        let (from, order) = match (&fts, folder) {
            (Some(_), _) => (
                "message_fts CROSS JOIN message m ON m.id = message_fts.rowid",
                "message_fts.rowid DESC",
            ),
            (None, Some(_)) => ("message m", "m.date DESC, m.id DESC"),
            (None, None) => ("message m", "m.id DESC"),
        };
        let sql = format!(
            "SELECT {MESSAGE_COLS} FROM {from} WHERE {} ORDER BY {order} LIMIT ?",
            conds.join(" AND ")
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args), message_from_row)?
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::{Term, fts_expr, parse};

    #[test]
    fn parses_operators() {
        let t = parse(r#"from:alice subject:"quarterly report" is:unread has:attachment rep"#);
        assert_eq!(t.len(), 5);
        assert_eq!(
            fts_expr(&t).as_deref(),
            Some(r#"sender : "alice"* subject : "quarterly report" "rep"*"#)
        );
        assert!(t.contains(&Term::Unread) && t.contains(&Term::HasAttachment));
        assert_eq!(
            parse("before:2024-01-31"),
            vec![Term::Before(1_706_659_200)]
        );
        assert_eq!(fts_expr(&parse("word ")).as_deref(), Some(r#""word""#));
        assert_eq!(fts_expr(&parse("x:y")).as_deref(), Some(r#""x:y"*"#));
        assert_eq!(
            fts_expr(&parse("before:2024-13-01 ")).as_deref(),
            Some(r#""before:2024-13-01""#)
        );
        assert_eq!(fts_expr(&parse(r#"a"b "#)).as_deref(), Some(r#""a" "b ""#));
        assert_eq!(fts_expr(&parse(r#"" * ( ) - : ^ ""#)), None);
        assert_eq!(fts_expr(&parse("from: ")), None);
    }
}
