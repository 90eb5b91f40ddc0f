//! Text people type, checked one way everywhere: trimmed, counted in
//! characters (not bytes), never empty, never longer than its field
//! allows, and free of control characters — except line breaks and tabs
//! in text written over several lines ([`Paragraphs`]). The checks hand
//! back newtypes, so a value that passed cannot be confused with one that
//! did not.
//!
//! Also [`text_enum!`], for enums stored and shown as fixed words.

use serde::Serialize;

fn check(field: &str, s: &str, max: usize, breaks: bool) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(format!("{field} must not be empty"));
    }
    if t.chars().count() > max {
        return Err(format!("{field} is longer than {max} characters"));
    }
    if t.chars()
        .any(|c| c.is_control() && !(breaks && matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(if breaks {
            format!("{field} must not contain control characters other than line breaks and tabs")
        } else {
            format!("{field} must not contain control characters")
        });
    }
    Ok(t.to_owned())
}

/// One line a person typed (a name, a subject, a serial): checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Line(String);

impl Line {
    /// `s` as the value of `field`, at most `max` characters.
    pub fn parse(field: &str, s: &str, max: usize) -> Result<Self, String> {
        check(field, s, max, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Text over several lines (a comment, a note, a ticket's first message):
/// checked, keeping its line breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Paragraphs(String);

impl Paragraphs {
    pub fn parse(field: &str, s: &str, max: usize) -> Result<Self, String> {
        check(field, s, max, true).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `as_str`, `Display` and `FromStr` for an enum stored and shown as fixed
/// words: `text_enum!(Type, "what it is", Variant => "word", …)`. An
/// unknown word is refused naming the words it could be.
macro_rules! text_enum {
    ($t:ty, $what:literal, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(Self::$v),)+
                    _ => Err(format!(
                        "unknown {} {s:?}; expected {}",
                        $what,
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_counted_in_characters_and_single() {
        assert_eq!(
            Line::parse("name", "  laptop ", 10).map(Line::into_string),
            Ok("laptop".to_owned())
        );
        assert!(Line::parse("name", "   ", 10).is_err());
        assert!(Line::parse("name", "abcdefghijk", 10).is_err());
        assert!(
            Line::parse("name", "ééééééééé", 10).is_ok(),
            "characters, not bytes"
        );
        assert!(Line::parse("name", "a\nb", 10).is_err());
        assert!(Line::parse("name", "a\u{7}b", 10).is_err());
    }

    #[test]
    fn paragraphs_keep_line_breaks_only() {
        let p = Paragraphs::parse("body", " first line\n\tsecond\r\n ", 100).expect("ok");
        assert_eq!(p.as_str(), "first line\n\tsecond");
        let e = Paragraphs::parse("body", "a\u{1b}[31mred", 100).expect_err("escape refused");
        assert!(e.contains("body"), "{e}");
        assert!(Paragraphs::parse("body", "", 100).is_err());
    }
}
