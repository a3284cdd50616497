//! How a viewer path is written in an invalidation, and which request forms a key has.
//!
//! CloudFront: "If the path includes non-ASCII characters or unsafe characters as defined in RFC
//! 1738, URL-encode those characters. Do not URL-encode any other characters in the path, or
//! CloudFront will not invalidate the old version of the updated file." So an invalidation path
//! covers a request only in the form the viewer sent it, and viewers follow links written by
//! encoders that disagree on the reserved characters: every form must be covered. [`ENCODERS`]
//! is the one list of those encoders; the forms are derived from it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// One way a link's path gets written.
pub struct Encoder {
    pub name: &'static str,
    /// The ASCII punctuation it writes as it is. Letters, digits and `/` are kept by every
    /// encoder (those that would escape `/` are applied to each segment); controls, space, every
    /// other ASCII character and every non-ASCII byte become upper-case `%XX` of UTF-8 in all of
    /// them, which is why RFC 1738's unsafe characters and non-ASCII have one form only.
    pub keeps: &'static str,
    escapes: AsciiSet,
}

const fn encoder(name: &'static str, keeps: &'static str) -> Encoder {
    let mut escapes = NON_ALPHANUMERIC.remove(b'/');
    let k = keeps.as_bytes();
    let mut i = 0;
    while i < k.len() {
        escapes = escapes.remove(k[i]);
        i += 1;
    }
    Encoder { name, keeps, escapes }
}

/// Every mainstream encoder of link paths, CloudFront's documented form first (it is also the
/// form [`cloudfront`] writes). A site reached by links of another kind needs a row here: the
/// request forms, and with them the covers, follow from this table alone.
pub const ENCODERS: &[Encoder] = &[
    // CloudFront Developer Guide, "Specifying the files to invalidate": encode RFC 1738's unsafe
    // characters (space < > " # % { } | \ ^ ~ [ ] and backtick), controls and non-ASCII, nothing
    // else — so it keeps every other printable character.
    encoder("CloudFront's documented form", "!$&'()*+,-.:;=?@_"),
    // ECMA-262 encodeURIComponent: keeps uriUnreserved (letters, digits, uriMark - _ . ! ~ * ' ( )).
    // Routers and site generators apply it to each segment.
    encoder("JavaScript encodeURIComponent (per segment)", "-_.!~*'()"),
    // ECMA-262 encodeURI: keeps uriReserved ; / ? : @ & = + $ , as well, and #.
    encoder("JavaScript encodeURI", "-_.!~*'();/?:@&=+$,#"),
    // RFC 3986 §2.3: only unreserved characters kept. Python's urllib.parse.quote(path, safe='/'):
    // "Letters, digits, and the characters '_.-~' are never quoted."
    encoder("strict RFC 3986 (Python quote(path, safe='/'))", "-._~"),
    // Go net/url PathEscape: shouldEscape(c, encodePathSegment) keeps unreserved and $ & + : = @,
    // escapes / ; , ? and all else (so ! ' ( ) *). Hugo and other Go tools, per segment.
    encoder("Go url.PathEscape (per segment)", "-_.~$&+:=@"),
    // Go net/url URL.EscapedPath (and URL.String): shouldEscape(c, encodePath), RFC 3986 §3.3,
    // keeps also , ; and escapes only ? of the reserved characters (so also ! ' ( ) *).
    encoder("Go URL.EscapedPath", "-_.~$&+,:;=@"),
];

/// How many of [`ENCODERS`] write the ASCII byte `b` as it is.
const fn kept_by(b: u8) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < ENCODERS.len() {
        let k = ENCODERS[i].keeps.as_bytes();
        let mut kept = b.is_ascii_alphanumeric() || b == b'/';
        let mut j = 0;
        while j < k.len() {
            kept |= k[j] == b;
            j += 1;
        }
        n += kept as usize;
        i += 1;
    }
    n
}

/// Bytes every encoder writes as they are (letters, digits, `/ - _ .`): a path of only these is
/// its own single request form. A table, because the planner tests every byte of every key and a
/// lookup there is cheaper than a `match` (README, "Performance").
pub static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = kept_by(b as u8) == ENCODERS.len();
        b += 1;
    }
    t
};

/// Bytes some encoders keep and others escape: text without any has a single request form, and
/// is spared encoding once per encoder.
static DISAGREE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        let n = kept_by(b as u8);
        t[b] = n != 0 && n != ENCODERS.len();
        b += 1;
    }
    t
};

/// Characters no exact path can be trusted to cover, so a wildcard must end before them:
/// - `~` and space: CloudFront's handling is *unsettled* (a literal `~` is reported rejected and
///   `%7E` accepted but not invalidating; one project needed `+` for a space, another `%20`,
///   and S3 reads a request's `+` as a space: `docs/aws-facts.md`, "Invalidation paths"). Safe
///   choice: a wildcard.
/// - `*`: raw it would be a wildcard (or invalid), and whether `%2A` matches a raw request is
///   not documented.
/// - `?`: raw it starts the query string; a viewer must have sent `%3F`, CloudFront's matching
///   of that is not documented.
pub const UNSETTLED: &[char] = &['~', ' ', '*', '?'];

