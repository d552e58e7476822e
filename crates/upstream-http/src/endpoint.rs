//! Building endpoint URLs under a base URL.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

/// What is percent-encoded in a path segment we build: everything except the
/// RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) and `:`, which is
/// allowed in a path segment and keeps storage set names readable
/// (`ms.minigroup.usr.example.org::lesson-42`).
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':');

/// Percent-encodes one path segment with [`SEGMENT`].
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// `base` with `segments` appended to its path, each percent-encoded with
/// [`SEGMENT`]. A trailing slash of the base is ignored, so
/// `http://h/prefix/` and `http://h/prefix` give `http://h/prefix/rooms`.
/// The base's query, if any, is kept; its fragment is dropped.
pub fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    let mut path = base.path().trim_end_matches('/').to_owned();
    for s in segments {
        path.push('/');
        path.push_str(&encode_segment(s));
    }
    url.set_path(&path);
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_under_any_base() {
        let cases = [
            ("http://h:1", "http://h:1/rooms"),
            ("http://h:1/", "http://h:1/rooms"),
            ("http://h:1/prefix", "http://h:1/prefix/rooms"),
            ("http://h:1/prefix/", "http://h:1/prefix/rooms"),
            ("http://h:1/a/b//", "http://h:1/a/b/rooms"),
        ];
        for (base, want) in cases {
            let base = Url::parse(base).unwrap();
            assert_eq!(join(&base, &["rooms"]).as_str(), want, "{base}");
        }
    }

    #[test]
    fn segments_are_percent_encoded() {
        let base = Url::parse("https://s.example/x/").unwrap();
        let url = join(
            &base,
            &["sets", "ms.minigroup.usr.example.org::a b/c?%#é", "mp4"],
        );
        assert_eq!(
            url.as_str(),
            "https://s.example/x/sets/ms.minigroup.usr.example.org::a%20b%2Fc%3F%25%23%C3%A9/mp4"
        );
        assert_eq!(url.path_segments().map(Iterator::count), Some(4));
    }
}
