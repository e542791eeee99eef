//! Properties of request signing (`cloud::signer`), over arbitrary parameter maps: what is
//! signed verifies with the same secret, and a change to any byte of any parameter's name or
//! value, to the signature, or to the secret makes verification fail.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;

use cityform::cloud::signer::{sign, string_to_sign, verify};
use proptest::prelude::*;

/// Names and values of any Unicode text, empty ones included, without `Signature`, which is
/// never signed. The map keeps names unique, as a request's are.
fn parameters() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        text().prop_filter("`Signature` is not signed", |name| name != "Signature"),
        text(),
        0..12,
    )
}

/// Any characters, control characters and newlines included, up to 24 of them.
fn text() -> impl Strategy<Value = String> {
    "(?s).{0,24}"
}

fn signature_of(secret: &str, method: &str, parameters: &BTreeMap<String, String>) -> String {
    sign(secret, &string_to_sign(method, pairs(parameters)))
}

fn pairs(parameters: &BTreeMap<String, String>) -> impl DoubleEndedIterator<Item = (&str, &str)> {
    parameters
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
}

fn verifies(
    secret: &str,
    method: &str,
    parameters: &BTreeMap<String, String>,
    signature: &str,
) -> bool {
    verify(
        secret,
        &string_to_sign(method, pairs(parameters)),
        signature,
    )
}

/// `text` with the byte at `index` (of its UTF-8 encoding) replaced by `byte`, when the
/// result is still text and differs; `None` otherwise.
fn with_byte(text: &str, index: usize, byte: u8) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    let slot = bytes.get_mut(index)?;
    if *slot == byte {
        return None;
    }
    *slot = byte;
    String::from_utf8(bytes).ok()
}

/// What to change in a request: which parameter, its name or its value, which byte, and to
/// what. Positions are taken modulo the lengths at hand.
#[derive(Debug, Clone, Copy)]
struct Change {
    parameter: usize,
    in_name: bool,
    position: usize,
    byte: u8,
}

fn change() -> impl Strategy<Value = Change> {
    (any::<usize>(), any::<bool>(), any::<usize>(), 0..0x80_u8).prop_map(
        |(parameter, in_name, position, byte)| Change {
            parameter,
            in_name,
            position,
            byte,
        },
    )
}

/// `parameters` with `change` made, when it is a change to a request.
fn changed(
    parameters: &BTreeMap<String, String>,
    change: Change,
) -> Option<BTreeMap<String, String>> {
    let (name, value) = parameters
        .iter()
        .nth(change.parameter % parameters.len().max(1))?;
    let mut result = parameters.clone();
    if change.in_name {
        let new_name = with_byte(name, change.position % name.len().max(1), change.byte)?;
        // Renaming onto another parameter or onto `Signature` is another kind of request.
        if new_name == "Signature" || parameters.contains_key(&new_name) {
            return None;
        }
        let value = result.remove(name)?;
        result.insert(new_name, value);
    } else {
        let new_value = with_byte(value, change.position % value.len().max(1), change.byte)?;
        result.insert(name.clone(), new_value);
    }
    Some(result)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn what_is_signed_verifies(
        secret in any::<String>(),
        method in prop::sample::select(vec!["GET", "POST"]),
        parameters in parameters(),
    ) {
        let signature = signature_of(&secret, method, &parameters);
        prop_assert!(verifies(&secret, method, &parameters, &signature));
        // The order parameters arrive in does not matter.
        let reversed: Vec<(&str, &str)> = pairs(&parameters).rev().collect();
        prop_assert!(verify(&secret, &string_to_sign(method, reversed), &signature));
    }

    #[test]
    fn any_changed_byte_in_a_name_or_value_fails(
        secret in "[ -~]{1,40}",
        parameters in parameters().prop_filter("something to change", |map| !map.is_empty()),
        changes in prop::collection::vec(change(), 1..16),
    ) {
        let signature = signature_of(&secret, "POST", &parameters);
        let mut tried = 0;
        for change in &changes {
            let Some(changed) = changed(&parameters, *change) else { continue };
            tried += 1;
            prop_assert!(
                !verifies(&secret, "POST", &changed, &signature),
                "{:?} still verifies as {:?}", changed, parameters
            );
        }
        // Every byte of the first name and value, to characters that mean something in a
        // query string.
        let (name, value) = parameters.iter().next().unwrap();
        for (text, in_name) in [(name, true), (value, false)] {
            for position in 0..text.len() {
                for byte in [b'a', b'%', b'&', b'=', b' ', b'+', b'0'] {
                    let change = Change { parameter: 0, in_name, position, byte };
                    if let Some(changed) = changed(&parameters, change) {
                        tried += 1;
                        prop_assert!(
                            !verifies(&secret, "POST", &changed, &signature),
                            "{:?} still verifies as {:?}", changed, parameters
                        );
                    }
                }
            }
        }
        prop_assume!(tried > 0);
    }

    #[test]
    fn any_changed_byte_of_the_signature_fails(
        secret in any::<String>(),
        parameters in parameters(),
    ) {
        let signed = string_to_sign("POST", pairs(&parameters));
        let signature = sign(&secret, &signed);
        prop_assert!(verify(&secret, &signed, &signature));
        // Base64 letters, its padding, and what a transport could turn a byte into.
        let bytes = [b'A', b'B', b'Q', b'g', b'z', b'0', b'9', b'+', b'/', b'=', b' ', b'\n', b'%', b'\0'];
        for position in 0..signature.len() {
            for byte in bytes {
                let Some(forged) = with_byte(&signature, position, byte) else { continue };
                prop_assert!(
                    !verify(&secret, &signed, &forged),
                    "{} verifies in place of {}", forged, signature
                );
            }
        }
        prop_assert!(!verify(&secret, &signed, ""));
        prop_assert!(!verify(&secret, &signed, &signature[..signature.len() - 1]));
    }

    #[test]
    fn another_secret_or_method_fails(
        secret in any::<String>(),
        other in any::<String>(),
        parameters in parameters(),
    ) {
        prop_assume!(secret != other);
        let signature = signature_of(&secret, "POST", &parameters);
        prop_assert!(!verifies(&other, "POST", &parameters, &signature));
        prop_assert!(!verifies(&secret, "GET", &parameters, &signature));
    }
}