/// The CloudFront form: unsafe, control and non-ASCII characters as upper-case `%XX` UTF-8.
pub fn cloudfront(s: &str) -> String {
    utf8_percent_encode(s, &ENCODERS[0].escapes).to_string()
}

/// Every distinct form a viewer may have requested `s` in, the CloudFront form first, then in
/// [`ENCODERS`]' order. Call only for text without [`UNSETTLED`] characters.
///
/// Each encoder works character by character, so the forms of a prefix are the prefixes of the
/// forms of the whole: a wildcard on each form of a prefix covers every form of the path.
pub fn request_forms(s: &str) -> Vec<String> {
    let mut forms = vec![cloudfront(s)];
    if s.bytes().any(|b| DISAGREE[b as usize]) {
        for e in &ENCODERS[1..] {
            let f = utf8_percent_encode(s, &e.escapes).to_string();
            // A raw `#` (encodeURI keeps it) ends the path: that link requests another object.
            if !f.contains('#') && !forms.contains(&f) {
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

    /// Rule: each row of ENCODERS writes what its documentation says (the Rust table is checked
    /// against outputs of the encoders themselves: node's encodeURIComponent / encodeURI, Python's
    /// quote, Go's PathEscape / EscapedPath per net/url's shouldEscape).
    #[test]
    fn each_encoder_follows_its_documented_rule() {
        let input = "/a!$&'()*+,:;=@~#? %é-._/b";
        let cases = [
            ("CloudFront's documented form", "/a!$&'()*+,:;=@%7E%23?%20%25%C3%A9-._/b"),
            ("JavaScript encodeURIComponent (per segment)", "/a!%24%26'()*%2B%2C%3A%3B%3D%40~%23%3F%20%25%C3%A9-._/b"),
            ("JavaScript encodeURI", "/a!$&'()*+,:;=@~#?%20%25%C3%A9-._/b"),
            (
                "strict RFC 3986 (Python quote(path, safe='/'))",
                "/a%21%24%26%27%28%29%2A%2B%2C%3A%3B%3D%40~%23%3F%20%25%C3%A9-._/b",
            ),
            ("Go url.PathEscape (per segment)", "/a%21$&%27%28%29%2A+%2C:%3B=@~%23%3F%20%25%C3%A9-._/b"),
            ("Go URL.EscapedPath", "/a%21$&%27%28%29%2A+,:;=@~%23%3F%20%25%C3%A9-._/b"),
        ];
        assert_eq!(ENCODERS.len(), cases.len(), "a test case for every row");
        for (e, (name, want)) in ENCODERS.iter().zip(cases) {
            assert_eq!(e.name, name);
            assert_eq!(utf8_percent_encode(input, &e.escapes).to_string(), want, "{name}");
        }
    }

    /// Rule: every distinct form the mainstream encoders write is a request form — CloudFront's,
    /// encodeURIComponent, encodeURI, strict RFC 3986, Go's PathEscape and EscapedPath — except
    /// one with a raw `#`, which requests another object. RFC 1738 unsafe characters and non-ASCII
    /// are escaped alike by all of them: one form.
    #[test]
    fn request_forms_of_every_mainstream_encoder() {
        let cases: &[(&str, &[&str])] = &[
            ("/plain.html", &["/plain.html"]),
            ("/caf%é{1}", &["/caf%25%C3%A9%7B1%7D"]),
            ("/icon@2x.png", &["/icon@2x.png", "/icon%402x.png"]),
            (
                "/img/logo@2x(1).png",
                &[
                    "/img/logo@2x(1).png",
                    "/img/logo%402x(1).png",
                    "/img/logo%402x%281%29.png",
                    "/img/logo@2x%281%29.png",
                ],
            ),
            ("/a+b.txt", &["/a+b.txt", "/a%2Bb.txt"]),
            ("/f(1).pdf", &["/f(1).pdf", "/f%281%29.pdf"]),
            ("/k=v&x(1)", &["/k=v&x(1)", "/k%3Dv%26x(1)", "/k%3Dv%26x%281%29", "/k=v&x%281%29"]),
            ("/a,b;c", &["/a,b;c", "/a%2Cb%3Bc"]),
            ("/a,b!c", &["/a,b!c", "/a%2Cb!c", "/a%2Cb%21c", "/a,b%21c"]),
            ("/it's", &["/it's", "/it%27s"]),
            ("/café@home", &["/caf%C3%A9@home", "/caf%C3%A9%40home"]),
            ("/a#b@c", &["/a%23b@c", "/a%23b%40c"]),
        ];
        for (s, want) in cases {
            assert_eq!(request_forms(s), *want, "{s}");
        }
    }

    /// Rule: the fast path's bytes are exactly those every encoder keeps.
    #[test]
    fn plain_bytes_are_kept_by_every_encoder() {
        let plain: String = (0u8..=255).filter(|&b| PLAIN[b as usize]).map(char::from).collect();
        assert_eq!(plain, "-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
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
