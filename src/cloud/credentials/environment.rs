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
        (Some(_), None) => Err(CredentialError::HalfSetEnvironment {
            set: names.access_key_id,
            missing: names.access_key_secret,
        }),
        (None, Some(_)) => Err(CredentialError::HalfSetEnvironment {
            set: names.access_key_secret,
            missing: names.access_key_id,
        }),
        (None, None) if security_token.is_some() => Err(CredentialError::HalfSetEnvironment {
            set: names.security_token,
            missing: names.access_key_id,
        }),
        (None, None) => Ok(None),
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
    fn half_set_pairs_are_errors_not_fallthroughs() {
        let cases = [
            (
                environment(&[(ALIBABA_CLOUD_ACCESS_KEY_ID, "LTAI")]),
                ALIBABA_CLOUD_ACCESS_KEY_ID,
                ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            ),
            (
                environment(&[(ALIBABA_CLOUD_ACCESS_KEY_SECRET, "s")]),
                ALIBABA_CLOUD_ACCESS_KEY_SECRET,
                ALIBABA_CLOUD_ACCESS_KEY_ID,
            ),
            (
                environment(&[(ALIBABA_CLOUD_SECURITY_TOKEN, "t")]),
                ALIBABA_CLOUD_SECURITY_TOKEN,
                ALIBABA_CLOUD_ACCESS_KEY_ID,
            ),
        ];
        for (env, set, missing) in cases {
            assert_eq!(
                access_key(&env, NAMING_CONVENTIONS[0]),
                Err(CredentialError::HalfSetEnvironment { set, missing })
            );
        }
        let env = environment(&[(ALICLOUD_SECRET_KEY, "s")]);
        assert_eq!(
            access_key(&env, NAMING_CONVENTIONS[1]),
            Err(CredentialError::HalfSetEnvironment {
                set: ALICLOUD_SECRET_KEY,
                missing: ALICLOUD_ACCESS_KEY
            })
        );
    }
}
