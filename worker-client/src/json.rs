//! JSON string literals, written the way Python's `json.dumps` writes them (the workers'
//! side compares our JSON with its own: filter documents, launcher hashes).

/// Appends `value` as a JSON string: `"`, `\` and control characters escaped; non-ASCII raw
/// (`ensure_ascii=False`) or as `\uXXXX` UTF-16 escapes (`ensure_ascii=True`, the default).
pub fn push_string(out: &mut String, value: &str, ensure_ascii: bool) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `value` as a JSON string literal with Python's default escaping.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_string(&mut out, value, true);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_python() {
        assert_eq!(super::quote("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001\u00e9""#);
        let mut raw = String::new();
        super::push_string(&mut raw, "é\t", false);
        assert_eq!(raw, "\"é\\t\"");
    }
}
