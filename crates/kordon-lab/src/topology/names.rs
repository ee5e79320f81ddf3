//! Names of a lab's namespaces and interfaces. Every name starts with the lab's name, so two
//! labs (two parallel tests) never collide and a crashed lab's leftovers are found by prefix.

/// Interface names are at most 15 bytes: an 8-byte lab name + `u` + 3 digits fits.
pub const MAX_NAME: usize = 8;
pub const MAX_MODEMS: usize = 999;

/// The modem's own LAN interface (inside its namespace).
pub const MODEM_LAN_IF: &str = "lan0";
/// The modem's mobile data interface (inside its namespace).
pub const MODEM_WAN_IF: &str = "wan0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabNames {
    lab: String,
}

impl LabNames {
    /// `None` unless `lab` is 1–8 characters of `a-z0-9` starting with a letter.
    pub fn new(lab: &str) -> Option<Self> {
        let ok = !lab.is_empty()
            && lab.len() <= MAX_NAME
            && lab.starts_with(|c: char| c.is_ascii_lowercase())
            && lab
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        ok.then(|| LabNames {
            lab: lab.to_string(),
        })
    }

    pub fn lab(&self) -> &str {
        &self.lab
    }

    /// The namespace of the fake internet.
    pub fn internet(&self) -> String {
        format!("{}-inet", self.lab)
    }

    /// The namespace of modem `index`.
    pub fn modem(&self, index: usize) -> String {
        format!("{}-m{index}", self.lab)
    }

    /// The modem's USB interface as the farm sees it.
    pub fn host_if(&self, index: usize) -> String {
        format!("{}u{index}", self.lab)
    }

    /// The internet's end of modem `index`'s data link.
    pub fn internet_if(index: usize) -> String {
        format!("w{index}")
    }

    /// Whether namespace `name` belongs to this lab.
    pub fn owns_namespace(&self, name: &str) -> bool {
        name == self.internet()
            || name
                .strip_prefix(&format!("{}-m", self.lab))
                .is_some_and(all_digits)
    }

    /// Whether interface `name` is one of this lab's host interfaces.
    pub fn owns_host_if(&self, name: &str) -> bool {
        name.strip_prefix(&format!("{}u", self.lab))
            .is_some_and(all_digits)
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_never_match_another_lab() {
        assert!(LabNames::new("Lab").is_none());
        assert!(LabNames::new("1lab").is_none());
        assert!(LabNames::new("abcdefghi").is_none());
        let a = LabNames::new("kl1").unwrap();
        let long = LabNames::new("abcdefgh").unwrap();
        assert!(long.host_if(MAX_MODEMS).len() <= 15);
        assert!(a.owns_namespace("kl1-m3"));
        assert!(a.owns_namespace("kl1-inet"));
        assert!(!a.owns_namespace("kl12-m3"));
        assert!(!a.owns_namespace("kl1-farm"));
        assert!(a.owns_host_if("kl1u0"));
        assert!(!a.owns_host_if("kl12u0"));
        assert!(!a.owns_host_if("kl1u"));
    }
}
