//! The built-in authorization policy of the contract (§2).

use std::collections::HashSet;

use async_trait::async_trait;

use crate::error::AuthzError;
use crate::model::{Action, AuthzObject};
use crate::ports::Authorizer;
use crate::values::AccountId;

/// Trusted accounts may do everything; any other account may read and
/// download minigroups of its own audience, and a minigroup's host may also
/// update it.
#[derive(Debug, Clone, Default)]
pub struct BuiltinPolicy {
    trusted: HashSet<String>,
}

impl BuiltinPolicy {
    /// A policy trusting these account ids.
    pub fn new<I, S>(trusted: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            trusted: trusted.into_iter().map(Into::into).collect(),
        }
    }

    /// The decision, without the async wrapper.
    pub fn allows(&self, account: &AccountId, action: Action, object: &AuthzObject) -> bool {
        if self.trusted.contains(account.as_str()) {
            return true;
        }
        let own_audience = account.audience() == object.audience.as_str();
        let is_host = object.host.as_ref() == Some(account);
        match action {
            Action::Read | Action::Download => own_audience || is_host,
            Action::Update => is_host,
            Action::Create => false,
        }
    }
}

#[async_trait]
impl Authorizer for BuiltinPolicy {
    async fn authorize(
        &self,
        account: &AccountId,
        action: Action,
        object: &AuthzObject,
    ) -> Result<(), AuthzError> {
        if self.allows(account, action, object) {
            Ok(())
        } else {
            Err(AuthzError::Denied)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Audience, Scope};

    fn acc(s: &str) -> AccountId {
        AccountId::parse("account", s).unwrap()
    }

    fn object(host: Option<&str>) -> AuthzObject {
        AuthzObject {
            audience: Audience::new("usr.example.org").unwrap(),
            scope: Scope::new("lesson").unwrap(),
            host: host.map(acc),
        }
    }

    #[test]
    fn the_builtin_policy_follows_the_contract() {
        let policy = BuiltinPolicy::new(["svc.svc.example.org"]);
        let obj = object(Some("teacher.usr.example.org"));
        let table = [
            ("svc.svc.example.org", Action::Create, true),
            ("svc.svc.example.org", Action::Update, true),
            ("svc.svc.example.org", Action::Read, true),
            ("svc.svc.example.org", Action::Download, true),
            ("alice.usr.example.org", Action::Read, true),
            ("alice.usr.example.org", Action::Download, true),
            ("alice.usr.example.org", Action::Update, false),
            ("alice.usr.example.org", Action::Create, false),
            ("teacher.usr.example.org", Action::Update, true),
            ("teacher.usr.example.org", Action::Create, false),
            ("bob.other.example.org", Action::Read, false),
            ("bob.other.example.org", Action::Download, false),
            ("bob.other.example.org", Action::Update, false),
        ];
        for (account, action, allowed) in table {
            assert_eq!(
                policy.allows(&acc(account), action, &obj),
                allowed,
                "{account} {action:?}"
            );
        }
        assert!(!policy.allows(&acc("alice.usr.example.org"), Action::Update, &object(None)));
    }
}
