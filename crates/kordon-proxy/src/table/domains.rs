//! Site-list matching: a listed domain matches itself and its subdomains, never a name that
//! merely ends with the same letters (`badexample.com` is not `example.com`).

use std::collections::HashSet;

/// A set of domains, looked up by trying the name and each of its dot-separated suffixes:
/// one hash lookup per label of the name, whatever the size of the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainSet {
    domains: HashSet<Box<str>>,
}

impl DomainSet {
    /// Builds the set from domains as the store keeps them (lower case, no trailing dot);
    /// other spellings are normalised the same way.
    pub fn new<I, S>(domains: I) -> DomainSet
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        DomainSet {
            domains: domains
                .into_iter()
                .filter_map(|domain| {
                    let name = normalise(domain.as_ref());
                    (!name.is_empty()).then(|| name.into_boxed_str())
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    /// Whether `host` is a listed domain or a subdomain of one. IP literals match nothing:
    /// site lists name sites, not addresses.
    pub fn matches(&self, host: &str) -> bool {
        let name = normalise(host);
        if name.is_empty() || is_ip_literal(&name) {
            return false;
        }
        let mut rest = name.as_str();
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => return false,
            }
        }
    }
}

/// Lower case, without a trailing dot or a leading `*.`/`.`.
fn normalise(name: &str) -> String {
    let lower = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = lower
        .strip_prefix("*.")
        .or_else(|| lower.strip_prefix('.'))
        .unwrap_or(&lower);
    bare.to_string()
}

fn is_ip_literal(name: &str) -> bool {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_domain_and_subdomains_only() {
        let set = DomainSet::new(["example.com", "Mail.Yandex.RU."]);
        assert!(set.matches("example.com"));
        assert!(set.matches("www.example.com"));
        assert!(set.matches("a.b.example.com."));
        assert!(set.matches("EXAMPLE.COM"));
        assert!(!set.matches("badexample.com"));
        assert!(!set.matches("example.com.evil.net"));
        assert!(!set.matches("com"));
        assert!(set.matches("x.mail.yandex.ru"));
        assert!(!set.matches("yandex.ru"));
        assert!(!set.matches(""));
        assert!(!set.matches("."));
    }

    #[test]
    fn ip_literals_match_nothing() {
        let set = DomainSet::new(["4", "0.0.4", "1"]);
        assert!(!set.matches("10.0.0.4"));
        assert!(!set.matches("[::1]"));
    }
}
