//! Realistic, deterministic test mail: threads by References, non-ASCII names and
//! subjects in encoded words, HTML alternatives, attachments of varied sizes.

const TOPICS: &[&str] = &[
    "Report",
    "Quarterly figures",
    "Meeting notes",
    "Invoice",
    "Holiday plans",
    "Build failure",
    "Lunch on Friday",
    "Contract draft",
];

/// The subject topic of thread `t`.
pub fn topic(t: usize) -> &'static str {
    TOPICS[t % TOPICS.len()]
}

/// Message `i`: every third message (i % 3 == 1) replies to the one before; every tenth
/// carries a PDF attachment (every hundredth a larger one); every seventh has HTML.
pub fn message(i: usize) -> Vec<u8> {
    let day = 1 + (i % 28);
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"][(i / 28) % 6];
    let t = i / 3;
    let mut m = format!(
        "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen{n}@example.org>\r\n\
         To: Alice <alice@example.org>\r\n\
         Subject: {re}{topic} number {t} =?UTF-8?B?w6TDtsO8?=\r\n\
         Date: Mon, {day:02} {month} 2024 {hour:02}:{min:02}:00 +0000\r\n\
         Message-ID: <msg{i}@example.org>\r\n\
         MIME-Version: 1.0\r\n",
        n = i % 50,
        re = if i % 3 == 1 { "Re: " } else { "" },
        topic = topic(t),
        hour = i % 24,
        min = i % 60,
    );
    if i % 3 == 1 {
        m.push_str(&format!(
            "In-Reply-To: <msg{p}@example.org>\r\nReferences: <msg{p}@example.org>\r\n",
            p = i - 1
        ));
    }
    let text = format!(
        "Hello Alice,\r\n\r\nthe figures for week {i} are in. Grüße aus Köln!\r\n\r\n-- \r\nJürgen\r\n"
    );
    if i.is_multiple_of(10) {
        let kb = if i.is_multiple_of(100) { 40 } else { 2 };
        let line = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0KeJwr\r\n";
        let attachment = line.repeat(kb * 1024 / line.len() + 1);
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n\
             --b{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             {text}See the attached file.\r\n\
             --b{i}\r\nContent-Type: application/pdf; name=\"report-{i}.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"report-{i}.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{attachment}--b{i}--\r\n"
        ));
    } else if i.is_multiple_of(7) {
        m.push_str(&format!(
            "Content-Type: multipart/alternative; boundary=\"a{i}\"\r\n\r\n\
             --a{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\
             --a{i}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
             <html><body><p>Hello Alice,</p><p>the figures for <b>week {i}</b> are in.</p>\
             <img src=\"https://tracker.example.com/p.gif\"></body></html>\r\n--a{i}--\r\n"
        ));
    } else {
        m.push_str(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        );
        m.push_str(&text);
    }
    m.into_bytes()
}

/// Messages `range` of the corpus.
pub fn messages(range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(message).collect()
}
