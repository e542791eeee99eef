//! The environment's part of the chain: an access key in the SDK's or the Terraform
//! provider's variables, and the small rules every variable follows (empty is unset, `true`
//! is the only true).

use std::collections::BTreeMap;

use super::{
    ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN,
    ALICLOUD_ACCESS_KEY, ALICLOUD_SECRET_KEY, ALICLOUD_SECURITY_TOKEN, CredentialError,
    Credentials,
};
use crate::cloud::secret::Secret;

/// The three variable names of one naming convention.
#[derive(Clone, Copy)]
pub(super) struct VariableNames {
    pub access_key_id: &'static str,
    pub access_key_secret: &'static str,
    pub security_token: &'static str,
}

/// The SDK's names, then the Terraform provider's.
pub(super) const NAMING_CONVENTIONS: [VariableNames; 2] = [
    VariableNames {
        access_key_id: ALIBABA_CLOUD_ACCESS_KEY_ID,
        access_key_secret: ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        security_token: ALIBABA_CLOUD_SECURITY_TOKEN,
    },
    VariableNames {
        access_key_id: ALICLOUD_ACCESS_KEY,
        access_key_secret: ALICLOUD_SECRET_KEY,
        security_token: ALICLOUD_SECURITY_TOKEN,
    },
];

/// A variable counts as set when it is present and not empty.
pub(super) fn set_variable<'a>(
    environment: &'a BTreeMap<String, String>,
    name: &str,
) -> Option<&'a str> {
    environment
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// Whether a switch variable is `true` (in any case), as the official libraries read them.
pub(super) fn is_true(environment: &BTreeMap<String, String>, name: &str) -> bool {
    set_variable(environment, name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The key of one naming convention, if its variables are set.
pub(super) fn access_key(
    environment: &BTreeMap<String, String>,
    names: VariableNames,
) -> Result<Option<Credentials>, CredentialError> {
    let access_key_id = set_variable(environment, names.access_key_id);
    let access_key_secret = set_variable(environment, names.access_key_secret);
    let security_token = set_variable(environment, names.security_token);
    match (access_key_id, access_key_secret) {
        (Some(id), Some(secret)) => {
            let mut credentials = Credentials::new(id, secret);
            credentials.security_token = security_token.map(Secret::from);
            Ok(Some(credentials))
        }
        (None, None) if security_token.is_none() => Ok(None),
        // The token is optional; the id and the secret are not.
        _ => {
            let triple = [
                (names.access_key_id, access_key_id.is_some()),
                (names.access_key_secret, access_key_secret.is_some()),
                (names.security_token, security_token.is_some()),
            ];
            Err(CredentialError::HalfSetEnvironment {
                set: triple
                    .iter()
                    .filter(|(_, set)| *set)
                    .map(|(name, _)| *name)
                    .collect(),
                missing: triple[..2]
                    .iter()
                    .filter(|(_, set)| !*set)
                    .map(|(name, _)| *name)
                    .collect(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::test_support::environment;

    #[test]
    fn empty_is_unset_and_only_true_is_true() {
        let env = environment(&[("A", ""), ("B", "TRUE"), ("C", "1")]);
        assert_eq!(set_variable(&env, "A"), None);
        assert!(is_true(&env, "B"));
        assert!(!is_true(&env, "C"));
    }

    #[test]
    fn half_set_keys_name_every_variable_set_and_every_one_missing() {
        let (id, secret, token) = (
            ALIBABA_CLOUD_ACCESS_KEY_ID,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            ALIBABA_CLOUD_SECURITY_TOKEN,
        );
        let cases: [(&[&str], &[&str], &[&str]); 5] = [
            (&[id], &[id], &[secret]),
            (&[secret], &[secret], &[id]),
            (&[token], &[token], &[id, secret]),
            (&[id, token], &[id, token], &[secret]),
            (&[secret, token], &[secret, token], &[id]),
        ];
        for (given, set, missing) in cases {
            let pairs: Vec<(&str, &str)> = given.iter().map(|name| (*name, "value")).collect();
            assert_eq!(
                access_key(&environment(&pairs), NAMING_CONVENTIONS[0]),
                Err(CredentialError::HalfSetEnvironment {
                    set: set.to_vec(),
                    missing: missing.to_vec()
                }),
                "{given:?}"
            );
        }
        let env = environment(&[(ALICLOUD_SECRET_KEY, "s")]);
        assert_eq!(
            access_key(&env, NAMING_CONVENTIONS[1]),
            Err(CredentialError::HalfSetEnvironment {
                set: vec![ALICLOUD_SECRET_KEY],
                missing: vec![ALICLOUD_ACCESS_KEY]
            })
        );
    }

    #[test]
    fn a_half_set_key_is_told_by_names_alone() {
        let env = environment(&[(ALIBABA_CLOUD_SECURITY_TOKEN, "the-token-value")]);
        let message = access_key(&env, NAMING_CONVENTIONS[0])
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "`ALIBABA_CLOUD_SECURITY_TOKEN` is set but `ALIBABA_CLOUD_ACCESS_KEY_ID` and \
             `ALIBABA_CLOUD_ACCESS_KEY_SECRET` are not: set them too, or unset \
             `ALIBABA_CLOUD_SECURITY_TOKEN`"
        );
        assert!(!message.contains("the-token-value"));
    }
}
