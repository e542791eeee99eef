//! Alibaba Cloud RPC request signing, signature version 1.0 (HMAC-SHA1).
//!
//! Used by the client to sign and by the emulator to verify, so both sides share one
//! canonicalisation. The algorithm is the one in Alibaba Cloud's RPC signing reference:
//! RFC 3986 encoding, pairs sorted by encoded name, `METHOD&%2F&encoded(canonical)`, and an
//! HMAC-SHA1 keyed with `secret + "&"`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use zeroize::Zeroizing;

/// Everything but `A–Z a–z 0–9 - _ . ~` is encoded, as RFC 3986 asks.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `text` as UTF-8 per RFC 3986, upper-case hex, space as `%20`.
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, RFC3986).to_string()
}

/// The canonicalised query string: encoded pairs sorted by encoded name, joined with `&`.
/// `Signature` itself is never part of it.
pub fn canonicalized_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .filter(|(name, _)| *name != "Signature")
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    encoded.sort();
    let mut joined = String::new();
    for (index, (name, value)) in encoded.iter().enumerate() {
        if index > 0 {
            joined.push('&');
        }
        joined.push_str(name);
        joined.push('=');
        joined.push_str(value);
    }
    joined
}

/// `METHOD&%2F&percentEncode(canonicalized query)`.
pub fn string_to_sign<'a>(
    method: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

fn mac(access_key_secret: &str, string_to_sign: &str) -> Hmac<Sha1> {
    // The key is a copy of the secret: made in a buffer of its own size, wiped when dropped.
    let mut key = Zeroizing::new(Vec::with_capacity(access_key_secret.len() + 1));
    key.extend_from_slice(access_key_secret.as_bytes());
    key.push(b'&');
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(string_to_sign.as_bytes());
    mac
}

/// `Base64(HMAC-SHA1(secret + "&", string_to_sign))`.
pub fn sign(access_key_secret: &str, string_to_sign: &str) -> String {
    BASE64.encode(
        mac(access_key_secret, string_to_sign)
            .finalize()
            .into_bytes(),
    )
}

/// Checks `signature` against the one `access_key_secret` gives for `string_to_sign`, in
/// constant time.
pub fn verify(access_key_secret: &str, string_to_sign: &str, signature: &str) -> bool {
    let Ok(decoded) = BASE64.decode(signature.trim()) else {
        return false;
    };
    mac(access_key_secret, string_to_sign)
        .verify_slice(&decoded)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vectors {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        method: String,
        access_key_secret: String,
        params: std::collections::BTreeMap<String, String>,
        canonicalized_query_string: String,
        string_to_sign: String,
        signature: String,
    }

    fn vectors() -> Vec<Vector> {
        let text = include_str!("../../tests/data/signature-vectors.json");
        match serde_json::from_str::<Vectors>(text) {
            Ok(vectors) => vectors.vectors,
            Err(error) => panic!("signature-vectors.json does not parse: {error}"),
        }
    }

    fn pairs(vector: &Vector) -> impl Iterator<Item = (&str, &str)> {
        vector
            .params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    #[test]
    fn reproduces_every_known_answer_vector() {
        let vectors = vectors();
        assert_eq!(vectors.len(), 12);
        for vector in &vectors {
            assert_eq!(
                canonicalized_query(pairs(vector)),
                vector.canonicalized_query_string,
                "{}",
                vector.name
            );
            let to_sign = string_to_sign(&vector.method, pairs(vector));
            assert_eq!(to_sign, vector.string_to_sign, "{}", vector.name);
            assert_eq!(
                sign(&vector.access_key_secret, &to_sign),
                vector.signature,
                "{}",
                vector.name
            );
            assert!(verify(
                &vector.access_key_secret,
                &to_sign,
                &vector.signature
            ));
            assert!(!verify("wrong", &to_sign, &vector.signature));
        }
    }

    #[test]
    fn encodes_reserved_and_unreserved_characters_as_rfc_3986_asks() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("~"), "~");
        assert_eq!(percent_encode("+"), "%2B");
        assert_eq!(percent_encode("/"), "%2F");
        assert_eq!(percent_encode("="), "%3D");
        assert_eq!(percent_encode("&"), "%26");
        assert_eq!(percent_encode("-_."), "-_.");
        assert_eq!(percent_encode("东"), "%E4%B8%9C");
    }

    #[test]
    fn signature_is_never_signed() {
        let with = canonicalized_query([("A", "1"), ("Signature", "x")]);
        assert_eq!(with, "A=1");
    }

    #[test]
    fn sorts_by_encoded_name_in_byte_order() {
        assert_eq!(
            canonicalized_query([("b", "1"), ("B", "2"), ("a.b", "3"), ("a", "4")]),
            "B=2&a=4&a.b=3&b=1"
        );
    }

    #[test]
    fn verify_refuses_garbage_signatures() {
        assert!(!verify("secret", "x", "not base64 !!"));
        assert!(!verify("secret", "x", ""));
    }
}
