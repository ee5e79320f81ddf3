//! Which clients may connect at all, decided before any byte is read: the IP filter plane's
//! verdict, handed in by the binary so the planes stay apart.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Whether a client address may talk to kordon's listeners.
pub trait ClientAdmission: Send + Sync + 'static {
    fn admits(&self, client: IpAddr) -> bool;
}

/// The plane's admission check; admits everyone unless given one.
#[derive(Clone, Default)]
pub struct Admission(Option<Arc<dyn ClientAdmission>>);

impl Admission {
    pub fn new(check: Arc<dyn ClientAdmission>) -> Admission {
        Admission(Some(check))
    }

    pub fn admits(&self, client: IpAddr) -> bool {
        match &self.0 {
            Some(check) => check.admits(client),
            None => true,
        }
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Admission(checked)"
        } else {
            "Admission(all)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OnlyTen;

    impl ClientAdmission for OnlyTen {
        fn admits(&self, client: IpAddr) -> bool {
            matches!(client, IpAddr::V4(v4) if v4.octets()[0] == 10)
        }
    }

    #[test]
    fn admits_all_unless_given_a_check() {
        let localhost: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(Admission::default().admits(localhost));
        let checked = Admission::new(Arc::new(OnlyTen));
        assert!(!checked.admits(localhost));
        assert!(checked.admits("10.1.2.3".parse().unwrap()));
    }
}
