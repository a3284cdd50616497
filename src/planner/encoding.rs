//! How a viewer path is written in an invalidation, and which request forms a key has.
//!
//! CloudFront: "If the path includes non-ASCII characters or unsafe characters as defined in RFC
//! 1738, URL-encode those characters. Do not URL-encode any other characters in the path, or
//! CloudFront will not invalidate the old version of the updated file." Viewers, though, reach
//! the same object by links written with `encodeURIComponent`, `encodeURI` or a strict RFC 3986
//! encoder, and those disagree on the reserved characters. Every form must be covered.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// RFC 1738 "unsafe" characters (space `<` `>` `"` `#` `%` `{` `}` `|` `\` `^` `~` `[` `]` and
/// backtick), controls and DEL. Non-ASCII bytes are always encoded by `utf8_percent_encode`.
const CLOUDFRONT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'~')
    .add(b'[')
    .add(b']')
    .add(b'`');

/// What `encodeURIComponent` escapes beyond CloudFront's set: `$ & + , : ; = @` (and `/ ?`, but
/// `/` separates the segments it is applied to and `?` is never sent raw).
const URI_COMPONENT: &AsciiSet =
    &CLOUDFRONT.add(b'$').add(b'&').add(b'+').add(b',').add(b':').add(b';').add(b'=').add(b'@');

/// A strict RFC 3986 encoder (Python's `quote`, Go's `PathEscape` for most): every sub-delimiter.
const STRICT: &AsciiSet = &URI_COMPONENT.add(b'!').add(b'\'').add(b'(').add(b')').add(b'*');

/// Characters whose request form differs between those encoders but where each form can be sent
/// as an exact path: covered by several exact paths (or a wildcard, if the budget prefers).
pub const VARIANT: &[char] = &['!', '$', '&', '\'', '(', ')', '+', ',', ':', ';', '=', '@'];

/// Characters no exact path can be trusted to cover, so a wildcard must end before them:
/// - `~` and space: CloudFront's handling is *unsettled* (a literal `~` is reported rejected and
///   `%7E` accepted but not invalidating, aws/aws-sdk#525; one project needed `+` for a space,
///   another `%20`, and S3 reads a request's `+` as a space). Safe choice: a wildcard.
/// - `*`: raw it would be a wildcard (or invalid), and whether `%2A` matches a raw request is
///   not documented.
/// - `?`: raw it starts the query string; a viewer must have sent `%3F`, CloudFront's matching
///   of that is not documented.
pub const UNSETTLED: &[char] = &['~', ' ', '*', '?'];

/// The CloudFront form: unsafe, control and non-ASCII characters as upper-case `%XX` UTF-8.
pub fn cloudfront(s: &str) -> String {
    utf8_percent_encode(s, CLOUDFRONT).to_string()
}

/// Every distinct form a viewer may have requested `s` in, the CloudFront form first.
/// Call only for text without [`UNSETTLED`] characters.
pub fn request_forms(s: &str) -> Vec<String> {
    let mut forms = vec![cloudfront(s)];
    if s.contains(VARIANT) {
        for set in [URI_COMPONENT, STRICT] {
            let f = utf8_percent_encode(s, set).to_string();
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
    }
    forms
}

/// Byte index of the first [`UNSETTLED`] character.
pub fn first_unsettled(s: &str) -> Option<usize> {
    s.find(UNSETTLED)
}

/// The longest prefix of an encoded path that is at most `max` bytes and does not split a `%XX`
/// escape (a prefix ending in `%` or `%X` would match by accident of text, not of meaning).
pub fn cut_encoded(path: &str, max: usize) -> &str {
    let mut end = max.min(path.len());
    let b = path.as_bytes();
    // An escape starting at end-1 or end-2 would be split.
    for back in 1..=2 {
        if end >= back && b[end - back] == b'%' {
            end -= back;
            break;
        }
    }
    &path[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule (CloudFront Developer Guide): RFC 1738 unsafe, controls and non-ASCII are encoded,
    /// upper-case hex; nothing else.
    #[test]
    fn cloudfront_form() {
        let cases = [
            ("/docs/index.html", "/docs/index.html"),
            ("/a b", "/a%20b"),
            ("/<>\"#%{}|\\^~[]`", "/%3C%3E%22%23%25%7B%7D%7C%5C%5E%7E%5B%5D%60"),
            ("/café", "/caf%C3%A9"),
            ("/😀", "/%F0%9F%98%80"),
            ("/tab\there\u{7f}", "/tab%09here%7F"),
            ("/a+b=c&d@e$f,g;h:i!j'k(l)m", "/a+b=c&d@e$f,g;h:i!j'k(l)m"),
            ("/-_.", "/-_."),
        ];
        for (s, want) in cases {
            assert_eq!(cloudfront(s), want, "{s}");
        }
    }

    /// Rule: where encodeURIComponent, encodeURI and strict RFC 3986 disagree, every form is listed.
    #[test]
    fn forms_of_reserved_characters() {
        let cases: &[(&str, &[&str])] = &[
            ("/plain.html", &["/plain.html"]),
            ("/icon@2x.png", &["/icon@2x.png", "/icon%402x.png"]),
            ("/a+b.txt", &["/a+b.txt", "/a%2Bb.txt"]),
            ("/f(1).pdf", &["/f(1).pdf", "/f%281%29.pdf"]),
            ("/k=v&x(1)", &["/k=v&x(1)", "/k%3Dv%26x(1)", "/k%3Dv%26x%281%29"]),
            ("/café@home", &["/caf%C3%A9@home", "/caf%C3%A9%40home"]),
        ];
        for (s, want) in cases {
            assert_eq!(request_forms(s), *want, "{s}");
        }
    }

    /// Rule: only `~`, space, `*` and `?` are unsettled; the reserved characters whose forms
    /// merely differ between encoders are not.
    #[test]
    fn first_unsettled_character() {
        let cases = [
            ("/a/b.html", None),
            ("/js/runtime~main.js", Some(11)),
            ("/a@b~c", Some(4)),
            ("/(1) photo.jpg", Some(4)),
            ("/a*", Some(2)),
            ("/what?", Some(5)),
            ("/a@b!$&'()+,:;=", None),
        ];
        for (s, want) in cases {
            assert_eq!(first_unsettled(s), want, "{s}");
        }
    }

    #[test]
    fn cuts_never_split_an_escape() {
        assert_eq!(cut_encoded("/ab%C3%A9", 9), "/ab%C3%A9");
        assert_eq!(cut_encoded("/ab%C3%A9", 8), "/ab%C3");
        assert_eq!(cut_encoded("/ab%C3%A9", 7), "/ab%C3");
        assert_eq!(cut_encoded("/ab%C3%A9", 6), "/ab%C3");
        assert_eq!(cut_encoded("/ab%C3%A9", 5), "/ab");
        assert_eq!(cut_encoded("/ab%C3%A9", 4), "/ab");
    }
}
